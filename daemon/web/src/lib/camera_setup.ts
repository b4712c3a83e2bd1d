// Camera setup's answers (/api/config/... and /api/setup/..., design/cameras.md) and what the page
// says about them: the probe's error types as sentences, a camera id suggested from its name.
import { ApiError, api } from "./api";

/** Where motion is detected: "auto" (the substream if any, else the main stream's keyframes). */
export type MotionMode = "auto" | "substream" | "keyframes" | "off";
/** How talk reaches the camera's loudspeaker: off, the ONVIF RTSP backchannel, or Axis VAPIX. */
export type TalkPath = "off" | "onvif" | "vapix";
/** Which RTSP client reads the camera: Vigil's own (the default) or FFmpeg's demuxer (the old path). */
export type IngestPath = "native" | "ffmpeg";
export const INGEST_PATHS: { value: IngestPath; label: string }[] = [
  { value: "native", label: "Vigil's own (recommended: lowest delay, camera clock)" },
  { value: "ffmpeg", label: "FFmpeg (the old path, for a camera Vigil's own cannot read)" },
];
export const TALK_PATHS: { value: TalkPath; label: string }[] = [
  { value: "off", label: "Off" },
  { value: "onvif", label: "ONVIF audio backchannel (RTSP)" },
  { value: "vapix", label: "Axis VAPIX (HTTP)" },
];
export const MOTION_MODES: { value: MotionMode; label: string }[] = [
  { value: "auto", label: "Automatic (the substream if there is one, else keyframes)" },
  { value: "substream", label: "Every frame of the substream" },
  { value: "keyframes", label: "Keyframes of the main stream" },
  { value: "off", label: "Off" },
];

/** A configured camera as the configuration holds it (never its password: `password_set` only). */
export interface CameraSetting {
  id: string;
  building: string;
  name: string;
  url: string;
  substream_url: string | null;
  username: string | null;
  password_set: boolean;
  transport: "tcp" | "udp";
  timeout_s: number;
  enabled: boolean;
  motion: MotionMode;
  motion_sensitivity: number;
  motion_mask: number[][];
  record_audio: boolean;
  talk: TalkPath;
  talk_url: string | null;
  ingest: IngestPath;
}
export interface CameraSettings { cameras: CameraSetting[]; writable: boolean; read_only_reason: string | null }

/** What the running daemon did with a change (cameras by id). */
export interface ReloadResult {
  added: string[];
  removed: string[];
  restarted: string[];
  updated: string[];
  unchanged: number;
  restart_needed: string[];
}
export interface ConfigBuilding { id: string; name: string }

/** A device found by WS-Discovery or an address scan. */
export interface Device {
  address: string;
  xaddr: string;
  name: string | null;
  model: string | null;
  manufacturer: string | null;
  hardware: string | null;
  scopes: string[];
  configured_camera: string | null;
}

export interface ReceivedStream {
  codec: string;
  width: number;
  height: number;
  fps: number | null;
  gop_frames: number | null;
  bframes: boolean;
}
export interface ProbeProfile {
  token: string;
  name: string;
  encoding: string;
  width: number;
  height: number;
  fps: number | null;
  stream_url: string;
  snapshot_url: string | null;
  received: ReceivedStream | null;
  problem: string | null;
  live: { ok: boolean; note: string };
}
export interface ProbeResult {
  device: { manufacturer: string | null; model: string | null; firmware: string | null; serial: string | null;
            hardware: string | null };
  clock: { camera_utc: string | null; skew_s: number | null; warning: string | null };
  media2: boolean;
  backchannel: boolean;
  profiles: ProbeProfile[];
  proposal: { url: string; substream_url: string | null; name: string; username: string | null };
  snapshot_jpeg_base64: string | null;
  warnings: string[];
}
/** What the probe was given: a device's service address or a host, and credentials. */
export interface ProbeTarget { xaddr?: string; address?: string; username?: string; password?: string }

/** A local capture device (USB) hot-plug found. */
export interface UsbCamera {
  device: string;
  name: string;
  bus: string | null;
  transcodes?: boolean;
  note?: string | null;
  addable?: boolean;
  why_not?: string | null;
}

export const CONFIG_CAMERAS = "/api/config/cameras";
export const CONFIG_BUILDINGS = "/api/config/buildings";

export function cameraPath(id: string): string {
  return `${CONFIG_CAMERAS}/${encodeURIComponent(id)}`;
}

export function buildingPath(id: string): string {
  return `${CONFIG_BUILDINGS}/${encodeURIComponent(id)}`;
}

export async function probe(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  return api<ProbeResult>("POST", "/api/setup/probe", { ...target }, signal ? { signal } : {});
}

/** The probe's (and discovery's) failures as a person would say them; the appliance's own detail
 * is shown under it. */
const PROBLEMS: Record<string, string> = {
  "address-not-allowed": "The appliance may not reach this address: it is outside the networks camera setup may "
    + "probe (probe_networks in the configuration's [camera_setup] section).",
  "unreachable": "Nothing answered at this address. Check the address and port, and that the camera has power and "
    + "is on this network.",
  "onvif-unauthorized": "The camera refused the user name or password (ONVIF).",
  "rtsp-unauthorized": "The camera refused the user name or password for its video stream (RTSP). Some cameras keep "
    + "a separate account for streaming.",
  "not-onvif": "Something answers at this address, but not as an ONVIF camera. Check the port, or enable ONVIF on "
    + "the camera.",
  "soap-fault": "The camera answered the request with an error (SOAP fault).",
  "malformed-xml": "The camera's answer could not be read (malformed XML).",
  "not-video": "The stream at this address is not video.",
};

/** A sentence for a setup failure, or null when the error is not one of the probe's own. */
export function problemSentence(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  return PROBLEMS[error.slug] ?? null;
}

const ID_CHARS = /[^a-z0-9_-]+/g;

/** A camera id from a building and a name: "hs" + "East Entrance" -> "hs-east-entrance"; unique
 * among `taken` (a number added). Ids are what `vigil check` accepts: [a-z0-9][a-z0-9_-]{0,62}. */
export function suggestId(building: string, name: string, taken: string[]): string {
  const words = name.normalize("NFKD").toLowerCase().replace(ID_CHARS, "-").replace(/^[-_]+|[-_]+$/g, "");
  const base = `${building ? `${building}-` : ""}${words || "camera"}`.replace(/-+/g, "-").slice(0, 58)
    .replace(/[-_]+$/, "");
  let id = base;
  for (let n = 2; taken.includes(id); n += 1) id = `${base}-${n}`;
  return id;
}

/** The probe's snapshot as a Blob URL (the CSP allows `blob:` images, never `data:`). The caller
 * revokes it. */
export function snapshotUrl(base64: string): string {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return URL.createObjectURL(new Blob([bytes], { type: "image/jpeg" }));
}

/** "Added hs-gate; hs-east restarted." — what a save or reload did, for a status line. */
export function reloadSummary(result: ReloadResult): string {
  const parts: string[] = [];
  if (result.added.length) parts.push(`started ${result.added.join(", ")}`);
  if (result.restarted.length) parts.push(`reconnected ${result.restarted.join(", ")}`);
  if (result.updated.length) parts.push(`renamed or moved ${result.updated.join(", ")}`);
  if (result.removed.length) parts.push(`stopped ${result.removed.join(", ")}`);
  let text = parts.length ? `The appliance ${parts.join("; ")}.` : "No camera needed a change.";
  if (result.unchanged) text += ` ${result.unchanged} other camera${result.unchanged === 1 ? "" : "s"} kept recording untouched.`;
  if (result.restart_needed.length) {
    text += ` Changes to ${result.restart_needed.join(", ")} take effect after the appliance restarts.`;
  }
  return text;
}

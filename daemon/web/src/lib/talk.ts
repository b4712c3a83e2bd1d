// Push-to-talk (design/intercom.md): the microphone (echo cancellation, noise suppression) as a
// sendonly G.711 track (PCMU/PCMA via setCodecPreferences) offered to POST /api/cameras/{id}/talk;
// DELETE of the answer's Location ends it. `stop` releases the microphone at once, also when it
// comes while the session is still being set up.
import { ApiError, request } from "./api";
import { gathered } from "./whep";

declare global {
  interface Window { vigilTalks?: RTCPeerConnection[] }
}

/** The microphone was refused (by the user, the browser's settings or a policy) or is missing. */
export class MicBlocked extends Error {}

export type TalkState = "connecting" | "talking" | "ended";

const G711 = ["audio/PCMU", "audio/PCMA"];

export class TalkSession {
  private pc: RTCPeerConnection | null = null;
  private stream: MediaStream | null = null;
  private sessionUrl: string | null = null;
  private stopped = false;

  constructor(readonly camera: string, private readonly onState: (state: TalkState) => void) {}

  /** Opens the microphone and the session; throws MicBlocked, ApiError (the appliance refused:
   * talk-busy, talk-unsupported, talk-device, 403) or another Error. */
  async start(): Promise<void> {
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (error) {
      const name = error instanceof DOMException ? error.name : "";
      throw new MicBlocked(name === "NotFoundError" ? "No microphone found"
        : "Microphone blocked: allow it for this site in the browser's settings");
    }
    this.stream = stream;
    if (this.stopped) return this.release();
    const id = encodeURIComponent(this.camera);
    const ice = await (await request("GET", `/api/cameras/${id}/ice-servers`)).json() as
      { ice_servers: RTCIceServer[] };
    if (this.stopped) return this.release();
    const pc = new RTCPeerConnection({ iceServers: ice.ice_servers });
    this.pc = pc;
    (window.vigilTalks ??= []).push(pc);
    const [track] = stream.getAudioTracks();
    if (!track) throw new MicBlocked("No microphone found");
    const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    const codecs = (RTCRtpSender.getCapabilities("audio")?.codecs ?? []).filter((c) => G711.includes(c.mimeType));
    if (codecs.length > 0) transceiver.setCodecPreferences(codecs);
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === "connected") this.onState("talking");
      if (state === "failed" || state === "closed") this.onState("ended");
    };
    this.onState("connecting");
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (this.stopped) return this.release();
    const response = await request("POST", `/api/cameras/${id}/talk`, new Blob([pc.localDescription?.sdp ?? ""]),
                                   { contentType: "application/sdp" });
    this.sessionUrl = response.headers.get("Location");
    if (this.stopped) return this.release();
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  }

  /** Ends the session and releases the microphone (idempotent). */
  stop(): void {
    this.stopped = true;
    this.release();
  }

  private release(): void {
    this.stream?.getTracks().forEach((t) => t.stop()); // the microphone first, at once
    this.stream = null;
    const pc = this.pc;
    this.pc = null;
    if (this.sessionUrl) {
      const url = this.sessionUrl;
      this.sessionUrl = null;
      // Said first, then hung up: the audit names who let go (the appliance also ends a session whose
      // peer went away, as "the browser's connection closed").
      request("DELETE", url).catch(() => undefined).finally(() => pc?.close());
    } else {
      pc?.close();
    }
  }
}

/** What the talker reads when the appliance refused: who talks, or why the device cannot. */
export function talkRefusal(error: unknown): string {
  if (error instanceof MicBlocked) return error.message;
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  if (error.slug === "talk-busy") {
    const who = error.detail.split(" through camera")[0] ?? error.detail;
    if (who.startsWith("you are")) return "You are already talking through this camera (another tab or window?)";
    return `${who.replace(/^user:/, "").replace(/^link:(\d+)/, "Responder link $1")}; try again when they let go`;
  }
  if (error.slug === "talk-unsupported") return `This camera cannot take audio: ${error.detail}`;
  if (error.slug === "talk-device") return `The camera's loudspeaker did not answer: ${error.detail}`;
  if (error.status === 403) return "You may not talk through this camera";
  return error.message;
}

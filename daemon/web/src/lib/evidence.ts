// The shapes of the evidence answers (bookmarks, holds, exports, search, motion, door events) as
// the API gives them (GET /api/openapi.json), and small helpers the search and evidence pages share.
import type { Camera } from "./session";
import { href } from "./router";
import { parseIso } from "./time";

export interface BookmarkJson {
  id: number; camera: string | null; building: string | null; start: string; end: string;
  start_wall_ns: number; end_wall_ns: number; headline: string; description: string; created_by: string;
  created_at: string; door_event_id: number | null;
}

export interface HoldJson {
  id: number; camera: string | null; start: string; end: string; start_wall_ns: number; end_wall_ns: number;
  reason: string; case_id: string | null; created_by: string; created_at: string; until: string | null;
  state: "active" | "expired" | "released"; released_at: string | null; released_by: string | null;
  incident_id: number | null; until_incident_ends: boolean; // an open incident's hold: its end is not known yet
}

export interface ExportJson {
  id: number; state: "queued" | "running" | "done" | "failed"; created_by: string; created_at: string;
  cameras: string[]; start: string; end: string; reason: string; case_id: string | null;
  segments_total: number; segments_done: number; bytes_total: number; bytes_done: number; error: string | null;
  finished_at: string | null; size_bytes: number | null; manifest_sha256: string | null; download: string | null;
}

export interface SearchHit {
  kind: "bookmark" | "hold"; id: number; snippet: { text: string; match: boolean }[];
  item: BookmarkJson | HoldJson;
}
export interface SearchAnswer { q: string; match: string; truncated: boolean; results: SearchHit[] }

export interface MotionInterval {
  start: string; end: string; start_wall_ns: number; end_wall_ns: number; peak: number; cells: [number, number][];
}
export interface MotionAnswer { camera: string; start: string; end: string; intervals: MotionInterval[] }

export interface DoorEvent {
  id: number; source: string; event_id: string; kind: string; reason: string | null; occurred_at: string;
  occurred_wall_ns: number; door: string | null; direction: string | null; building: string | null;
  cameras: string[]; severity: string; flagged: boolean; flag_reasons: string[]; acked_by: string | null;
}
export interface DoorEventsAnswer { start: string; end: string; truncated: boolean; events: DoorEvent[] }

/** A camera's display name (its id when the caller does not see it). */
export function cameraName(cameras: Camera[], id: string | null): string {
  if (id === null) return "every camera";
  return cameras.find((c) => c.id === id)?.name ?? id;
}

/** `#/timeline?cameras=a,b&t=<ms>`: the playback page at a moment. */
export function timelineHref(cameraIds: string[], atMs: number): string {
  return href(["timeline"], { cameras: cameraIds.join(","), t: Math.round(atMs) });
}

export function isoMs(text: string): number {
  return parseIso(text);
}

/** "1.4 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1_000_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${(bytes / 1_000_000_000).toFixed(2)} GB`;
}

/** The start/end of a range from a route's `start`/`end` (Unix ms), else the last `defaultMinutes`. */
export function rangeParams(params: URLSearchParams, defaultMinutes: number): [number, number] {
  const now = Date.now();
  const end = Number(params.get("end") ?? NaN);
  const start = Number(params.get("start") ?? NaN);
  const endMs = Number.isFinite(end) && end > 0 ? end : now;
  const startMs = Number.isFinite(start) && start > 0 && start < endMs ? start : endMs - defaultMinutes * 60_000;
  return [startMs, endMs];
}

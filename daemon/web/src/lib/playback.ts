// Recorded playback of one camera: hls.js over the appliance's HLS playlist of recorded fMP4
// fragments (GET /api/cameras/<id>/playback.m3u8), and the mapping between the player's position
// and the wall-clock time it was recorded (each fragment's EXT-X-PROGRAM-DATE-TIME). hls.js is
// loaded by dynamic import here only, so no other page ships it.
import type HlsType from "hls.js";
import { toApiTime } from "./time";

type HlsClass = typeof HlsType;
let hlsModule: Promise<HlsClass> | null = null;

/** hls.js, loaded the first time a recording is played. */
export function loadHls(): Promise<HlsClass> {
  hlsModule ??= import("hls.js").then((m) => m.default);
  return hlsModule;
}

/** One media segment of the playlist: player time [start, start + duration) shows wall time from pdtMs. */
export interface Piece { start: number; duration: number; pdtMs: number }

/** The player position (s) showing wall time `wallMs`, or the next recorded one; null past the end. */
export function positionOf(pieces: Piece[], wallMs: number): { position: number; exact: boolean } | null {
  for (const p of pieces) {
    const end = p.pdtMs + p.duration * 1000;
    if (wallMs < p.pdtMs) return { position: p.start, exact: false };
    if (wallMs < end) return { position: p.start + (wallMs - p.pdtMs) / 1000, exact: true };
  }
  return null;
}

/** The wall time (ms) the player shows at `position` (s), or null outside the playlist. */
export function wallOf(pieces: Piece[], position: number): number | null {
  let lo = 0;
  let hi = pieces.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = pieces[mid]!;
    if (position < p.start) hi = mid - 1;
    else if (position >= p.start + p.duration) lo = mid + 1;
    else return p.pdtMs + (position - p.start) * 1000;
  }
  const last = pieces[pieces.length - 1];
  if (last && Math.abs(position - (last.start + last.duration)) < 0.05) return last.pdtMs + last.duration * 1000;
  return null;
}

export type LoadResult = "ok" | "nothing" | "forbidden" | "error";

/** hls.js attached to one <video>, over one window of wall time. */
export class RecordedPlayer {
  private hls: HlsType | null = null;
  pieces: Piece[] = [];
  windowStartMs = 0;
  windowEndMs = 0;
  error = "";

  constructor(readonly camera: string, readonly video: HTMLVideoElement) {}

  /** Loads the playlist of [startMs, endMs) and positions the player at `atMs`. */
  async load(startMs: number, endMs: number, atMs: number): Promise<LoadResult> {
    const Hls = await loadHls();
    this.destroy();
    this.windowStartMs = startMs;
    this.windowEndMs = endMs;
    this.pieces = [];
    const url = `/api/cameras/${encodeURIComponent(this.camera)}/playback.m3u8?start=${encodeURIComponent(
      toApiTime(startMs))}&end=${encodeURIComponent(toApiTime(endMs))}`;
    // The page's policy has no worker-src blob:, so hls.js works on the main thread.
    const hls = new Hls({ enableWorker: false, autoStartLoad: false, maxBufferLength: 20, backBufferLength: 30,
                          maxMaxBufferLength: 60 });
    this.hls = hls;
    return new Promise<LoadResult>((resolve) => {
      hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
        this.pieces = data.details.fragments.map((f) => ({
          start: f.start, duration: f.duration, pdtMs: f.programDateTime ?? Number.NaN }));
        const at = positionOf(this.pieces, atMs);
        hls.startLoad(at ? at.position : 0);
        resolve("ok");
      });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        const status = (data.response as { code?: number } | undefined)?.code;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR && status === 404 && this.pieces.length === 0) {
          resolve("nothing");
        } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR && status === 403) {
          resolve("forbidden"); // e.g. a responder link's playback window does not cover this hour
        } else if (data.fatal) {
          this.error = data.details;
          resolve("error");
        }
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
    });
  }

  /** Whether the loaded window holds wall time `ms` (recorded or not). */
  inWindow(ms: number): boolean {
    return this.hls !== null && ms >= this.windowStartMs && ms < this.windowEndMs;
  }

  /** The wall time on screen now (ms), or null when nothing is loaded. */
  wallMs(): number | null {
    return this.pieces.length ? wallOf(this.pieces, this.video.currentTime) : null;
  }

  /** Shows wall time `ms`; false when nothing is recorded then (the player waits at the next recording). */
  seekWall(ms: number): boolean {
    const at = positionOf(this.pieces, ms);
    if (at === null) return false;
    this.video.currentTime = at.position;
    return at.exact;
  }

  destroy(): void {
    this.hls?.destroy();
    this.hls = null;
  }
}

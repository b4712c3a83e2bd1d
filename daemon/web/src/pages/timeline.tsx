// #/timeline?cameras=a,b&t=<unix ms>: a day of up to four cameras' recordings, played in sync.
// Each camera plays the appliance's HLS playlist of its recorded fragments (lib/playback.ts); one
// clock (wall time) leads, and every player follows it: nudged by playback rate when a little off,
// moved when far off, paused together while any of them waits for data or has no recording.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ErrorNote, PageTitle } from "../components/common";
import { type Span, TimelineBar, type Tracks } from "../components/TimelineBar";
import { api, query } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type LoadResult, RecordedPlayer, positionOf } from "../lib/playback";
import { href, navigate } from "../lib/router";
import { type Door, can, doorName } from "../lib/session";
import { formatDateTime, toApiTime } from "../lib/time";
import type { PageProps } from "../routes";

const MAX_CAMERAS = 4;
const DAY_MS = 86_400_000;
const DETAIL_MS = 10 * 60_000; // the zoomed bar: ten minutes
const WINDOW_MS = 30 * 60_000; // each playlist: half an hour either side of where playback starts
const SPEEDS = [1, 2, 4, 8];
const FRAME_MS = 1000 / 15;
const TICK_MS = 50;

interface SpanJson { start_wall_ns: number; end_wall_ns: number }
interface TimelineJson {
  recorded: SpanJson[];
  gaps: (SpanJson & { reason: string })[];
  motion: (SpanJson & { peak: number })[];
  bookmarks: (SpanJson & { headline: string })[];
  holds: SpanJson[];
  door_events: { occurred_wall_ns: number; door: string | null; kind: string; flagged: boolean }[];
}

const STATUS_TEXT: Partial<Record<LoadResult, string>> = {
  ok: "", nothing: "Nothing recorded around this time", forbidden: "Your access does not cover this time",
};
const ms = (ns: number): number => ns / 1e6;
const span = (s: SpanJson): Span => ({ startMs: ms(s.start_wall_ns), endMs: ms(s.end_wall_ns) });

function tracksOf(t: TimelineJson, doors: Door[]): Tracks {
  return {
    recorded: t.recorded.map(span),
    gaps: t.gaps.map((g) => ({ ...span(g), reason: g.reason })),
    motion: t.motion.map((m) => ({ ...span(m), peak: m.peak })),
    bookmarks: t.bookmarks.map((b) => ({ ...span(b), label: `Bookmark: ${b.headline}` })),
    holds: t.holds.map(span),
    doors: t.door_events.map((d) => ({ atMs: ms(d.occurred_wall_ns), flagged: d.flagged,
                                       label: `${doorName(doors, d.door) ?? "door"}: ${d.kind.replace(/_/g, " ")}${d.flagged ? " (flagged)" : ""}` })),
  };
}

function startOfDay(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "2026-12-02" of a local day's start, and back (null for an incomplete value). */
function dateValue(dayMs: number): string {
  const d = new Date(dayMs);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}
function dayOf(value: string): number | null {
  const [y, m, d] = value.split("-").map(Number);
  return y && m && d ? new Date(y, m - 1, d).getTime() : null;
}

interface Clock { wallMs: number; tick: number; playing: boolean; rate: number }
declare global {
  interface Window {
    vigilTimeline?: { wallTimes: () => (number | null)[]; clock: () => number; ready: () => boolean;
                      seek: (ms: number) => void };
  }
}

export default function TimelinePage({ route }: PageProps) {
  const app = useApp();
  const playable = app.cameras.filter((c) => can(app.me, "view_playback", c.building));
  const asked = (route.params.get("cameras") ?? "").split(",").filter((c) => c.length > 0);
  const cameras = asked.filter((id) => playable.some((c) => c.id === id)).slice(0, MAX_CAMERAS);
  const unknown = asked.filter((id) => !playable.some((c) => c.id === id));
  // Without t, the last minute as of when the page opened (taken once: a new value each render
  // would restart the players on every render, and they would never get ready).
  const [openedMs] = useState(() => Date.now());
  const startT = Number(route.params.get("t")) || openedMs - 60_000;
  const key = cameras.join(",");
  // A responder link may grant playback only within a window: ask for nothing outside it.
  const allowedFrom = app.me.playback_start ? Date.parse(app.me.playback_start) : -Infinity;
  const allowedTo = app.me.playback_end ? Date.parse(app.me.playback_end) : Infinity;

  const clock = useRef<Clock>({ wallMs: startT, tick: performance.now(), playing: false, rate: 1 });
  const players = useRef(new Map<string, RecordedPlayer>());
  const loading = useRef(new Set<string>());
  const [playhead, setPlayhead] = useState(startT);
  const [playing, setPlaying] = useState(false);
  const [rate, setRate] = useState(1);
  const [day, setDay] = useState(startOfDay(startT));
  const [status, setStatus] = useState<Record<string, string>>({});
  const [timelines, setTimelines] = useState<Record<string, Tracks>>({});
  const [error, setError] = useState<unknown>(null);
  const [selection, setSelection] = useState<Span | null>(null);
  const [mark, setMark] = useState<number | null>(null);

  // A new route (another camera set, or a moment from another page): start there.
  useEffect(() => {
    clock.current = { wallMs: startT, tick: performance.now(), playing: false, rate: clock.current.rate };
    setPlaying(false);
    setPlayhead(startT);
    setDay(startOfDay(startT));
    for (const p of players.current.values()) p.destroy();
    players.current.clear();
  }, [key, startT]);

  // The day's timeline of every camera.
  useEffect(() => {
    const abort = new AbortController();
    setTimelines({});
    Promise.all(cameras.map(async (id) => {
      const t = await api<TimelineJson>("GET", `/api/cameras/${encodeURIComponent(id)}/timeline${query({
        start: toApiTime(Math.max(day, allowedFrom)), end: toApiTime(Math.min(day + DAY_MS, allowedTo)) })}`, null,
      { signal: abort.signal });
      return [id, tracksOf(t, app.doors)] as const;
    })).then((all) => { if (!abort.signal.aborted) setTimelines(Object.fromEntries(all)); },
              (e: unknown) => { if (!abort.signal.aborted) setError(e); });
    return () => abort.abort();
  }, [key, day]);

  const load = (player: RecordedPlayer, atMs: number): void => {
    if (loading.current.has(player.camera)) return;
    loading.current.add(player.camera);
    const end = Math.min(atMs + WINDOW_MS, Date.now() + 60_000, allowedTo);
    const start = Math.max(atMs - WINDOW_MS, allowedFrom);
    player.load(start, Math.max(end, start + 1000), atMs).then((result) => {
      loading.current.delete(player.camera);
      setStatus((s) => ({ ...s, [player.camera]: STATUS_TEXT[result] ?? `Cannot play: ${player.error}` }));
    }, (e: unknown) => { loading.current.delete(player.camera); setError(e); });
  };

  // The clock and the players: one loop for all cameras.
  useEffect(() => {
    let lastShown = 0;
    let outside = false; // the clock was outside a link's playback window at the last tick
    const loop = (): void => {
      const c = clock.current;
      const now = performance.now();
      const list = [...players.current.values()];
      const active = list.filter((p) => p.pieces.length > 0 && positionOf(p.pieces, c.wallMs)?.exact);
      const stalled = c.playing && active.some((p) => p.video.seeking || p.video.readyState < 3);
      if (c.playing && !stalled && active.length > 0) c.wallMs += (now - c.tick) * c.rate;
      c.tick = now;
      if (c.playing && active.length === 0 && list.every((p) => !loading.current.has(p.camera))) {
        // Every camera is in a gap here: go on at the next recorded moment of any of them.
        const next = list.map((p) => p.pieces.find((q) => q.pdtMs > c.wallMs)?.pdtMs).filter((v) => v !== undefined);
        if (next.length) c.wallMs = Math.min(...next);
        else c.playing = false;
      }
      for (const p of list) {
        if (c.wallMs < allowedFrom || c.wallMs >= allowedTo) { // outside a link's window: ask nothing
          if (!p.video.paused) p.video.pause();
          if (!outside) setStatus((s) => ({ ...s, [p.camera]: STATUS_TEXT.forbidden! }));
          continue;
        }
        if (!p.inWindow(c.wallMs) || (p.pieces.length && c.wallMs > p.windowEndMs - 5000 && p.windowEndMs < Date.now() - 10_000)) {
          load(p, c.wallMs);
          continue;
        }
        const at = positionOf(p.pieces, c.wallMs);
        const video = p.video;
        if (!at || !at.exact) {
          if (!video.paused) video.pause();
          continue;
        }
        const shown = p.wallMs();
        const off = shown === null ? Infinity : shown - c.wallMs;
        const far = c.playing ? Math.max(500, 250 * c.rate) : 40;
        if (Math.abs(off) > far && !video.seeking) p.seekWall(c.wallMs);
        if (c.playing && !stalled) {
          video.playbackRate = c.rate * (1 - Math.max(-0.3, Math.min(0.3, (off / 1000) * 2)));
          if (video.paused) void video.play().catch(() => undefined);
        } else if (!video.paused) {
          video.pause();
        }
      }
      const nowOutside = c.wallMs < allowedFrom || c.wallMs >= allowedTo;
      if (outside && !nowOutside) setStatus({}); // back inside the window
      outside = nowOutside;
      if (now - lastShown > 200) {
        lastShown = now;
        setPlayhead(c.wallMs);
        if (!c.playing) setPlaying(false);
      }
    };
    const id = window.setInterval(loop, TICK_MS);
    window.vigilTimeline = {
      wallTimes: () => [...players.current.values()].map((p) => p.wallMs()),
      clock: () => clock.current.wallMs,
      ready: () => players.current.size > 0 && [...players.current.values()].every(
        (p) => p.pieces.length > 0 && !p.video.seeking && p.video.readyState >= 2),
      seek: (t: number) => seekRef.current(t),
    };
    return () => { window.clearInterval(id); delete window.vigilTimeline; };
  }, [key]);

  useEffect(() => () => { for (const p of players.current.values()) p.destroy(); }, []);

  const attach = (camera: string) => (video: HTMLVideoElement | null): void => {
    const existing = players.current.get(camera);
    if (video === null || existing?.video === video) return;
    existing?.destroy();
    players.current.set(camera, new RecordedPlayer(camera, video));
  };
  const seek = (t: number): void => {
    clock.current.wallMs = t;
    setPlayhead(t);
    if (t < day || t >= day + DAY_MS) setDay(startOfDay(t));
    for (const p of players.current.values()) if (p.inWindow(t)) p.seekWall(t);
  };
  const seekRef = useRef(seek);
  seekRef.current = seek;
  const play = (on: boolean): void => {
    clock.current.playing = on;
    clock.current.tick = performance.now();
    setPlaying(on);
  };
  const speed = (r: number): void => { clock.current.rate = r; setRate(r); };
  const step = (frames: number): void => { play(false); seek(clock.current.wallMs + frames * FRAME_MS); };
  const nextOf = (pick: (t: Tracks) => number[]): number | null => {
    const after = Object.values(timelines).flatMap(pick).filter((t) => t > clock.current.wallMs + 500);
    return after.length ? Math.min(...after) : null;
  };
  const nextMotion = nextOf((t) => t.motion.map((m) => m.startMs));
  const nextDoor = nextOf((t) => t.doors.map((d) => d.atMs));
  const names = useMemo(() => Object.fromEntries(app.cameras.map((c) => [c.id, c.name])), [app.cameras]);
  const choose = (id: string, on: boolean): void => {
    const next = on ? [...cameras, id].slice(0, MAX_CAMERAS) : cameras.filter((c) => c !== id);
    navigate(["timeline"], { cameras: next.join(","), t: Math.round(clock.current.wallMs) });
  };
  const detailStart = Math.floor(playhead / DETAIL_MS) * DETAIL_MS;
  const markHere = (): void => {
    const t = Math.round(clock.current.wallMs);
    if (mark === null) { setMark(t); setSelection(null); } else {
      setSelection({ startMs: Math.min(mark, t), endMs: Math.max(mark, t) + (mark === t ? 1000 : 0) });
      setMark(null);
    }
  };

  return (
    <section class="timeline">
      <PageTitle>Timeline</PageTitle>
      <fieldset class="tl-cameras">
        <legend>Cameras (up to {MAX_CAMERAS})</legend>
        {playable.length === 0 && <p>No camera's recordings are visible to you.</p>}
        {playable.map((c) => (
          <label key={c.id}>
            <input type="checkbox" checked={cameras.includes(c.id)} data-camera={c.id}
                   disabled={!cameras.includes(c.id) && cameras.length >= MAX_CAMERAS}
                   onChange={(e) => choose(c.id, e.currentTarget.checked)} /> {c.name}
          </label>
        ))}
      </fieldset>
      {unknown.length > 0 && <p class="error" role="alert">Not available to you: {unknown.length} camera(s).</p>}
      {error !== null && <ErrorNote error={error} />}
      {cameras.length === 0 ? <p>Choose a camera to play its recordings.</p> : (
        <>
          <div class={`tl-players n${cameras.length}`}>
            {cameras.map((id) => (
              <figure key={id} class="tl-player" data-camera={id}>
                <video ref={attach(id)} muted playsInline aria-label={`Recording of ${names[id] ?? id}`} />
                <figcaption>
                  <span>{names[id] ?? id}</span>
                  {status[id] && <span class="state">{status[id]}</span>}
                </figcaption>
              </figure>
            ))}
          </div>
          <div class="tl-controls" role="group" aria-label="Playback">
            <button type="button" onClick={() => play(!playing)}>{playing ? "Pause" : "Play"}</button>
            <button type="button" class="secondary" onClick={() => step(-1)} aria-label="Step back one frame">◀︎ Frame</button>
            <button type="button" class="secondary" onClick={() => step(1)} aria-label="Step forward one frame">Frame ▶︎</button>
            <label>Speed{" "}
              <select value={rate} onChange={(e) => speed(Number(e.currentTarget.value))}>
                {SPEEDS.map((s) => <option key={s} value={s}>{s}×</option>)}
              </select>
            </label>
            <button type="button" class="secondary" disabled={nextMotion === null}
                    onClick={() => nextMotion !== null && seek(nextMotion)}>Next motion</button>
            <button type="button" class="secondary" disabled={nextDoor === null}
                    onClick={() => nextDoor !== null && seek(nextDoor)}>Next door event</button>
            <label>Day{" "}
              <input type="date" value={dateValue(day)} onChange={(e) => {
                const chosen = dayOf(e.currentTarget.value);
                if (chosen !== null) seek(chosen + (clock.current.wallMs - day));
              }} />
            </label>
            <output class="tl-now" aria-live="off" data-wall-ms={Math.round(playhead)}>{formatDateTime(playhead)}</output>
          </div>
          <div class="tl-bars">
            <h2>Day</h2>
            {cameras.map((id) => (
              <div key={id} class="tl-line"><span class="tl-name">{names[id] ?? id}</span>
                <TimelineBar camera={id} label={`${names[id] ?? id}: the day`} startMs={day} endMs={day + DAY_MS}
                             tracks={timelines[id] ?? EMPTY} playheadMs={playhead} selection={selection}
                             stepMs={60_000} thumbnails onSeek={seek} /></div>
            ))}
            <h2>Ten minutes</h2>
            {cameras.map((id) => (
              <div key={id} class="tl-line"><span class="tl-name">{names[id] ?? id}</span>
                <TimelineBar camera={id} label={`${names[id] ?? id}: ten minutes`} startMs={detailStart}
                             endMs={detailStart + DETAIL_MS} tracks={timelines[id] ?? EMPTY} playheadMs={playhead}
                             selection={selection} stepMs={1000} thumbnails onSeek={seek} /></div>
            ))}
            <p class="tl-legend muted">
              <span class="key rec" /> recorded <span class="key gap" /> no recording <span class="key motion" /> motion
              {" "}<span class="key door" /> door event <span class="key bookmark" /> bookmark <span class="key hold" /> hold
            </p>
          </div>
          <div class="tl-select">
            <button type="button" class="secondary" onClick={markHere}>
              {mark === null ? "Start a range here" : "End the range here"}
            </button>
            {selection && (
              <a class="button" href={href(["evidence"], { cameras: key, start: selection.startMs, end: selection.endMs })}>
                Bookmark, hold or export {formatDateTime(selection.startMs)} – {formatDateTime(selection.endMs)}
              </a>
            )}
          </div>
        </>
      )}
    </section>
  );
}

const EMPTY: Tracks = { recorded: [], gaps: [], motion: [], doors: [], bookmarks: [], holds: [] };

// One camera's recorded day (or a few minutes of it) as a bar: recorded spans, gaps and their
// reasons, motion density, door events, bookmarks and holds; the playhead; hovering shows the
// nearest recorded keyframe; click, drag or the arrow keys scrub. A slider to assistive technology.
import { useEffect, useRef, useState } from "preact/hooks";
import { formatDateTime, formatTime } from "../lib/time";

export interface Span { startMs: number; endMs: number }
export interface Tracks {
  recorded: Span[];
  gaps: (Span & { reason: string })[];
  motion: (Span & { peak: number })[];
  doors: { atMs: number; label: string; flagged: boolean }[];
  bookmarks: (Span & { label: string })[];
  holds: Span[];
}

interface Props {
  camera: string;
  label: string;
  startMs: number;
  endMs: number;
  tracks: Tracks;
  playheadMs: number;
  selection: Span | null;
  stepMs: number; // what an arrow key moves
  thumbnails: boolean;
  onSeek: (ms: number) => void;
}

const THUMB_STEP_MS = 1000; // hover thumbnails are asked for whole seconds (the server caches by keyframe)

function pct(ms: number, start: number, end: number): string {
  return `${Math.max(0, Math.min(100, ((ms - start) / (end - start)) * 100))}%`;
}

export function TimelineBar(props: Props) {
  const { startMs, endMs, tracks } = props;
  const bar = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<{ ms: number; x: number } | null>(null);
  const dragging = useRef(false);
  const lastSeek = useRef(0);

  const at = (clientX: number): number => {
    const rect = bar.current!.getBoundingClientRect();
    const f = Math.max(0, Math.min(1, (clientX - rect.left) / rect.width));
    return startMs + f * (endMs - startMs);
  };
  const place = (span: Span) => ({ left: pct(span.startMs, startMs, endMs),
                                   width: `max(2px, calc(${pct(span.endMs, startMs, endMs)} - ${pct(span.startMs, startMs, endMs)}))` });
  const inside = (span: Span): boolean => span.endMs > startMs && span.startMs < endMs;

  const onPointerDown = (e: PointerEvent): void => {
    dragging.current = true;
    bar.current?.setPointerCapture(e.pointerId);
    bar.current?.focus();
    props.onSeek(at(e.clientX));
  };
  const onPointerMove = (e: PointerEvent): void => {
    const rect = bar.current!.getBoundingClientRect();
    setHover({ ms: at(e.clientX), x: e.clientX - rect.left });
    const now = performance.now();
    if (dragging.current && now - lastSeek.current > 120) {
      lastSeek.current = now;
      props.onSeek(at(e.clientX));
    }
  };
  const onPointerUp = (e: PointerEvent): void => {
    if (dragging.current) props.onSeek(at(e.clientX));
    dragging.current = false;
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    const step = e.shiftKey ? props.stepMs * 10 : props.stepMs;
    const moves: Record<string, number> = { ArrowLeft: -step, ArrowRight: step, ArrowDown: -step, ArrowUp: step,
                                            PageDown: -step * 10, PageUp: step * 10 };
    if (e.key in moves) props.onSeek(props.playheadMs + moves[e.key]!);
    else if (e.key === "Home") props.onSeek(startMs);
    else if (e.key === "End") props.onSeek(endMs - 1);
    else return;
    e.preventDefault();
  };
  const thumbAt = hover ? Math.round(hover.ms / THUMB_STEP_MS) * THUMB_STEP_MS : null;
  const recordedThere = thumbAt !== null && tracks.recorded.some((s) => thumbAt >= s.startMs - 10_000 && thumbAt < s.endMs + 10_000);
  // The picture follows the pointer once it rests a moment (not one request per pixel moved).
  const [thumbMs, setThumbMs] = useState<number | null>(null);
  useEffect(() => {
    if (thumbAt === null || !recordedThere || !props.thumbnails) {
      setThumbMs(null);
      return undefined;
    }
    const id = window.setTimeout(() => setThumbMs(thumbAt), 120);
    return () => window.clearTimeout(id);
  }, [thumbAt, recordedThere, props.thumbnails]);

  return (
    <div class="tl-row">
      <div ref={bar} class="tl-bar" role="slider" tabIndex={0} aria-label={props.label}
           aria-valuemin={startMs} aria-valuemax={endMs} aria-valuenow={Math.round(props.playheadMs)}
           aria-valuetext={formatDateTime(props.playheadMs)} data-camera={props.camera}
           data-start-ms={startMs} data-end-ms={endMs}
           onPointerDown={onPointerDown} onPointerMove={onPointerMove} onPointerUp={onPointerUp}
           onPointerLeave={() => setHover(null)} onKeyDown={onKeyDown}>
        {tracks.recorded.filter(inside).map((s) => <span key={`r${s.startMs}`} class="tl-rec" style={place(s)} />)}
        {tracks.gaps.filter(inside).map((s) => (
          <span key={`g${s.startMs}`} class="tl-gap" style={place(s)} title={`No recording: ${s.reason}`} />))}
        {tracks.motion.filter(inside).map((s) => (
          <span key={`m${s.startMs}`} class="tl-motion" style={{ ...place(s), opacity: 0.35 + 0.65 * Math.min(1, s.peak * 4) }} />))}
        {tracks.holds.filter(inside).map((s) => <span key={`h${s.startMs}`} class="tl-hold" style={place(s)} />)}
        {tracks.bookmarks.filter(inside).map((s) => (
          <span key={`b${s.startMs}`} class="tl-bookmark" style={{ left: pct(s.startMs, startMs, endMs) }} title={s.label} />))}
        {tracks.doors.filter((d) => d.atMs >= startMs && d.atMs < endMs).map((d) => (
          <span key={`d${d.atMs}`} class={d.flagged ? "tl-door flagged" : "tl-door"} style={{ left: pct(d.atMs, startMs, endMs) }}
                title={d.label} />))}
        {props.selection && inside(props.selection) && <span class="tl-selection" style={place(props.selection)} />}
        <span class="tl-playhead" style={{ left: pct(props.playheadMs, startMs, endMs) }} />
      </div>
      {hover && (
        <div class="tl-hover" style={{ left: `${hover.x}px` }} aria-hidden="true">
          {thumbMs !== null && (
            <img src={`/api/cameras/${encodeURIComponent(props.camera)}/thumbnail.jpg?at=${new Date(thumbMs).toISOString()}`}
                 alt="" width={160} height={90} />)}
          <span>{formatTime(hover.ms)}</span>
        </div>
      )}
    </div>
  );
}

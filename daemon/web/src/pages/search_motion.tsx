// #/search/motion?camera=c: draw a rectangle on the camera's picture (or type it), pick a range,
// and list the motion intervals touching it (GET /api/cameras/{c}/motion?region=); each shows
// where it moved over the camera's picture, plays its recording in place on request, and opens
// the timeline at its start.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNote, Loading, PageTitle } from "../components/common";
import { type Range, RangeFields } from "../components/RangeFields";
import { SearchTabs } from "../components/SearchTabs";
import { api, query, request } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type MotionAnswer, type MotionInterval, rangeParams, timelineHref } from "../lib/evidence";
import { navigate } from "../lib/router";
import { can } from "../lib/session";
import { formatDateTime, formatTime, parseIso, toApiTime } from "../lib/time";
import type { PageProps } from "../routes";

const GRID = 16; // the motion index's cells per side (core/motion_intervals.py)
interface Region { x0: number; y0: number; x1: number; y1: number } // fractions of the picture

const clamp = (v: number): number => Math.min(1, Math.max(0, v));
const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

function normal(a: { x: number; y: number }, b: { x: number; y: number }): Region {
  return { x0: Math.min(a.x, b.x), y0: Math.min(a.y, b.y), x1: Math.max(a.x, b.x), y1: Math.max(a.y, b.y) };
}

/** The camera's latest picture, fetched once as a blob (each snapshot request is audited). */
function useSnapshot(camera: string | undefined, allowed: boolean): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    setUrl(null);
    if (!camera || !allowed) return;
    let objectUrl: string | null = null;
    const abort = new AbortController();
    request("GET", `/api/cameras/${encodeURIComponent(camera)}/snapshot.jpg`, null, { signal: abort.signal })
      .then((r) => r.blob())
      .then((blob) => { objectUrl = URL.createObjectURL(blob); setUrl(objectUrl); })
      .catch(() => setUrl(null));
    return () => { abort.abort(); if (objectUrl) URL.revokeObjectURL(objectUrl); };
  }, [camera, allowed]);
  return url;
}

function RegionPicker({ picture, region, onChange, name }: {
  picture: string | null; region: Region | null; onChange: (r: Region | null) => void; name: string;
}) {
  const area = useRef<HTMLDivElement>(null);
  const [from, setFrom] = useState<{ x: number; y: number } | null>(null);
  const at = (event: PointerEvent): { x: number; y: number } => {
    const box = area.current?.getBoundingClientRect();
    if (!box) return { x: 0, y: 0 };
    return { x: clamp((event.clientX - box.left) / box.width), y: clamp((event.clientY - box.top) / box.height) };
  };
  const down = (event: PointerEvent): void => {
    event.preventDefault();
    (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
    const p = at(event);
    setFrom(p);
    onChange({ x0: p.x, y0: p.y, x1: p.x, y1: p.y });
  };
  const move = (event: PointerEvent): void => { if (from) onChange(normal(from, at(event))); };
  const up = (event: PointerEvent): void => {
    if (!from) return;
    const r = normal(from, at(event));
    setFrom(null);
    onChange(r.x1 - r.x0 < 0.01 || r.y1 - r.y0 < 0.01 ? null : r); // a click clears the region
  };
  const field = (key: keyof Region, label: string) => (
    <span>
      <label for={`region-${key}`}>{label} (%)</label>
      <input id={`region-${key}`} type="number" min={0} max={100} step={1} inputMode="numeric"
             value={region ? Math.round(region[key] * 100) : ""}
             onChange={(e) => {
               const v = Number((e.currentTarget).value);
               if (!Number.isFinite(v)) return;
               const base = region ?? { x0: 0, y0: 0, x1: 1, y1: 1 };
               const next = { ...base, [key]: clamp(v / 100) };
               onChange(normal({ x: next.x0, y: next.y0 }, { x: next.x1, y: next.y1 }));
             }} />
    </span>
  );
  return (
    <div class="region-picker">
      <div class="picture" ref={area} data-testid="region-area" onPointerDown={down} onPointerMove={move}
           onPointerUp={up} role="img"
           aria-label={`Picture of ${name}: drag to draw the region to search${region ? "" : " (none: the whole picture)"}`}>
        {picture ? <img src={picture} alt="" draggable={false} /> : <div class="no-picture" />}
        {region && <div class="region" data-testid="region"
                        style={{ left: pct(region.x0), top: pct(region.y0), width: pct(region.x1 - region.x0),
                                 height: pct(region.y1 - region.y0) }} />}
      </div>
      <fieldset class="region-fields">
        <legend>Region, or drag on the picture</legend>
        {field("x0", "Left")}{field("y0", "Top")}{field("x1", "Right")}{field("y1", "Bottom")}
        <button type="button" class="secondary" onClick={() => onChange(null)} disabled={!region}>Whole picture</button>
      </fieldset>
    </div>
  );
}

/** The recorded keyframe nearest the interval's start, with the cells that moved drawn over it. */
function IntervalThumb({ camera, interval }: { camera: string; interval: MotionInterval }) {
  const src = `/api/cameras/${encodeURIComponent(camera)}/thumbnail.jpg${query({ at: interval.start })}`;
  return (
    <div class="motion-thumb" aria-hidden="true">
      <img src={src} alt="" loading="lazy" />
      {interval.cells.map(([r, c]) => (
        <span key={`${r}-${c}`} class="cell"
              style={{ left: pct(c / GRID), top: pct(r / GRID), width: pct(1 / GRID), height: pct(1 / GRID) }} />
      ))}
    </div>
  );
}

/** The interval's recorded video, loaded only when asked (each clip download is audited). */
function Preview({ camera, interval }: { camera: string; interval: MotionInterval }) {
  const [open, setOpen] = useState(false);
  const src = `/api/cameras/${encodeURIComponent(camera)}/clip.mp4${query({ start: interval.start, end: interval.end })}`;
  return open
    ? <video class="motion-preview" src={src} controls autoPlay muted playsInline
             aria-label={`Recorded video from ${formatTime(parseIso(interval.start))}`} />
    : <button type="button" class="secondary" onClick={() => setOpen(true)}>Play here</button>;
}

type Result = { state: "idle" } | { state: "loading" } | { state: "error"; error: unknown }
  | { state: "ok"; answer: MotionAnswer; region: Region | null };

export default function MotionSearchPage({ route }: PageProps) {
  const app = useApp();
  const cameras = app.cameras.filter((c) => can(app.me, "view_playback", c.building));
  const camera = cameras.find((c) => c.id === route.params.get("camera")) ?? cameras[0];
  const [initialStart, initialEnd] = rangeParams(route.params, 60);
  const [range, setRange] = useState<Range>({ startMs: initialStart, endMs: initialEnd });
  const [region, setRegion] = useState<Region | null>(null);
  const [result, setResult] = useState<Result>({ state: "idle" });
  const picture = useSnapshot(camera?.id, camera !== undefined && can(app.me, "view_live", camera.building));
  useEffect(() => { setResult({ state: "idle" }); setRegion(null); }, [camera?.id]);

  if (!camera) {
    return <section><PageTitle>Motion search</PageTitle><SearchTabs current="motion" /><p>No camera whose recordings you may search.</p></section>;
  }
  const search = (event: Event): void => {
    event.preventDefault();
    const asked = region;
    setResult({ state: "loading" });
    const q = query({ start: toApiTime(range.startMs), end: toApiTime(range.endMs),
                      region: asked ? [asked.x0, asked.y0, asked.x1, asked.y1].map((v) => v.toFixed(4)).join(",") : undefined });
    api<MotionAnswer>("GET", `/api/cameras/${encodeURIComponent(camera.id)}/motion${q}`)
      .then((answer) => setResult({ state: "ok", answer, region: asked }), (error: unknown) => setResult({ state: "error", error }));
  };
  return (
    <section class="search motion-search">
      <PageTitle>Motion search</PageTitle>
      <SearchTabs current="motion" />
      <form class="stack motion-form" onSubmit={search}>
        <label for="motion-camera">Camera</label>
        <select id="motion-camera" value={camera.id}
                onChange={(e) => navigate(["search", "motion"], { camera: (e.currentTarget).value })}>
          {cameras.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
        <RegionPicker picture={picture} region={region} onChange={setRegion} name={camera.name} />
        <RangeFields id="motion" range={range} onChange={setRange} />
        <p><button type="submit">Find motion</button></p>
      </form>
      <div aria-live="polite">
        {result.state === "loading" && <Loading what="Searching" />}
        {result.state === "error" && <ErrorNote error={result.error} />}
        {result.state === "ok" && (
          <>
            <p role="status">
              {result.answer.intervals.length === 0 ? "No motion" : `${result.answer.intervals.length} times with motion`}
              {result.region ? " in the region" : ""} between {formatDateTime(parseIso(result.answer.start))} and{" "}
              {formatDateTime(parseIso(result.answer.end))}.
            </p>
            <ul class="cards motion-results">
              {result.answer.intervals.map((i) => {
                const start = parseIso(i.start);
                return (
                  <li key={i.start} class="card motion-hit" data-start={i.start}>
                    <IntervalThumb camera={camera.id} interval={i} />
                    <div class="card-body">
                      <h2>{formatTime(start)} – {formatTime(parseIso(i.end))}</h2>
                      <p class="muted">{Math.max(1, Math.round((parseIso(i.end) - start) / 1000))} s · peak {Math.round(i.peak * 100)} %</p>
                      <p class="actions">
                        <a class="button" href={timelineHref([camera.id], start)}>Open in the timeline</a>
                        <Preview camera={camera.id} interval={i} />
                      </p>
                    </div>
                  </li>
                );
              })}
            </ul>
          </>
        )}
      </div>
    </section>
  );
}

// The map page's side panels: a selected camera's live view, a door's recent events, the editor of
// a pin (the keyboard's way to do what dragging does), placing an item, uploading a plan.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNote, Loading, useLoad } from "./common";
import { LivePlayer } from "./LivePlayer";
import type { MapPin, Placement, Plan } from "./PlanMap";
import { api, query, request } from "../lib/api";
import { formText } from "../lib/forms";
import { href } from "../lib/router";
import type { Camera, Door } from "../lib/session";
import { formatDateTime, parseIso, toApiTime } from "../lib/time";

export type { Door };
export interface DoorEvent {
  id: number;
  kind: string;
  occurred_at: string;
  door: string | null;
  direction: string | null;
  cameras: string[];
  flagged: boolean;
  reason: string | null;
}
export interface DoorEventPage { events: DoorEvent[]; truncated: boolean }

const DAY_MS = 86_400_000;

export function eventText(event: DoorEvent): string {
  const kind = event.kind.replaceAll("_", " ");
  return `${kind}${event.direction && event.direction !== "both" ? ` (${event.direction})` : ""}`;
}

export function CameraDetail({ camera, playback }: { camera: Camera; playback: boolean }) {
  return (
    <div class="map-live">
      <LivePlayer camera={camera} />
      <p class="actions">
        <a class="button secondary" href={href(["live", camera.id])}>Full screen</a>
        {playback && <a class="button secondary" href={href(["timeline"], { cameras: camera.id })}>Timeline</a>}
      </p>
    </div>
  );
}

export function DoorDetail({ door, playback }: { door: Door; playback: boolean }) {
  const [loaded] = useLoad((signal) => api<DoorEventPage>(
    "GET", `/api/door-events${query({ door: door.id, start: toApiTime(Date.now() - 7 * DAY_MS) })}`, null,
    { signal }), [door.id]);
  if (loaded.state === "loading") return <Loading what="Loading recent events" />;
  if (loaded.state === "error") return <ErrorNote error={loaded.error} />;
  const recent = [...loaded.value.events].reverse().slice(0, 10);
  if (recent.length === 0) return <p class="muted">No events at this door in the last 7 days.</p>;
  return (
    <ul class="door-events">
      {recent.map((event) => {
        const at = parseIso(event.occurred_at);
        const cameras = event.cameras.length > 0 ? event.cameras : door.cameras;
        return (
          <li key={event.id} class={event.flagged ? "flagged" : undefined} data-event={event.id}>
            <span>{formatDateTime(at)}</span> <strong>{eventText(event)}</strong>
            {event.flagged && <span class="badge">flagged</span>}
            {playback && cameras.length > 0 && (
              <a href={href(["timeline"], { cameras: cameras.join(","), t: at })}>Video at that moment</a>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function numberField(id: string, label: string, value: number, set: (v: number) => void, min: number,
                     max: number) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} type="number" value={value} min={min} max={max} step="any"
             onInput={(e) => set(Number((e.currentTarget).value))} />
    </div>
  );
}

/** The selected pin's numbers, editable: the keyboard's (and a careful hand's) way to place it. The
 * caller keys it by the stored values, so a drag elsewhere starts it afresh. */
export function PinEditor({ pin, plan, onSave, onRemove }: {
  pin: MapPin; plan: Plan; onSave: (change: Partial<Placement>) => void; onRemove: () => void;
}) {
  const p = pin.placement;
  const [x, setX] = useState(p.x);
  const [y, setY] = useState(p.y);
  const [rotation, setRotation] = useState(p.rotation_deg);
  const [fov, setFov] = useState(p.fov_deg ?? 90);
  const [range, setRange] = useState(p.range_px ?? 100);
  const camera = p.kind === "camera";
  const save = (event: Event): void => {
    event.preventDefault();
    onSave(camera ? { x, y, rotation_deg: rotation, fov_deg: fov, range_px: range } : { x, y });
  };
  return (
    <form class="pin-editor" onSubmit={save}>
      <fieldset>
        <legend>Position of {pin.label.split(" · ")[0]}</legend>
        {numberField("pin-x", "x (pixels)", x, setX, 0, plan.width_px)}
        {numberField("pin-y", "y (pixels)", y, setY, 0, plan.height_px)}
        {camera && numberField("pin-rotation", "Facing (degrees, clockwise from up)", rotation, setRotation, 0, 359)}
        {camera && numberField("pin-fov", "Field of view (degrees)", fov, setFov, 1, 360)}
        {camera && numberField("pin-range", "Range (pixels)", range, setRange, 1, 2 * Math.max(plan.width_px,
                                                                                              plan.height_px))}
      </fieldset>
      <p class="actions">
        <button type="submit">Save position</button>
        <button type="button" class="secondary" onClick={onRemove}>Remove from plan</button>
      </p>
    </form>
  );
}

export interface Placeable { kind: Placement["kind"]; item: string; name: string }

/** `preferred`: the camera the page was opened to place (`#/map/<building>?place=<camera>`, from
 * camera setup): chosen first, and the list gets focus. */
export function PlaceItem({ items, onPlace, preferred = null }: {
  items: Placeable[]; onPlace: (item: Placeable) => void; preferred?: string | null;
}) {
  const [chosen, setChosen] = useState(() => Math.max(0, items.findIndex((it) => it.kind === "camera"
                                                                            && it.item === preferred)));
  const select = useRef<HTMLSelectElement>(null);
  useEffect(() => { if (preferred !== null) select.current?.focus(); }, [preferred]);
  if (items.length === 0) return null;
  const current = items[Math.min(chosen, items.length - 1)];
  return (
    <form class="place-item" onSubmit={(e) => { e.preventDefault(); if (current) onPlace(current); }}>
      <label for="place-what">Not on this plan yet</label>
      <select id="place-what" ref={select} value={String(chosen)}
              onChange={(e) => setChosen(Number((e.currentTarget).value))}>
        {items.map((it, i) => <option key={`${it.kind}:${it.item}`} value={String(i)}>{it.name} ({it.kind})</option>)}
      </select>
      <button type="submit">Place on plan</button>
    </form>
  );
}

/** Upload a plan for the building (null: the campus); `onDone` gets the new plan. */
export function UploadPlan({ building, onDone }: { building: string | null; onDone: (plan: Plan) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem("plan-file") as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    const floor = formText(form, "plan-floor");
    const level = formText(form, "plan-level");
    setBusy(true);
    setError(null);
    request("POST", `/api/plans${query({ building, floor, level })}`, file,
            { contentType: file.type || "application/octet-stream" })
      .then((r) => r.json() as Promise<Plan>)
      .then((plan) => { form.reset(); onDone(plan); }, (e: unknown) => setError(e))
      .finally(() => setBusy(false));
  };
  return (
    <form class="upload-plan stack" onSubmit={submit}>
      <h3>{building === null ? "Upload the campus plan" : "Upload a floor plan"}</h3>
      <label for="plan-file">Plan image (PNG or JPEG, up to 8 MiB)</label>
      <input id="plan-file" name="plan-file" type="file" accept="image/png,image/jpeg" required />
      {building !== null && (
        <>
          <label for="plan-floor">Floor name</label>
          <input id="plan-floor" name="plan-floor" required maxLength={40} placeholder="e.g. 1 or Ground" />
          <label for="plan-level">Order in the floor list (0 = lowest)</label>
          <input id="plan-level" name="plan-level" type="number" min={-20} max={200} value="0" />
        </>
      )}
      <button type="submit" disabled={busy}>Upload plan</button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

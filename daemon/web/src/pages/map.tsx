// The map (the home page): the campus plan with its buildings; a building's floor plans with a
// floor switcher; cameras (field of view) and doors (last state) as pins. Selecting a camera plays
// it live in place; selecting a door lists its recent events with links to the video at each
// moment. Who may configure the building drags pins to place and aim them, or types the numbers.
// A building without a plan shows its cameras and doors as a list. Who may declare an incident there
// gets the button; a responder link of an open incident gets the incident's door events, live.
import { useEffect, useState } from "preact/hooks";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import {
  CameraDetail, type Door, DoorDetail, type DoorEvent, type DoorEventPage, PinEditor, PlaceItem, type Placeable,
  UploadPlan, eventText,
} from "../components/MapPanels";
import { IncidentControls } from "../components/IncidentControls";
import { ResponderIncident } from "../components/IncidentPanels";
import { type MapPin, PlanMap, type Placement, type Plan } from "../components/PlanMap";
import { api, query, request } from "../lib/api";
import { type AppState, cameraById, useApp } from "../lib/app_context";
import { type Route, href, navigate } from "../lib/router";
import { can } from "../lib/session";
import { formatDateTime, parseIso, toApiTime } from "../lib/time";
import type { PageProps } from "../routes";
import { CameraCard } from "./cameras";

interface MapData { plans: Plan[]; placements: Placement[]; doors: Door[]; lastEvent: Map<string, DoorEvent> }

async function loadMapData(app: AppState, signal: AbortSignal): Promise<MapData> {
  const [plans, placements] = await Promise.all([
    api<Plan[]>("GET", "/api/plans", null, { signal }),
    api<Placement[]>("GET", "/api/placements", null, { signal }),
  ]);
  const doors = app.doors; // the shell loaded the caller's doors (GET /api/doors)
  const lastEvent = new Map<string, DoorEvent>();
  if (doors.length > 0 && can(app.me, "view_door_events")) {
    const page = await api<DoorEventPage>(
      "GET", `/api/door-events${query({ start: toApiTime(Date.now() - 86_400_000) })}`, null, { signal });
    for (const event of page.events) if (event.door) lastEvent.set(event.door, event); // oldest first: last wins
  }
  return { plans, placements, doors, lastEvent };
}

/** May the caller change this plan's pins (the campus plan: only who configures every building)? */
function mayConfigure(app: AppState, building: string | null): boolean {
  if (building !== null) return can(app.me, "configure_cameras", building);
  return app.me.role === "district_admin" || (app.me.role === "installer" && app.me.buildings.length === 0);
}

function where(route: Route): { building: string | null; floor: string | null } {
  const [first, building, floor] = route.path;
  if (first !== "map") return { building: null, floor: null };
  return { building: building ?? null, floor: floor ?? null };
}

function pinsOf(app: AppState, data: MapData, plan: Plan): MapPin[] {
  const editable = mayConfigure(app, plan.building);
  const pins: MapPin[] = [];
  for (const p of data.placements.filter((q) => q.plan === plan.id)) {
    const key = `${p.kind}:${p.item}`;
    if (p.kind === "camera") {
      const camera = cameraById(app, p.item);
      if (!camera) continue;
      const state = camera.status.state === "up" ? "live" : camera.status.state;
      pins.push({ key, placement: p, label: `${camera.name} · camera, ${state}`, glyph: "◉",
                  tone: camera.status.state === "down" ? "pin-camera down" : "pin-camera",
                  editable: editable && can(app.me, "configure_cameras", camera.building) });
    } else if (p.kind === "door") {
      const door = data.doors.find((d) => d.id === p.item);
      if (!door) continue;
      const last = data.lastEvent.get(door.id);
      const state = last ? `${eventText(last)} at ${formatDateTime(parseIso(last.occurred_at))}` : "no recent event";
      pins.push({ key, placement: p, label: `${door.name} · door, ${state}`, glyph: "▯",
                  tone: last?.flagged ? "pin-door alert" : "pin-door",
                  editable: editable && can(app.me, "configure_cameras", door.building) });
    } else {
      const building = app.buildings.find((b) => b.id === p.item);
      if (!building) continue;
      pins.push({ key, placement: p, label: `${building.name} · building`, glyph: "⌂", tone: "pin-building",
                  editable });
    }
  }
  return pins;
}

function placeables(app: AppState, data: MapData, plan: Plan): Placeable[] {
  const placed = new Set(data.placements.filter((p) => p.plan === plan.id).map((p) => `${p.kind}:${p.item}`));
  const here = (building: string): boolean => plan.building === null || plan.building === building;
  const items: Placeable[] = [
    ...(plan.building === null ? app.buildings.map((b) => ({ kind: "building" as const, item: b.id, name: b.name })) : []),
    ...app.cameras.filter((c) => here(c.building)).map((c) => ({ kind: "camera" as const, item: c.id, name: c.name })),
    ...data.doors.filter((d) => here(d.building)).map((d) => ({ kind: "door" as const, item: d.id, name: d.name })),
  ];
  return items.filter((it) => !placed.has(`${it.kind}:${it.item}`));
}

/** The buildings the caller sees: listed ones, and those of cameras a responder link names alone. */
function buildingsSeen(app: AppState): { id: string; name: string }[] {
  const seen = app.buildings.map((b) => ({ id: b.id, name: b.name }));
  for (const c of app.cameras) if (!seen.some((b) => b.id === c.building)) seen.push({ id: c.building, name: c.building });
  return seen;
}

function FloorSwitcher({ app, plans, plan, building }: {
  app: AppState; plans: Plan[]; plan: Plan | null; building: string | null;
}) {
  const floors = plans.filter((p) => p.building === building && building !== null);
  return (
    <nav class="map-nav" aria-label="Buildings and floors">
      <ul class="chips">
        {plans.some((p) => p.building === null) && (
          <li><a href={href(["map"])} aria-current={building === null ? "page" : undefined}>Campus</a></li>
        )}
        {buildingsSeen(app).map((b) => (
          <li key={b.id}>
            <a href={href(["map", b.id])} aria-current={b.id === building ? "page" : undefined}>{b.name}</a>
          </li>
        ))}
      </ul>
      {floors.length > 1 && (
        <ul class="chips floors" aria-label="Floors">
          {floors.map((f) => (
            <li key={f.id}>
              <a href={href(["map", f.building ?? "", f.floor])} aria-current={f.id === plan?.id ? "page" : undefined}>
                Floor {f.floor}
              </a>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}

/** A building with no plan: its cameras and doors as a list. */
function BuildingList({ app, data, building }: { app: AppState; data: MapData; building: string }) {
  const cameras = app.cameras.filter((c) => c.building === building);
  const doors = data.doors.filter((d) => d.building === building);
  return (
    <section class="map-list" aria-label="Cameras and doors">
      <p class="muted">This building has no floor plan yet.</p>
      {cameras.length > 0 && <ul class="cards">{cameras.map((c) => <CameraCard key={c.id} camera={c} />)}</ul>}
      {doors.length > 0 && (
        <>
          <h2>Doors</h2>
          <ul class="door-list">
            {doors.map((d) => {
              const last = data.lastEvent.get(d.id);
              return <li key={d.id}>{d.name}: {last ? eventText(last) : "no recent event"}</li>;
            })}
          </ul>
        </>
      )}
    </section>
  );
}

function PlanView({ app, data, plan, reload, place }: {
  app: AppState; data: MapData; plan: Plan; reload: () => void; place: string | null;
}) {
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [placements, setPlacements] = useState(data.placements);
  useEffect(() => { setPlacements(data.placements); setSelected(null); }, [data, plan.id]);
  const local = { ...data, placements };
  const pins = pinsOf(app, local, plan);
  const pin = pins.find((p) => p.key === selected) ?? null;
  const editable = mayConfigure(app, plan.building);

  const save = (target: MapPin | Placeable, change: Partial<Placement>): void => {
    const base = "placement" in target ? target.placement
      : { kind: target.kind, item: target.item, x: plan.width_px / 2, y: plan.height_px / 2, rotation_deg: 0 };
    const body = { plan: plan.id, kind: base.kind, item: base.item, x: base.x, y: base.y,
                   rotation_deg: base.rotation_deg, ...("placement" in target && target.placement.fov_deg !== null
                     ? { fov_deg: target.placement.fov_deg, range_px: target.placement.range_px } : {}), ...change };
    setError(null);
    api<Placement>("PUT", "/api/placements", body).then((saved) => {
      setPlacements((all) => [...all.filter((p) => p.id !== saved.id), saved]);
      setSelected(`${saved.kind}:${saved.item}`);
    }, (e: unknown) => { setError(e); setPlacements((all) => [...all]); });
  };
  const remove = (target: MapPin): void => {
    api<Placement>("DELETE", `/api/placements/${target.placement.id}`).then(() => {
      setPlacements((all) => all.filter((p) => p.id !== target.placement.id));
      setSelected(null);
    }, setError);
  };
  const choose = (p: MapPin): void => {
    if (p.placement.kind === "building") navigate(["map", p.placement.item]);
    else setSelected(p.key === selected && !p.editable ? null : p.key);
    // On a phone the panel is under the map: bring the live view (or the door's events) into sight.
    if (window.innerWidth < 900) {
      window.requestAnimationFrame(() => document.getElementById("detail-title")?.scrollIntoView({ block: "start" }));
    }
  };
  const camera = pin?.placement.kind === "camera" ? cameraById(app, pin.placement.item) : undefined;
  const door = pin?.placement.kind === "door" ? data.doors.find((d) => d.id === pin.placement.item) : undefined;

  return (
    <div class="map-layout">
      <div class="map-area">
        <PlanMap plan={plan} pins={pins} selected={selected} onSelect={choose} onChange={save} />
      </div>
      <aside class="map-side" aria-label="Pins and details">
        {error !== null && <ErrorNote error={error} />}
        {pin && (
          <section class="map-detail" aria-labelledby="detail-title" data-detail={pin.key}>
            <h2 id="detail-title">{pin.label.split(" · ")[0]}</h2>
            {camera && can(app.me, "view_live", camera.building) && (
              <CameraDetail key={camera.id} camera={camera} playback={can(app.me, "view_playback", camera.building)} />
            )}
            {door && can(app.me, "view_door_events", door.building) && (
              <DoorDetail door={door} playback={can(app.me, "view_playback", door.building)} />
            )}
            {pin.editable && (
              <PinEditor key={`${pin.key}:${pin.placement.x}:${pin.placement.y}:${pin.placement.rotation_deg}:${pin.placement.range_px}`}
                         pin={pin} plan={plan} onSave={(c) => save(pin, c)} onRemove={() => remove(pin)} />
            )}
            <button type="button" class="secondary" onClick={() => setSelected(null)}>Close</button>
          </section>
        )}
        <h2>On this plan</h2>
        {pins.length === 0 ? <p class="muted">Nothing is placed on this plan yet.</p> : (
          <ul class="pin-list">
            {pins.map((p) => (
              <li key={p.key}>
                <button type="button" class="link-button" aria-pressed={p.key === selected} onClick={() => choose(p)}>
                  {p.label}
                </button>
              </li>
            ))}
          </ul>
        )}
        {editable && (
          <>
            <PlaceItem items={placeables(app, local, plan)} onPlace={(it) => save(it, {})} preferred={place} />
            <p class="muted">Drag a pin to move it; select a camera and drag its ↻ handle to aim it.</p>
            <DeletePlan plan={plan} onDeleted={reload} />
          </>
        )}
      </aside>
    </div>
  );
}

function DeletePlan({ plan, onDeleted }: { plan: Plan; onDeleted: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!confirming) {
    return <button type="button" class="secondary" onClick={() => setConfirming(true)}>Delete this plan…</button>;
  }
  return (
    <p class="actions">
      <button type="button" class="danger" onClick={() => {
        request("DELETE", `/api/plans/${plan.id}`).then(() => onDeleted(), setError);
      }}>Delete “{plan.name}” and its pins</button>
      <button type="button" class="secondary" onClick={() => setConfirming(false)}>Keep it</button>
      {error !== null && <ErrorNote error={error} />}
    </p>
  );
}

export default function MapPage({ route }: PageProps) {
  const app = useApp();
  const [loaded, reload] = useLoad((signal) => loadMapData(app, signal), [app.me, app.cameras]);
  const { building: asked, floor } = where(route);
  return (
    <section class="map-page">
      <Show loaded={loaded}>
        {(data) => {
          const campus = data.plans.find((p) => p.building === null) ?? null;
          // No building named: the campus plan, else the only building there is.
          const seen = buildingsSeen(app);
          const building = asked ?? (campus === null && seen.length === 1 ? seen[0]?.id ?? null : null);
          const floors = data.plans.filter((p) => building !== null && p.building === building);
          const plan = building === null ? campus : floors.find((p) => p.floor === floor) ?? floors[0] ?? null;
          const name = building === null ? "Campus" : seen.find((b) => b.id === building)?.name ?? building;
          const known = building === null || seen.some((b) => b.id === building);
          return (
            <>
              <PageTitle>{plan && building !== null && floors.length > 1 ? `${name}, floor ${plan.floor}` : name}</PageTitle>
              <FloorSwitcher app={app} plans={data.plans} plan={plan} building={building} />
              {known && <IncidentControls building={building} />}
              {known && app.me.kind === "link" && <ResponderIncident building={building} />}
              {!known && <ErrorNote error={new Error(`There is no building “${building}” you may see.`)} />}
              {known && plan && <PlanView key={plan.id} app={app} data={data} plan={plan} reload={reload}
                                                 place={route.params.get("place")} />}
              {known && !plan && building !== null && <BuildingList app={app} data={data} building={building} />}
              {known && !plan && building === null && (
                <p class="muted">There is no campus plan yet: choose a building above.</p>
              )}
              {known && mayConfigure(app, building) && (
                <UploadPlan building={building} onDone={(p) => {
                  reload();
                  if (p.building !== null) navigate(["map", p.building, p.floor]);
                }} />
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}

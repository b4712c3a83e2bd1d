// Declaring an incident: the "Declare incident" button and its dialog (building, optional cameras,
// a required reason, "This is a drill"), and in the demo a one-click "Declare drill". Both go to
// the incident's page once the appliance has answered (a declaration for a building with an open
// incident joins it).
import { useState } from "preact/hooks";
import { Dialog } from "./Dialog";
import { ErrorNote } from "./common";
import { useApp } from "../lib/app_context";
import { REASON_MAX, announceIncidentsChanged, declareIncident, isDemo } from "../lib/incidents";
import { navigate } from "../lib/router";
import { can } from "../lib/session";

function DeclareDialog({ buildings, building, onClose }: {
  buildings: { id: string; name: string }[]; building: string; onClose: () => void;
}) {
  const app = useApp();
  const [chosen, setChosen] = useState(building);
  const [cameras, setCameras] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const here = app.cameras.filter((c) => c.building === chosen);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const reason = (form.elements.namedItem("incident-reason") as HTMLTextAreaElement).value.trim();
    const drill = (form.elements.namedItem("incident-drill") as HTMLInputElement).checked;
    setBusy(true);
    setError(null);
    declareIncident({ building: chosen, cameras, reason, drill }).then((d) => {
      announceIncidentsChanged();
      onClose();
      navigate(["incidents", String(d.incident.id)], d.joined ? { joined: 1 } : {});
    }, (e: unknown) => { setError(e); setBusy(false); });
  };
  const toggle = (id: string, on: boolean): void =>
    setCameras((list) => (on ? [...list.filter((c) => c !== id), id] : list.filter((c) => c !== id)));
  return (
    <Dialog id="declare" title="Declare an incident" onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <p class="muted">
          Declaring holds the building’s recorded video from before now, makes a responder link and sends it to
          the configured recipients. It is recorded under your name.
        </p>
        <label for="incident-building">Building</label>
        <select id="incident-building" value={chosen}
                onChange={(e) => { setChosen(e.currentTarget.value); setCameras([]); }}>
          {buildings.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
        </select>
        {here.length > 0 && (
          <fieldset>
            <legend>Cameras (none chosen: the whole building)</legend>
            {here.map((c) => (
              <label key={c.id} class="check">
                <input type="checkbox" name="incident-camera" value={c.id} checked={cameras.includes(c.id)}
                       onChange={(e) => toggle(c.id, e.currentTarget.checked)} />
                {c.name}
              </label>
            ))}
          </fieldset>
        )}
        <label for="incident-reason">Reason (required)</label>
        <textarea id="incident-reason" name="incident-reason" required maxLength={REASON_MAX} rows={3}
                  data-autofocus placeholder="e.g. lockdown, forced entrance at the gym door" />
        <label class="check">
          <input type="checkbox" name="incident-drill" /> This is a drill (nothing is sent to outside recipients)
        </label>
        {error !== null && <ErrorNote error={error} />}
        <p class="actions">
          <button type="submit" class="danger" disabled={busy}>Declare</button>
          <button type="button" class="secondary" onClick={onClose}>Cancel</button>
        </p>
      </form>
    </Dialog>
  );
}

/** The declare button (and the demo's drill button) for `building`, or for the buildings the
 * caller may declare in when none is named (the campus map, the incidents page). */
export function IncidentControls({ building }: { building: string | null }) {
  const app = useApp();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const buildings = app.buildings.filter((b) => can(app.me, "declare_incident", b.id)
                                           && (building === null || b.id === building));
  const first = buildings[0];
  if (!first) return null;
  const drill = (): void => {
    setBusy(true);
    setError(null);
    declareIncident({ building: first.id, reason: "Drill", drill: true }).then((d) => {
      announceIncidentsChanged();
      navigate(["incidents", String(d.incident.id)], d.joined ? { joined: 1 } : {});
    }, (e: unknown) => { setError(e); setBusy(false); });
  };
  return (
    <div class="incident-controls">
      <button type="button" class="danger" onClick={() => setOpen(true)}>Declare incident</button>
      {isDemo() && (
        <button type="button" class="drill-button" disabled={busy} onClick={drill}>
          Declare drill{building === null && buildings.length > 1 ? ` (${first.name})` : ""}
        </button>
      )}
      {error !== null && <ErrorNote error={error} />}
      {open && <DeclareDialog buildings={buildings} building={first.id} onClose={() => setOpen(false)} />}
    </div>
  );
}

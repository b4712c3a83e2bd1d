// #/admin/cameras: camera setup for installers and admins. The configured cameras (status,
// password set or not, enabled) with edit / disable / enable / remove; the buildings; reloading a
// hand-edited file; and #/admin/cameras/add, the wizard that finds, probes and saves a camera
// (components/CameraWizard). The configuration file is the one source of truth: every change here
// is written to it and applied to the running appliance camera by camera (design/cameras.md).
import { useEffect, useState } from "preact/hooks";
import { AdminTabs, NotAllowed, TableWrap } from "../components/AdminTabs";
import { CameraForm, type Saved, valuesOf } from "../components/CameraForm";
import { CameraWizard } from "../components/CameraWizard";
import { ConfigBuildings } from "../components/ConfigBuildings";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import {
  CONFIG_BUILDINGS, CONFIG_CAMERAS, type CameraSetting, type CameraSettings, type ConfigBuilding, type ReloadResult,
  cameraPath, reloadSummary,
} from "../lib/camera_setup";
import { href } from "../lib/router";
import { type Camera, type Me, can } from "../lib/session";
import type { PageProps } from "../routes";
import { statusText } from "./cameras";

interface Setup { settings: CameraSettings; buildings: ConfigBuilding[]; status: Camera[] }

async function loadSetup(signal: AbortSignal): Promise<Setup> {
  const [settings, buildings, status] = await Promise.all([
    api<CameraSettings>("GET", CONFIG_CAMERAS, null, { signal }),
    api<{ buildings: ConfigBuilding[] } | ConfigBuilding[]>("GET", CONFIG_BUILDINGS, null, { signal }),
    api<Camera[]>("GET", "/api/cameras", null, { signal }),
  ]);
  return { settings, buildings: Array.isArray(buildings) ? buildings : buildings.buildings, status };
}

/** Who configures every building (and so may add, rename and remove buildings): district admins
 * and installers assigned to no building (core/permissions.py). */
function everywhere(me: Me): boolean {
  return me.role === "district_admin" || (me.role === "installer" && me.buildings.length === 0);
}

/** May `me` configure cameras in `building` (one added since sign-in included)? */
function mayConfigure(me: Me, building: string): boolean {
  return everywhere(me) || can(me, "configure_cameras", building);
}

/** Remove, then a second click that says what happens to the recordings. */
function RemoveCamera({ camera, disabled, onRemove }: { camera: CameraSetting; disabled: boolean; onRemove: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return <button type="button" class="secondary" disabled={disabled} aria-label={`Remove ${camera.name}`}
                   onClick={() => setAsking(true)}>Remove</button>;
  }
  return (
    <span class="confirm" role="group" aria-label={`Remove ${camera.name}?`}>
      <span class="muted">It stops recording; its recordings stay until retention deletes them.</span>
      <button type="button" class="danger" autoFocus aria-label={`Confirm remove ${camera.name}`}
              onClick={() => { setAsking(false); onRemove(); }}>Confirm remove</button>
      <button type="button" class="link-button" onClick={() => setAsking(false)}>Cancel</button>
    </span>
  );
}

function CameraRow({ camera, status, buildings, writable, taken, onChanged }: {
  camera: CameraSetting; status: Camera | undefined; buildings: ConfigBuilding[]; writable: boolean;
  taken: string[]; onChanged: (note: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const building = buildings.find((b) => b.id === camera.building)?.name ?? camera.building;
  const done = (applied: ReloadResult): void => { setError(null); onChanged(reloadSummary(applied)); };
  const enable = (enabled: boolean): void => {
    api<Saved>("PATCH", cameraPath(camera.id), { enabled }).then((s) => done(s.applied), setError);
  };
  const remove = (): void => {
    api<{ applied: ReloadResult }>("DELETE", cameraPath(camera.id)).then((s) => done(s.applied), setError);
  };
  const state = !camera.enabled ? "disabled" : status ? statusText(status) : "not running yet";
  return (
    <tr data-camera={camera.id}>
      <th scope="row">{camera.name}</th>
      <td data-label="Building">{building}</td>
      <td data-label="Id">{camera.id}</td>
      <td data-label="URL" class="url">{camera.url}{camera.substream_url && <span class="muted"> (+ substream)</span>}</td>
      <td data-label="Status" data-status>
        <span class={status?.status.state === "down" && camera.enabled ? "state error" : "state"}>{state}</span>
      </td>
      <td data-label="Password">{camera.password_set ? "set" : "not set"}</td>
      <td class="row-actions">
        {!editing && (
          <p class="actions">
            <button type="button" class="secondary" disabled={!writable} aria-label={`Edit ${camera.name}`}
                    onClick={() => setEditing(true)}>Edit</button>
            <button type="button" class="secondary" disabled={!writable}
                    aria-label={`${camera.enabled ? "Disable" : "Enable"} ${camera.name}`}
                    onClick={() => enable(!camera.enabled)}>{camera.enabled ? "Disable" : "Enable"}</button>
            <RemoveCamera camera={camera} disabled={!writable} onRemove={remove} />
          </p>
        )}
        {editing && (
          <CameraForm prefix={`edit-${camera.id}`} initial={valuesOf(camera)} before={camera} buildings={buildings}
                      taken={taken} disabled={!writable} label={`Settings of ${camera.name}`} submitLabel="Save"
                      onCancel={() => setEditing(false)}
                      onSaved={(saved) => { setEditing(false); done(saved.applied); }} />
        )}
        {error !== null && <ErrorNote error={error} />}
      </td>
    </tr>
  );
}

/** Re-reads the file as edited by hand (also when the appliance may not write it), for who
 * configures every building. */
function ReloadButton({ onDone }: { onDone: (note: string) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span class="reload">
      <button type="button" class="secondary" disabled={busy} onClick={() => {
        setBusy(true);
        setError(null);
        api<{ applied: ReloadResult }>("POST", "/api/config/reload").then(
          (r) => { setBusy(false); onDone(`File read again. ${reloadSummary(r.applied)}`); },
          (e: unknown) => { setBusy(false); setError(e); });
      }}>Read the configuration file again</button>
      {error !== null && <ErrorNote error={error} />}
    </span>
  );
}

function CameraList({ setup, reload }: { setup: Setup; reload: () => void }) {
  const { me, reload: reloadShell } = useApp();
  const [note, setNote] = useState<string>("");
  const { settings } = setup;
  const mine = setup.buildings.filter((b) => mayConfigure(me, b.id));
  const changed = (text: string): void => { setNote(text); reload(); reloadShell(); };
  const taken = settings.cameras.map((c) => c.id);
  // Status (from /api/cameras) is asked for again every 5 s while the list is shown.
  useEffect(() => {
    const timer = window.setInterval(reload, 5000);
    return () => window.clearInterval(timer);
  }, []);
  return (
    <>
      <p class="actions">
        {settings.writable && mine.length > 0
          ? <a class="button" href={href(["admin", "cameras", "add"])}>Add a camera</a>
          : null}
        {everywhere(me) && <ReloadButton onDone={changed} />}
      </p>
      <p role="status" class="muted" data-testid="setup-note">{note}</p>
      {settings.cameras.length === 0 ? <p>No camera is configured in the buildings you may set up.</p> : (
        <TableWrap label="Configured cameras">
          <table class="stack-on-phone setup-cameras">
            <thead><tr><th scope="col">Name</th><th scope="col">Building</th><th scope="col">Id</th>
              <th scope="col">URL</th><th scope="col">Status</th><th scope="col">Password</th>
              <th scope="col">Actions</th></tr></thead>
            <tbody>
              {settings.cameras.map((c) => (
                <CameraRow key={c.id} camera={c} status={setup.status.find((s) => s.id === c.id)} buildings={mine}
                           writable={settings.writable} taken={taken} onChanged={changed} />
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <ConfigBuildings buildings={setup.buildings} writable={settings.writable} mayAdd={everywhere(me)}
                       mayChange={(id) => mayConfigure(me, id)}
                       onChanged={() => changed("Buildings saved.")} />
    </>
  );
}

function ReadOnly({ settings }: { settings: CameraSettings }) {
  if (settings.writable) return null;
  return (
    <p class="warning-note" role="note" data-testid="read-only">
      The configuration cannot be changed from here: {settings.read_only_reason ?? "the file is not writable"}.
      Edit the file on the appliance, then read it again.
    </p>
  );
}

export default function AdminCamerasPage({ route }: PageProps) {
  const { me } = useApp();
  const allowed = can(me, "configure_cameras");
  const adding = route.path[2] === "add";
  const [loaded, reload] = useLoad((signal) => allowed ? loadSetup(signal) : Promise.reject(new Error("not allowed")),
                                   [allowed, adding]);
  return (
    <section class="admin camera-setup">
      <PageTitle>{adding ? "Add a camera" : "Camera setup"}</PageTitle>
      <AdminTabs current="cameras" />
      {!allowed ? <NotAllowed what="set up cameras" /> : (
        <Show loaded={loaded}>{(setup) => (
          <>
            <ReadOnly settings={setup.settings} />
            {adding ? (
              <>
                <p><a href={href(["admin", "cameras"])}>Back to the camera list</a></p>
                <CameraWizard buildings={setup.buildings.filter((b) => mayConfigure(me, b.id))}
                              taken={setup.settings.cameras.map((c) => c.id)} writable={setup.settings.writable} />
              </>
            ) : <CameraList setup={setup} reload={reload} />}
          </>
        )}</Show>
      )}
    </section>
  );
}

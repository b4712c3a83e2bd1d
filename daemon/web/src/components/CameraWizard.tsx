// Adding a camera in three steps — find, connect (probe), save — then watching it start: the
// page asks /api/cameras every second until the new camera records, then offers its map pin.
import { useEffect, useRef, useState } from "preact/hooks";
import { CameraForm, type CameraValues, type Saved, emptyValues } from "./CameraForm";
import { SetupFind } from "./SetupFind";
import { type Probed, SetupProbe } from "./SetupProbe";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type CameraSetting, type ConfigBuilding, type ProbeTarget, reloadSummary } from "../lib/camera_setup";
import { href } from "../lib/router";
import type { Camera, Me } from "../lib/session";
import { useLoad } from "./common";
import type { Plan } from "./PlanMap";

type Step =
  | { step: "find" }
  | { step: "probe"; target: ProbeTarget }
  | { step: "save"; probed: Probed | null }
  | { step: "started"; saved: Saved };

const WATCH_S = 60;

function prefilled(probed: Probed | null, building: string): CameraValues {
  const values = emptyValues(building);
  if (probed === null) return values;
  const { proposal } = probed.result;
  return { ...values, name: proposal.name, url: proposal.url, substream_url: proposal.substream_url ?? "",
           username: proposal.username ?? probed.target.username ?? "", password: probed.target.password ?? "" };
}

/** Where the new camera's pin goes: its building's floor plan, else the campus plan when the
 * caller may edit it (who configures every building), else its building's page (where a floor
 * plan can be uploaded first). */
function placeHref(me: Me, plans: Plan[], camera: CameraSetting): string {
  const everywhere = me.role === "district_admin" || (me.role === "installer" && me.buildings.length === 0);
  if (!plans.some((p) => p.building === camera.building) && everywhere && plans.some((p) => p.building === null)) {
    return href(["map"], { place: camera.id });
  }
  return href(["map", camera.building], { place: camera.id });
}

/** The new camera's state, asked every second until it records (or a minute has gone by). */
function Started({ saved, onAnother }: { saved: Saved; onAnother: () => void }) {
  const app = useApp();
  const { camera } = saved;
  const [status, setStatus] = useState<Camera | null>(null);
  const [waited, setWaited] = useState(0);
  const recording = status?.status.recording === true;
  useEffect(() => {
    if (recording || waited >= WATCH_S || !camera.enabled) return;
    const abort = new AbortController();
    const timer = window.setTimeout(() => {
      api<Camera[]>("GET", "/api/cameras", null, { signal: abort.signal }).then((cameras) => {
        setStatus(cameras.find((c) => c.id === camera.id) ?? null);
        setWaited((w) => w + 1);
      }, () => setWaited((w) => w + 1));
    }, 1000);
    return () => { window.clearTimeout(timer); abort.abort(); };
  }, [waited, recording]);
  // The shell's camera list (the map's pins) learns of the camera once it records.
  useEffect(() => { if (recording) app.reload(); }, [recording]);
  const [plans] = useLoad((signal) => api<Plan[]>("GET", "/api/plans", null, { signal }), []);
  const state = !camera.enabled ? "Saved, disabled: it does not record until it is enabled."
    : recording ? `${camera.name} is recording.`
    : status?.status.state === "down" ? `Not recording yet: ${status.status.reason ?? "the camera does not answer"}. Still trying…`
    : waited >= WATCH_S ? "It has not started recording yet. Check its status in the camera list."
    : "Recording starts…";
  return (
    <section aria-labelledby="started-title" class="wizard-step" data-testid="camera-started">
      <h2 id="started-title" tabIndex={-1}>{camera.name} is saved</h2>
      <p role="status" class={recording ? "ok" : undefined} data-recording={recording ? "yes" : "no"}>{state}</p>
      <p class="muted">{reloadSummary(saved.applied)}</p>
      <p class="actions">
        {recording && plans.state !== "loading" && (
          <a class="button" href={placeHref(app.me, plans.state === "ok" ? plans.value : [], camera)}>Place on the map</a>
        )}
        <button type="button" class="secondary" onClick={onAnother}>Add another camera</button>
        <a class="button secondary" href={href(["admin", "cameras"])}>Back to the camera list</a>
      </p>
    </section>
  );
}

export function CameraWizard({ buildings, taken, writable }: {
  buildings: ConfigBuilding[]; taken: string[]; writable: boolean;
}) {
  const [state, setState] = useState<Step>({ step: "find" });
  const first = buildings[0]?.id ?? "";
  // Each new step's heading gets focus (screen readers hear where they are); not on arrival.
  const moved = useRef(false);
  useEffect(() => {
    if (moved.current) document.querySelector<HTMLElement>(".wizard-step h2")?.focus();
    moved.current = true;
  }, [state.step]);
  return (
    <div class="wizard">
      <ol class="wizard-steps" aria-label="Steps">
        {(["find", "probe", "save", "started"] as const).map((s, i) => (
          <li key={s} aria-current={state.step === s ? "step" : undefined}>
            {["Find", "Connect", "Save", "Record"][i]}
          </li>
        ))}
      </ol>
      {state.step === "find" && (
        <SetupFind onChoose={(target) => setState({ step: "probe", target })}
                   onManual={() => setState({ step: "save", probed: null })} />
      )}
      {state.step === "probe" && (
        <SetupProbe target={state.target} onBack={() => setState({ step: "find" })}
                    onProbed={(probed) => setState({ step: "save", probed })} />
      )}
      {state.step === "save" && (
        <section aria-labelledby="save-title" class="wizard-step">
          <h2 id="save-title" tabIndex={-1}>3. Save the camera</h2>
          {buildings.length === 0 ? <p class="error">There is no building you may add cameras to. Add a building first.</p> : (
            <CameraForm prefix="new-camera" initial={prefilled(state.probed, first)} buildings={buildings}
                        taken={taken} disabled={!writable} label="New camera" submitLabel="Save and start recording"
                        profiles={state.probed?.result.profiles ?? []}
                        onSaved={(saved) => setState({ step: "started", saved })}
                        onCancel={() => setState(state.probed ? { step: "probe", target: state.probed.target }
                                                              : { step: "find" })} />
          )}
        </section>
      )}
      {state.step === "started" && <Started saved={state.saved} onAnother={() => setState({ step: "find" })} />}
    </div>
  );
}

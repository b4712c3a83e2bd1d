// One incident (#/incidents/<id>): what was declared and by whom, the responder link to copy,
// delivery status (asked again every few seconds while any is pending), joins, the link's activity
// (for who manages links there), the incident's door events, "End incident" with a required note
// and the cameras whose video the report carries, and after the end the report's export.
import { useEffect, useState } from "preact/hooks";
import { Dialog } from "./Dialog";
import {
  Deliveries, IncidentDoorEvents, IncidentReport, LIVE_POLL_MS, LinkActivity, LinkCopy, useEvery,
} from "./IncidentPanels";
import { ErrorNote, PageTitle, Show, useLoad } from "./common";
import { useApp } from "../lib/app_context";
import { NOTE_MAX, type Incident, actorName, announceIncidentsChanged, endIncident, getIncident } from "../lib/incidents";
import { href } from "../lib/router";
import { can } from "../lib/session";
import { formatDateTime, parseIso } from "../lib/time";

function EndDialog({ incident, onClose, onEnded }: {
  incident: Incident; onClose: () => void; onEnded: (i: Incident) => void;
}) {
  const app = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const cameras = app.cameras.filter((c) => c.building === incident.building);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const note = (form.elements.namedItem("end-note") as HTMLTextAreaElement).value.trim();
    const chosen = [...form.querySelectorAll<HTMLInputElement>("input[name='report-camera']:checked")].map((i) => i.value);
    setBusy(true);
    setError(null);
    endIncident(incident.id, note, chosen).then((ended) => {
      announceIncidentsChanged();
      onEnded(ended);
      onClose();
    }, (e: unknown) => { setError(e); setBusy(false); });
  };
  return (
    <Dialog id="end-incident" title={`End ${incident.drill ? "drill" : "incident"} ${incident.id}`} onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <p class="muted">The hold keeps the video until a short time after now; the responder link stops working.</p>
        <label for="end-note">What happened (required)</label>
        <textarea id="end-note" name="end-note" required maxLength={NOTE_MAX} rows={4} data-autofocus />
        {cameras.length > 0 && (
          <fieldset>
            <legend>Video in the report (optional)</legend>
            {cameras.map((c) => (
              <label key={c.id} class="check">
                <input type="checkbox" name="report-camera" value={c.id} /> {c.name}
              </label>
            ))}
          </fieldset>
        )}
        {error !== null && <ErrorNote error={error} />}
        <p class="actions">
          <button type="submit" class="danger" disabled={busy}>End incident</button>
          <button type="button" class="secondary" onClick={onClose}>Cancel</button>
        </p>
      </form>
    </Dialog>
  );
}

function Facts({ incident }: { incident: Incident }) {
  const app = useApp();
  const camera = (id: string): string => app.cameras.find((c) => c.id === id)?.name ?? id;
  return (
    <dl class="facts">
      <dt>Reason</dt><dd>{incident.reason}</dd>
      <dt>Declared</dt>
      <dd>{formatDateTime(parseIso(incident.declared_at))} by {actorName(incident.declared_by)} (via {incident.declared_via.replace("_", " ")})</dd>
      <dt>Video held from</dt>
      <dd>{formatDateTime(parseIso(incident.hold_start))}{incident.hold_end ? ` to ${formatDateTime(parseIso(incident.hold_end))}` : " until the end"}</dd>
      <dt>Cameras</dt>
      <dd>{incident.whole_building ? "The whole building" : incident.cameras.map(camera).join(", ")}</dd>
      {incident.state === "ended" && (
        <>
          <dt>Ended</dt>
          <dd>{incident.ended_at ? formatDateTime(parseIso(incident.ended_at)) : "—"} by {actorName(incident.ended_by)}</dd>
          <dt>Note</dt><dd>{incident.end_note ?? "—"}</dd>
        </>
      )}
    </dl>
  );
}

function Body({ incident, reload, joined }: { incident: Incident; reload: () => void; joined: boolean }) {
  const app = useApp();
  const [ending, setEnding] = useState(false);
  const [current, setCurrent] = useState<Incident | null>(null);
  const shown = current !== null && current.id === incident.id && current.state !== incident.state ? current : incident;
  const pending = shown.deliveries.some((d) => d.state === "pending");
  useEvery(pending, LIVE_POLL_MS, reload);
  const open = shown.state === "open";
  // Ended here: focus goes to the report (the button that opened the dialog is gone).
  useEffect(() => { if (current !== null) document.getElementById("report-title")?.focus(); }, [current]);
  const kind = shown.drill ? "Drill" : "Incident";
  return (
    <div class={shown.drill ? "incident-page drill" : "incident-page"} data-incident={shown.id} data-state={shown.state}>
      <PageTitle>{`${kind} ${shown.id} · ${shown.building_name}`}</PageTitle>
      <p class="incident-state">
        {shown.drill && <span class="badge drill-badge">DRILL</span>}
        <span class={open ? "badge open-badge" : "badge ended-badge"}>{open ? "Open" : "Ended"}</span>
      </p>
      {joined && <p role="status">This building already had an open incident: your declaration joined it.</p>}
      <Facts incident={shown} />
      {open && can(app.me, "declare_incident", shown.building) && (
        <p class="actions"><button type="button" class="danger" onClick={() => setEnding(true)}>End {shown.drill ? "drill" : "incident"}…</button></p>
      )}
      {ending && <EndDialog incident={shown} onClose={() => setEnding(false)} onEnded={(i) => { setCurrent(i); reload(); }} />}
      {!open && (
        <section aria-labelledby="report-title">
          <h2 id="report-title" tabIndex={-1}>Report</h2>
          <IncidentReport incident={shown} onWaiting={reload} />
        </section>
      )}
      {shown.link_url && (
        <section aria-labelledby="link-title">
          <h2 id="link-title">Responder link</h2>
          <LinkCopy url={shown.link_url} />
        </section>
      )}
      {app.me.kind === "user" && (
        <section aria-labelledby="deliveries-title">
          <h2 id="deliveries-title">Delivery to recipients</h2>
          <Deliveries incident={shown} />
        </section>
      )}
      {shown.joins.length > 0 && (
        <section aria-labelledby="joins-title">
          <h2 id="joins-title">Joined declarations</h2>
          <ul class="joins">
            {shown.joins.map((j, i) => (
              <li key={i}>{formatDateTime(parseIso(j.at))} · {actorName(j.actor)} (via {j.via.replace("_", " ")}): {j.reason}</li>
            ))}
          </ul>
        </section>
      )}
      {shown.link_id !== null && can(app.me, "manage_links", shown.building) && (
        <section aria-labelledby="activity-title">
          <h2 id="activity-title">Responder link activity</h2>
          <LinkActivity incident={shown} />
        </section>
      )}
      <IncidentDoorEvents incident={shown} />
      <p><a href={href(["map", shown.building])}>{shown.building_name} on the map</a> · <a href={href(["incidents"])}>All incidents</a></p>
    </div>
  );
}

export function IncidentDetail({ id, joined }: { id: number; joined: boolean }) {
  const [loaded, reload] = useLoad((signal) => getIncident(id, signal), [id]);
  if (!Number.isInteger(id)) return <ErrorNote error={new Error("There is no such incident.")} />;
  return <Show loaded={loaded}>{(incident) => <Body incident={incident} reload={reload} joined={joined} />}</Show>;
}

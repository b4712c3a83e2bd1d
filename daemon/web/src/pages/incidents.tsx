// #/incidents: the incidents the caller may see, open first (newest first), then ended; who may
// declare gets the "Declare incident" button (and, in the demo, "Declare drill").
// #/incidents/<id>: one incident (components/IncidentDetail).
import { useEffect } from "preact/hooks";
import { IncidentControls } from "../components/IncidentControls";
import { IncidentDetail } from "../components/IncidentDetail";
import { PageTitle, Show, useLoad } from "../components/common";
import { INCIDENTS_CHANGED, type Incident, actorName, listIncidents, sortIncidents } from "../lib/incidents";
import { href } from "../lib/router";
import { formatDateTime, parseIso } from "../lib/time";
import type { PageProps } from "../routes";

function Row({ incident }: { incident: Incident }) {
  const kind = incident.drill ? "Drill" : "Incident";
  return (
    <li class={`card incident-card ${incident.state}${incident.drill ? " drill" : ""}`} data-incident={incident.id}>
      <div class="card-body">
        <h2><a href={href(["incidents", String(incident.id)])}>{kind} {incident.id} · {incident.building_name}</a></h2>
        <p>
          {incident.drill && <span class="badge drill-badge">DRILL</span>}
          <span class={incident.state === "open" ? "badge open-badge" : "badge ended-badge"}>
            {incident.state === "open" ? "Open" : "Ended"}
          </span>{" "}
          {incident.reason}
        </p>
        <p class="muted">
          Declared {formatDateTime(parseIso(incident.declared_at))} by {actorName(incident.declared_by)}
          {incident.ended_at ? ` · ended ${formatDateTime(parseIso(incident.ended_at))}` : ""}
        </p>
      </div>
    </li>
  );
}

function IncidentList() {
  const [loaded, reload] = useLoad((signal) => listIncidents("all", signal), []);
  useEffect(() => {
    window.addEventListener(INCIDENTS_CHANGED, reload);
    return () => window.removeEventListener(INCIDENTS_CHANGED, reload);
  });
  return (
    <section class="incidents">
      <PageTitle>Incidents</PageTitle>
      <IncidentControls building={null} />
      <Show loaded={loaded}>
        {(list) => list.length === 0 ? <p>No incident has been declared.</p> : (
          <ul class="cards incident-list-page">{sortIncidents(list).map((i) => <Row key={i.id} incident={i} />)}</ul>
        )}
      </Show>
    </section>
  );
}

export default function IncidentsPage({ route }: PageProps) {
  const [, id] = route.path;
  if (id !== undefined) return <IncidentDetail id={Number(id)} joined={route.params.has("joined")} />;
  return <IncidentList />;
}

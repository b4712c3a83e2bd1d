// The incident banner under the header, on every page: the open incidents the caller may see
// (GET /api/incidents?state=open at load; again on the alert stream's `incident` events, after a
// declaration or an end made on this page, and every 30 s in case the stream is away — responder
// links have no stream). A real incident is red; a drill is marked DRILL in a calmer style. Each
// item is announced once when it arrives: it keeps its node (keyed by id) and its text (absolute
// times), so re-polls change nothing a screen reader would read again.
import { useEffect, useState } from "preact/hooks";
import { onAlert } from "../lib/alert_stream";
import { INCIDENTS_CHANGED, type Incident, listIncidents } from "../lib/incidents";
import { href } from "../lib/router";
import { type Me, can } from "../lib/session";
import { formatDateTime, formatTime, parseIso } from "../lib/time";

const POLL_MS = 30_000;

function since(iso: string): string {
  const ms = parseIso(iso);
  return new Date(ms).toDateString() === new Date().toDateString() ? formatTime(ms) : formatDateTime(ms);
}

function BannerItem({ incident }: { incident: Incident }) {
  const drill = incident.drill;
  return (
    <li class={drill ? "incident-item drill" : "incident-item"} data-incident={incident.id}>
      <span class="incident-text" role="alert">
        <strong class="incident-kind">{drill ? "DRILL — not a real emergency" : "INCIDENT"}</strong>{" "}
        {incident.building_name}: {incident.reason} · since {since(incident.declared_at)}
      </span>
      <a class="incident-open" href={href(["incidents", String(incident.id)])}>
        {drill ? "Drill" : "Incident"} {incident.id} details
      </a>
    </li>
  );
}

export function IncidentBanner({ me }: { me: Me }) {
  const [open, setOpen] = useState<Incident[]>([]);
  const subscribes = can(me, "view_door_events"); // the alert stream's own permission; links poll
  useEffect(() => {
    let live = true;
    let abort = new AbortController();
    const refresh = (): void => {
      abort.abort();
      abort = new AbortController();
      listIncidents("open", abort.signal).then((list) => { if (live) setOpen(list); }, () => {
        // keep what is shown: a failed poll (the appliance restarting) is no reason to hide an incident
      });
    };
    refresh();
    const timer = window.setInterval(refresh, POLL_MS);
    window.addEventListener(INCIDENTS_CHANGED, refresh);
    const off = subscribes ? onAlert("incident", refresh) : () => undefined;
    return () => {
      live = false;
      abort.abort();
      window.clearInterval(timer);
      window.removeEventListener(INCIDENTS_CHANGED, refresh);
      off();
    };
  }, [me, subscribes]);
  if (open.length === 0) return null;
  const real = open.some((i) => !i.drill);
  return (
    <section class={real ? "incidents-banner" : "incidents-banner drill"} aria-label="Open incidents">
      <ul class="incident-list">
        {[...open].sort((a, b) => a.id - b.id).map((i) => <BannerItem key={i.id} incident={i} />)}
      </ul>
    </section>
  );
}

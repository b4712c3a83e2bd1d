// The parts of an incident's page: the responder link with its Copy button, delivery status per
// recipient, the link's activity (who watches what now, what it accessed), the door events of the
// incident (also the responder's panel on the map), and the report's export.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNote, Loading, useLoad } from "./common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import type { ExportJson } from "../lib/evidence";
import {
  type Access, type Incident, incidentActivity, incidentDoorEvents, listIncidents, recipientName,
} from "../lib/incidents";
import { href } from "../lib/router";
import { can, doorName } from "../lib/session";
import { formatTime, parseIso } from "../lib/time";

export const LIVE_POLL_MS = 3000;

/** Runs `tick` every `ms` while `on`. */
export function useEvery(on: boolean, ms: number, tick: () => void): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!on) return;
    const timer = window.setInterval(() => latest.current(), ms);
    return () => window.clearInterval(timer);
  }, [on, ms]);
}

export function LinkCopy({ url }: { url: string }) {
  const [said, setSaid] = useState("");
  const field = useRef<HTMLInputElement>(null);
  const select = (): void => { field.current?.focus(); field.current?.select(); };
  const copy = (): void => {
    const fallback = (): void => { select(); setSaid("Selected: press Ctrl+C (⌘C) to copy it."); };
    if (!navigator.clipboard) { fallback(); return; }
    navigator.clipboard.writeText(url).then(() => setSaid("Copied to the clipboard."), fallback);
  };
  return (
    <div class="link-copy">
      <label for="incident-link">Responder link (valid while the incident is open)</label>
      <div class="copy-row">
        <input id="incident-link" ref={field} readOnly value={url} onFocus={select} />
        <button type="button" onClick={copy}>Copy</button>
      </div>
      <p class="muted" role="status">{said}</p>
    </div>
  );
}

function deliveryText(state: string): string {
  switch (state) {
    case "pending": return "Pending";
    case "delivered": return "Delivered";
    case "failed": return "Failed";
    case "skipped": return "Not sent (drill)";
    default: return state;
  }
}

export function Deliveries({ incident }: { incident: Incident }) {
  if (incident.deliveries.length === 0) {
    return <p class="muted">No outside recipients are configured: share the link yourself.</p>;
  }
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Deliveries (scrolls sideways on a small screen)">
      <table class="deliveries">
        <caption class="visually-hidden">Delivery of the responder link to each recipient</caption>
        <thead><tr><th scope="col">Recipient</th><th scope="col">Message</th><th scope="col">State</th>
          <th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
        <tbody>
          {incident.deliveries.map((d) => (
            <tr key={d.id} data-recipient={d.recipient} data-event={d.event} data-state={d.state}>
              <td>{recipientName(d.recipient)}</td>
              <td>{d.event === "declared" ? "Declared" : "Ended"}</td>
              <td class={d.state === "failed" ? "error" : d.state === "delivered" ? "ok" : undefined}>
                {deliveryText(d.state)}
                {d.state === "pending" && d.next_attempt_at && d.attempts > 0
                  && <span class="muted"> · next try {formatTime(parseIso(d.next_attempt_at))}</span>}
                {d.state === "delivered" && d.delivered_at
                  && <span class="muted"> · {formatTime(parseIso(d.delivered_at))}</span>}
              </td>
              <td>{d.attempts}</td>
              <td>{d.last_error ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AccessList({ items }: { items: Access[] }) {
  return (
    <ul class="accesses">
      {[...items].reverse().slice(0, 50).map((a, i) => (
        <li key={`${a.at}-${i}`} data-action={a.action}>{formatTime(parseIso(a.at))} · {a.action} · {a.target}</li>
      ))}
    </ul>
  );
}

export function LinkActivity({ incident }: { incident: Incident }) {
  const app = useApp();
  const [loaded, reload] = useLoad((signal) => incidentActivity(incident.id, signal), [incident.id]);
  useEvery(incident.state === "open", LIVE_POLL_MS, reload);
  const camera = (id: string): string => app.cameras.find((c) => c.id === id)?.name ?? id;
  if (loaded.state === "loading") return <Loading what="Loading the link's activity" />;
  if (loaded.state === "error") return <ErrorNote error={loaded.error} />;
  const { viewers, accesses } = loaded.value;
  // Video opened (live, playback, clips, exports) first; the link's other requests (the map, the
  // door-event polls) folded away.
  const video = accesses.filter((a) => !a.action.startsWith("link.use"));
  const requests = accesses.filter((a) => a.action.startsWith("link.use"));
  return (
    <div class="link-activity">
      <h3>Watching now</h3>
      {viewers.length === 0 ? <p class="muted">Nobody is watching through the link now.</p> : (
        <ul class="viewers">
          {viewers.map((v, i) => (
            <li key={`${v.camera}-${v.started_at}-${i}`} data-camera={v.camera}>
              <strong>{camera(v.camera)}</strong> since {formatTime(parseIso(v.started_at))}
              {v.remote ? <span class="muted"> · from {v.remote}</span> : null}
            </li>
          ))}
        </ul>
      )}
      <h3>What the link opened</h3>
      {accesses.length === 0 ? <p class="muted">The link has not been used yet.</p> : (
        <>
          {video.length === 0 ? <p class="muted">No video opened yet.</p> : <AccessList items={video} />}
          {requests.length > 0 && (
            <details>
              <summary>{requests.length} other request{requests.length > 1 ? "s" : ""} through the link</summary>
              <AccessList items={requests} />
            </details>
          )}
        </>
      )}
    </div>
  );
}

/** The incident's door events, newest first, asked again every few seconds while it is open. */
export function IncidentDoorEvents({ incident, heading = "h2", compact = false }: {
  incident: Pick<Incident, "id" | "state">; heading?: "h2" | "h3"; compact?: boolean;
}) {
  const app = useApp();
  const [loaded, reload] = useLoad((signal) => incidentDoorEvents(incident.id, signal), [incident.id]);
  useEvery(incident.state === "open", LIVE_POLL_MS, reload);
  const Heading = heading;
  return (
    <section class="incident-doors" aria-labelledby={`incident-doors-${incident.id}`}>
      <Heading id={`incident-doors-${incident.id}`}>Door events of this incident</Heading>
      {loaded.state === "loading" && <Loading what="Loading door events" />}
      {loaded.state === "error" && <ErrorNote error={loaded.error} />}
      {loaded.state === "ok" && (loaded.value.length === 0
        ? <p class="muted">No door events since the incident’s hold began.</p>
        : (
          <ul class={compact ? "door-events compact" : "door-events"} tabIndex={compact ? 0 : undefined}
              aria-label={compact ? "Door events, newest first (scrolls)" : undefined}>
            {[...loaded.value].sort((a, b) => b.occurred_wall_ns - a.occurred_wall_ns).map((e) => (
              <li key={e.id} data-event={e.id} class={e.flagged ? "flagged" : undefined}>
                <span>{formatTime(parseIso(e.occurred_at))}</span>
                <span><strong>{doorName(app.doors, e.door) ?? "an unmapped door"}</strong>:{" "}
                  {e.kind.replaceAll("_", " ")}{e.reason ? ` (${e.reason})` : ""}</span>
                {e.flagged && <span class="badge">flagged</span>}
              </li>
            ))}
          </ul>
        ))}
    </section>
  );
}

function exportText(row: ExportJson): string {
  switch (row.state) {
    case "queued": return "The report is waiting to start.";
    case "running": return `The report is being made: ${row.segments_done} of ${row.segments_total} segments.`;
    case "done": return "The report is ready.";
    case "failed": return `The report failed: ${row.error ?? "no reason given"}.`;
  }
}

/** After the end: the report (a signed export) and its download once made. */
export function IncidentReport({ incident, onWaiting }: { incident: Incident; onWaiting: () => void }) {
  const app = useApp();
  const id = incident.report_export_id;
  // An incident's report is for who may export there and declare incidents there (services/exports).
  const mayExport = can(app.me, "export", incident.building) && can(app.me, "declare_incident", incident.building);
  const [loaded, reload] = useLoad((signal) => (id === null || !mayExport ? Promise.resolve(null)
    : api<ExportJson>("GET", `/api/exports/${id}`, null, { signal })), [id, mayExport]);
  const busy = loaded.state === "ok" && loaded.value !== null
    && (loaded.value.state === "queued" || loaded.value.state === "running");
  useEvery(busy, 1000, reload);
  useEvery(id === null, LIVE_POLL_MS, onWaiting); // the report's export appears once the appliance made it
  if (id === null) return <p class="muted" role="status">The incident report is being prepared…</p>;
  return (
    <div class="incident-report" data-export={id}>
      <p>Report: export {id}{mayExport ? "" : " (the building's administrators may download it)"}</p>
      {loaded.state === "error" && <ErrorNote error={loaded.error} />}
      {loaded.state === "ok" && loaded.value !== null && (
        <>
          <p class={loaded.value.state === "failed" ? "error" : undefined} role="status">{exportText(loaded.value)}</p>
          <p class="actions">
            {loaded.value.state === "done" && loaded.value.download && (
              <a class="button" href={loaded.value.download} download>Download the report</a>
            )}
            <a class="button secondary" href={href(["exports"])}>All exports</a>
          </p>
        </>
      )}
    </div>
  );
}

/** A responder link's panel on the map: the door events of its incident while it is open (the
 * link sees only its own incident in GET /api/incidents). */
export function ResponderIncident({ building }: { building: string | null }) {
  const [loaded, reload] = useLoad((signal) => listIncidents("open", signal), []);
  useEvery(true, 30_000, reload);
  if (loaded.state !== "ok") return null;
  const incident = loaded.value.find((i) => building === null || i.building === building);
  if (!incident) return null;
  return (
    <aside class="responder-incident" aria-label={`${incident.drill ? "Drill" : "Incident"} ${incident.id}`}>
      <IncidentDoorEvents incident={incident} compact />
    </aside>
  );
}

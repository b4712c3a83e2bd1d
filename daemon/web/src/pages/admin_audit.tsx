// #/admin/audit: the audit log (district admins): filter by time, actor and action, newest first;
// verify the hash chain (GET /api/audit/verify) and see the first broken entry if any.
import { useState } from "preact/hooks";
import { AdminTabs, NotAllowed, TableWrap } from "../components/AdminTabs";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import { api, query } from "../lib/api";
import { useApp } from "../lib/app_context";
import { navigate } from "../lib/router";
import { can } from "../lib/session";
import { formatDateTime, fromLocalInput, parseIso, toApiTime, toLocalInput } from "../lib/time";
import { formText } from "../lib/forms";

interface Entry {
  id: number; at: string; actor: string; action: string; target: string; outcome: string;
  detail: Record<string, unknown>; hash: string;
}
interface ChainCheck { ok: boolean; entries: number; head_hash: string; first_broken_id: number | null; problem: string | null }

const DAY_MS = 24 * 3600 * 1000;
const SHOWN = 1000; // the newest this many entries of the filter

function Verify() {
  const [check, setCheck] = useState<ChainCheck | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = (): void => {
    setBusy(true);
    setError(null);
    api<ChainCheck>("GET", "/api/audit/verify").then((c) => { setCheck(c); setBusy(false); },
                                                     (e: unknown) => { setError(e); setBusy(false); });
  };
  return (
    <div class="verify">
      <button type="button" onClick={run} disabled={busy}>Verify the chain</button>
      <div aria-live="polite" data-testid="verify-result">
        {check && (check.ok
          ? <p class="ok">Chain intact: {check.entries} entries. Head <code class="hash">{check.head_hash}</code></p>
          : <p class="error">Chain broken at entry {check.first_broken_id}: {check.problem} ({check.entries} entries before it verify)</p>)}
        {error !== null && <ErrorNote error={error} />}
      </div>
    </div>
  );
}

function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

export default function AdminAuditPage({ route }: { route: { params: URLSearchParams } }) {
  const { me } = useApp();
  const allowed = can(me, "view_audit");
  const p = route.params;
  const start = p.get("start") ?? "";
  const end = p.get("end") ?? "";
  const actor = p.get("actor") ?? "";
  const action = p.get("action") ?? "";
  const [entries] = useLoad((signal) => {
    if (!allowed) return Promise.resolve([]);
    const startMs = start ? Number(start) : Date.now() - DAY_MS;
    return api<Entry[]>("GET", `/api/audit${query({
      start: toApiTime(startMs), end: end ? toApiTime(Number(end)) : undefined, actor, action, limit: SHOWN,
      order: "newest",
    })}`, null, { signal });
  }, [allowed, start, end, actor, action]);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string): string => formText(form, name).trim();
    const ms = (text: string): string | undefined => (text ? String(fromLocalInput(text)) : undefined);
    navigate(["admin", "audit"], { start: ms(field("start")), end: ms(field("end")),
                                   actor: field("actor") || undefined, action: field("action") || undefined });
  };
  return (
    <section class="admin">
      <PageTitle>Audit log</PageTitle>
      <AdminTabs current="audit" />
      {!allowed ? <NotAllowed what="read the audit log" /> : (
        <>
          <Verify />
          <form class="filters" onSubmit={submit} aria-label="Filter the audit log">
            <span><label for="audit-start">From</label>
              <input id="audit-start" name="start" type="datetime-local" step={1}
                     defaultValue={toLocalInput(start ? Number(start) : Date.now() - DAY_MS)} /></span>
            <span><label for="audit-end">Until</label>
              <input id="audit-end" name="end" type="datetime-local" step={1}
                     defaultValue={end ? toLocalInput(Number(end)) : ""} /></span>
            <span><label for="audit-actor">Actor (exact, e.g. user:alice)</label>
              <input id="audit-actor" name="actor" defaultValue={actor} /></span>
            <span><label for="audit-action">Action (exact, e.g. link.create)</label>
              <input id="audit-action" name="action" defaultValue={action} /></span>
            <button type="submit">Filter</button>
          </form>
          <Show loaded={entries}>{(list) => list.length === 0 ? <p>No entries match.</p> : (
            <TableWrap label="Audit entries">
              <table class="audit stack-on-phone">
                <caption class="muted">
                  {list.length === SHOWN ? `The newest ${SHOWN} entries (narrow the filter to see older ones)`
                                         : `${list.length} entries`}, newest first
                </caption>
                <thead><tr><th scope="col">Id</th><th scope="col">Time</th><th scope="col">Actor</th>
                  <th scope="col">Action</th><th scope="col">Target</th><th scope="col">Outcome</th>
                  <th scope="col">Detail</th></tr></thead>
                <tbody>
                  {list.map((e) => (
                    <tr key={e.id} data-entry={e.id}>
                      <td data-label="Id">{e.id}</td><td data-label="Time">{formatDateTime(parseIso(e.at))}</td>
                      <td data-label="Actor">{e.actor}</td><td data-label="Action">{e.action}</td>
                      <td data-label="Target">{e.target}</td>
                      <td data-label="Outcome" class={e.outcome === "ok" ? "" : "state error"}>{e.outcome}</td>
                      <td data-label="Detail" class="detail">{detailText(e.detail)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}</Show>
        </>
      )}
    </section>
  );
}

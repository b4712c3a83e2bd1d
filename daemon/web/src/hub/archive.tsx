// #/archive at the hub: the exports pulled from sites into the district archive, with their state
// (pending, verified by `vigil verify` on arrival, failed and why); who may pull names a site and
// the export's id (the number the appliance's Exports page shows).
import { useEffect, useState } from "preact/hooks";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import { formatBytes } from "../lib/evidence";
import { formText } from "../lib/forms";
import type { Route } from "../lib/router";
import { formatDateTime, parseIso } from "../lib/time";
import { type HubMe, type Pull, type Site, loadPulls, loadSites, mayPull, pullExport } from "./api";

const REFRESH_MS = 5_000;
const STATE_TEXT: Record<string, string> = { pending: "Pulling…", verified: "Verified", failed: "Failed" };

function PullForm({ sites, onPulled }: { sites: Site[]; onPulled: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    setBusy(true);
    setError(null);
    pullExport(formText(form, "site"), formText(form, "export_id").trim()).then(
      () => { setBusy(false); form.reset(); onPulled(); },
      (e: unknown) => { setBusy(false); setError(e); });
  };
  const open = sites.filter((s) => s.removed_at === null);
  return (
    <form class="stack pull-form" onSubmit={submit} aria-labelledby="pull-head">
      <h2 id="pull-head">Pull an export</h2>
      <label for="pull-site">Site</label>
      <select id="pull-site" name="site" required>
        {open.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
      </select>
      <label for="pull-export">Export number (as the site's Exports page shows it)</label>
      <input id="pull-export" name="export_id" inputMode="numeric" required />
      <button type="submit" disabled={busy || open.length === 0}>Pull export</button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

function PullRow({ pull, sites }: { pull: Pull; sites: Site[] }) {
  const site = sites.find((s) => s.id === pull.site)?.name ?? pull.site;
  return (
    <tr data-pull={pull.id} data-state={pull.state}>
      <td>{site}</td>
      <td>{String(pull.export_id)}</td>
      <td class={pull.state === "failed" ? "error" : pull.state === "verified" ? "ok" : undefined}>
        {STATE_TEXT[pull.state] ?? pull.state}{pull.error ? `: ${pull.error}` : ""}
      </td>
      <td>{pull.bytes !== null ? formatBytes(pull.bytes) : "—"}</td>
      <td>{pull.requested_by}</td>
      <td><time datetime={pull.created_at}>{formatDateTime(parseIso(pull.created_at))}</time></td>
      <td class="mono">{pull.path ?? "—"}{pull.sha256 ? <><br /><span class="muted">sha256 {pull.sha256.slice(0, 16)}…</span></> : null}</td>
    </tr>
  );
}

export default function ArchivePage({ me }: { me: HubMe; route: Route }) {
  const [pulls, reload] = useLoad((signal) => loadPulls(signal), []);
  const [sites] = useLoad((signal) => loadSites(signal), []);
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, []);
  const siteList = sites.state === "ok" ? sites.value : [];
  return (
    <section class="archive">
      <PageTitle>Archive</PageTitle>
      {mayPull(me.user) && <PullForm sites={siteList} onPulled={reload} />}
      <h2>Pulled exports</h2>
      <Show loaded={pulls}>
        {(list) => list.length === 0 ? <p>Nothing pulled yet.</p> : (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Pulled exports">
            <table>
              <thead>
                <tr><th scope="col">Site</th><th scope="col">Export</th><th scope="col">State</th><th scope="col">Size</th>
                    <th scope="col">Asked by</th><th scope="col">Asked at</th><th scope="col">In the archive</th></tr>
              </thead>
              <tbody>{list.map((p) => <PullRow key={p.id} pull={p} sites={siteList} />)}</tbody>
            </table>
          </div>
        )}
      </Show>
    </section>
  );
}

// #/admin/storage: the storage report (GET /api/storage): the disk, the retention budget and its
// warning, and what each camera's recordings use and how much of it evidence holds keep. Scoped by
// the appliance: a building's staff see their own cameras' figures only.
import { AdminTabs, TableWrap } from "../components/AdminTabs";
import { PageTitle, Show, useLoad } from "../components/common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import { formatDateTime, parseIso } from "../lib/time";

interface StorageReport {
  scope: "appliance" | "caller";
  disks: { path: string; capacity_bytes: number; used_bytes: number; free_bytes: number }[];
  recorded_bytes: number; held_bytes: number; budget_bytes: number | null; max_bytes: number | null;
  min_free_bytes: number | null; retain_days: number | null;
  warning: { level: string; message: string | null; held_fraction: number | null };
  cameras: { id: string; recorded_bytes: number; held_bytes: number; segments: number; oldest: string | null;
             newest: string | null }[];
}

export function formatBytes(n: number | null): string {
  if (n === null) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit] ?? "B"}`;
}

function when(iso: string | null): string {
  return iso ? formatDateTime(parseIso(iso)) : "—";
}

function Report({ report }: { report: StorageReport }) {
  const app = useApp();
  const nameOf = (id: string): string => app.cameras.find((c) => c.id === id)?.name ?? id;
  const level = report.warning.level;
  return (
    <>
      <p class={level === "ok" ? "ok" : "warning-note"} role="status" data-level={level}>
        {level === "ok" ? "Storage is healthy." : `Warning (${level}): ${report.warning.message ?? ""}`}
      </p>
      {report.scope === "appliance" && report.disks.map((d) => {
        const usedPct = d.capacity_bytes ? Math.round((100 * d.used_bytes) / d.capacity_bytes) : 0;
        return (
          <div key={d.path} class="disk">
            <h2>Recording disk</h2>
            <label for={`disk-${d.path}`}>{formatBytes(d.used_bytes)} used of {formatBytes(d.capacity_bytes)}
              {" "}({usedPct} %), {formatBytes(d.free_bytes)} free</label>
            <meter id={`disk-${d.path}`} min={0} max={d.capacity_bytes} value={d.used_bytes}
                   high={d.capacity_bytes * 0.9} />
          </div>
        );
      })}
      <dl class="figures">
        <dt>Recordings</dt><dd>{formatBytes(report.recorded_bytes)}</dd>
        <dt>Under evidence holds</dt><dd>{formatBytes(report.held_bytes)}</dd>
        {report.scope === "appliance" && (
          <>
            <dt>Retention budget</dt><dd>{formatBytes(report.budget_bytes)}</dd>
            <dt>Kept at most</dt><dd>{report.retain_days === null ? "until the budget is used" : `${report.retain_days} days`}</dd>
          </>
        )}
      </dl>
      <h2>Cameras</h2>
      {report.cameras.length === 0 ? <p>No recordings yet.</p> : (
        <TableWrap label="Recordings per camera">
          <table class="stack-on-phone">
            <thead><tr><th scope="col">Camera</th><th scope="col">Recorded</th><th scope="col">Held</th>
              <th scope="col">Segments</th><th scope="col">Oldest</th><th scope="col">Newest</th></tr></thead>
            <tbody>
              {report.cameras.map((c) => (
                <tr key={c.id} data-camera={c.id}>
                  <th scope="row">{nameOf(c.id)}</th><td data-label="Recorded">{formatBytes(c.recorded_bytes)}</td>
                  <td data-label="Held">{formatBytes(c.held_bytes)}</td>
                  <td data-label="Segments">{c.segments}</td><td data-label="Oldest">{when(c.oldest)}</td>
                  <td data-label="Newest">{when(c.newest)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}

export default function AdminStoragePage() {
  const [report] = useLoad((signal) => api<StorageReport>("GET", "/api/storage", null, { signal }), []);
  return (
    <section class="admin">
      <PageTitle>Storage</PageTitle>
      <AdminTabs current="storage" />
      <Show loaded={report}>{(r) => <Report report={r} />}</Show>
    </section>
  );
}

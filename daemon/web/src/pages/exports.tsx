// #/exports: the evidence exports the caller may see, newest first; those still queued or running
// are asked about every second (progress bar), a finished one is downloaded by a plain link (the
// session cookie goes along; the server audits the download).
import { useEffect } from "preact/hooks";
import { PageTitle, Show, useLoad } from "../components/common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type ExportJson, cameraName, formatBytes, isoMs, timelineHref } from "../lib/evidence";
import { href } from "../lib/router";
import { formatDateTime } from "../lib/time";

const POLL_MS = 1000;

function stateText(row: ExportJson): string {
  switch (row.state) {
    case "queued": return "Waiting to start";
    case "running": return `Copying: ${row.segments_done} of ${row.segments_total} segments`;
    case "done": return `Ready${row.size_bytes === null ? "" : ` (${formatBytes(row.size_bytes)})`}`;
    case "failed": return `Failed: ${row.error ?? "no reason given"}`;
  }
}

function ExportItem({ row }: { row: ExportJson }) {
  const app = useApp();
  const percent = row.bytes_total > 0 ? Math.round((100 * row.bytes_done) / row.bytes_total) : 0;
  const label = `export-${row.id}`;
  return (
    <li class="card export-item" data-export={row.id} data-state={row.state} aria-labelledby={label}>
      <div class="card-body">
        <h2 id={label}>Export {row.id}{row.case_id ? ` · case ${row.case_id}` : ""}</h2>
        <p>{row.cameras.map((c) => cameraName(app.cameras, c)).join(", ")}</p>
        <p>{formatDateTime(isoMs(row.start))} – {formatDateTime(isoMs(row.end))}</p>
        <p class="muted">“{row.reason}” · by {row.created_by} · {formatDateTime(isoMs(row.created_at))}</p>
        <p class={row.state === "failed" ? "state error" : "state"} role="status">{stateText(row)}</p>
        {(row.state === "queued" || row.state === "running") && (
          <progress max={100} value={percent} aria-label={`Export ${row.id} progress`}>{percent} %</progress>
        )}
        <p class="actions">
          {row.state === "done" && row.download && (
            <a class="button" href={row.download} download>Download export {row.id}</a>
          )}
          <a class="button secondary" href={timelineHref(row.cameras, isoMs(row.start))}>Timeline</a>
        </p>
      </div>
    </li>
  );
}

export default function ExportsPage() {
  const [loaded, reload] = useLoad((signal) => api<ExportJson[]>("GET", "/api/exports", null, { signal }), []);
  const busy = loaded.state === "ok" && loaded.value.some((r) => r.state === "queued" || r.state === "running");
  useEffect(() => {
    if (!busy) return;
    const timer = window.setTimeout(reload, POLL_MS);
    return () => window.clearTimeout(timer);
  });
  return (
    <section class="exports">
      <PageTitle>Exports</PageTitle>
      <p class="muted">
        Signed copies of recorded video. Start one from the <a href={href(["evidence"])}>evidence page</a> or
        a range on the timeline; check a download with <code>vigil verify</code>.
      </p>
      <Show loaded={loaded}>
        {(rows) => rows.length === 0
          ? <p>No export yet.</p>
          : <ul class="cards export-list">{rows.map((r) => <ExportItem key={r.id} row={r} />)}</ul>}
      </Show>
    </section>
  );
}

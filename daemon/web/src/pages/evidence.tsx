// #/evidence?cameras=a,b&start=<ms>&end=<ms>: a range of one or several cameras, and what can be
// done with it: bookmark it, hold it from retention, export it (with a reason and a case id).
// Every control is offered only where the caller may use it; the server decides each request.
import { useState } from "preact/hooks";
import { PageTitle } from "../components/common";
import { type Range, RangeFields } from "../components/RangeFields";
import { api, describeError } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type ExportJson, timelineHref, rangeParams } from "../lib/evidence";
import { href, navigate } from "../lib/router";
import { can } from "../lib/session";
import { formatDateTime, toApiTime } from "../lib/time";
import type { PageProps } from "../routes";

type Outcome = { ok: true; text: string; link?: { href: string; label: string } } | { ok: false; text: string };

export default function EvidencePage({ route }: PageProps) {
  const app = useApp();
  const [initialStart, initialEnd] = rangeParams(route.params, 10);
  const asked = (route.params.get("cameras") ?? "").split(",").filter((c) => c.length > 0);
  const usable = app.cameras.filter((c) => can(app.me, "bookmark", c.building) || can(app.me, "hold_evidence", c.building)
                                           || can(app.me, "export", c.building));
  const [chosen, setChosen] = useState<string[]>(asked.filter((id) => usable.some((c) => c.id === id)));
  const [range, setRange] = useState<Range>({ startMs: initialStart, endMs: initialEnd });
  const [headline, setHeadline] = useState("");
  const [notes, setNotes] = useState("");
  const [reason, setReason] = useState("");
  const [caseId, setCaseId] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const cams = app.cameras.filter((c) => chosen.includes(c.id));
  const mayAll = (action: "bookmark" | "hold_evidence" | "export"): boolean =>
    cams.length > 0 && cams.every((c) => can(app.me, action, c.building));
  const toggle = (id: string) => (event: Event): void => {
    const on = (event.currentTarget as HTMLInputElement).checked;
    setChosen((now) => (on ? [...now, id] : now.filter((c) => c !== id)));
  };
  const span = { start: toApiTime(range.startMs), end: toApiTime(range.endMs) };

  const run = (what: string, work: () => Promise<Outcome>): void => {
    if (cams.length === 0) { setOutcome({ ok: false, text: "Choose at least one camera." }); return; }
    if (range.endMs <= range.startMs) { setOutcome({ ok: false, text: "The end must be after the start." }); return; }
    setBusy(true);
    setOutcome(null);
    work().then(setOutcome, (e: unknown) => setOutcome({ ok: false, text: `${what} failed: ${describeError(e)}` }))
      .finally(() => setBusy(false));
  };
  const bookmark = (): void => run("Bookmark", async () => {
    if (!headline.trim()) return { ok: false, text: "A bookmark needs a headline." };
    for (const camera of chosen) {
      await api("POST", "/api/bookmarks", { camera, ...span, headline, description: notes });
    }
    setHeadline("");
    setNotes("");
    return { ok: true, text: `Bookmarked on ${cams.map((c) => c.name).join(", ")}.` };
  });
  const hold = (): void => run("Hold", async () => {
    if (!reason.trim()) return { ok: false, text: "A hold needs a reason." };
    const answer = await api<{ holds: { id: number }[] }>("POST", "/api/holds", {
      cameras: chosen, ...span, reason, ...(caseId.trim() ? { case_id: caseId.trim() } : {}) });
    return { ok: true, text: `Held from deletion (${answer.holds.length} camera${answer.holds.length === 1 ? "" : "s"}) until released.` };
  });
  const exportRange = (): void => run("Export", async () => {
    if (!reason.trim()) return { ok: false, text: "An export needs a reason." };
    const row = await api<ExportJson>("POST", "/api/exports", {
      cameras: chosen, ...span, reason, ...(caseId.trim() ? { case_id: caseId.trim() } : {}) });
    navigate(["exports"]);
    return { ok: true, text: `Export ${row.id} started.`, link: { href: href(["exports"]), label: "See its progress" } };
  });

  return (
    <section class="evidence">
      <PageTitle>Evidence</PageTitle>
      <p class="muted">
        Mark a range of recorded video: bookmark it, keep it from deletion, or export a signed copy.
      </p>
      <form class="stack evidence-form" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>Cameras</legend>
          {usable.length === 0 && <p>No camera you may mark is visible to you.</p>}
          <ul class="checks">
            {usable.map((c) => (
              <li key={c.id}>
                <input type="checkbox" id={`cam-${c.id}`} checked={chosen.includes(c.id)} onChange={toggle(c.id)} />
                <label for={`cam-${c.id}`}>{c.name}</label>
              </li>
            ))}
          </ul>
        </fieldset>
        <fieldset>
          <legend>Range</legend>
          <RangeFields id="evidence" range={range} onChange={setRange} />
          <p class="muted">{formatDateTime(range.startMs)} – {formatDateTime(range.endMs)}
            {cams.length > 0 && <> · <a href={timelineHref(chosen, range.startMs)}>Open in the timeline</a></>}
          </p>
        </fieldset>
        {mayAll("bookmark") && (
          <fieldset>
            <legend>Bookmark</legend>
            <label for="headline">Headline</label>
            <input id="headline" maxLength={200} value={headline}
                   onInput={(e) => setHeadline((e.currentTarget).value)} />
            <label for="notes">Notes</label>
            <textarea id="notes" maxLength={4000} rows={2} value={notes}
                      onInput={(e) => setNotes((e.currentTarget).value)} />
            <p><button type="button" disabled={busy} onClick={bookmark}>Add bookmark</button></p>
          </fieldset>
        )}
        {(mayAll("hold_evidence") || mayAll("export")) && (
          <fieldset>
            <legend>Hold or export</legend>
            <label for="reason">Reason</label>
            <input id="reason" maxLength={500} value={reason} aria-describedby="reason-help"
                   onInput={(e) => setReason((e.currentTarget).value)} />
            <p id="reason-help" class="muted">Required; kept in the audit log and the export's manifest.</p>
            <label for="case-id">Case id</label>
            <input id="case-id" maxLength={100} value={caseId}
                   onInput={(e) => setCaseId((e.currentTarget).value)} />
            <p class="actions">
              {mayAll("hold_evidence") && <button type="button" disabled={busy} onClick={hold}>Place hold</button>}
              {mayAll("export") && <button type="button" disabled={busy} onClick={exportRange}>Export</button>}
            </p>
          </fieldset>
        )}
        {cams.length > 0 && !mayAll("bookmark") && !mayAll("hold_evidence") && !mayAll("export") && (
          <p>You may not mark video of all the chosen cameras.</p>
        )}
        <div aria-live="polite">
          {outcome && (
            <p class={outcome.ok ? "ok" : "error"} role={outcome.ok ? "status" : "alert"}>
              {outcome.text}{outcome.ok && outcome.link && <> <a href={outcome.link.href}>{outcome.link.label}</a></>}
            </p>
          )}
        </div>
      </form>
    </section>
  );
}

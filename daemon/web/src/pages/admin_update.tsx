// #/admin/update: the appliance's software update (district admins; issue 20). Shows the A/B slots
// (which one runs, their boot order, a rollback after an update that did not start) and the last
// update's state, and installs a signed bundle from a URL: the appliance downloads it, checks its
// signature and hands it to the installer (POST /api/appliance/update), rebooting now, at a time or
// not at all. The download can take a minute; a refusal shows the appliance's reason.
import { useState } from "preact/hooks";
import { AdminTabs, NotAllowed, TableWrap } from "../components/AdminTabs";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import { formText } from "../lib/forms";
import { can } from "../lib/session";
import { formatDateTime } from "../lib/time";

type UpdateState = "requested" | "installing" | "installed" | "failed";

interface LastUpdate {
  state: UpdateState; version?: string; message?: string; requested_by?: string; reboot?: string; at_wall_ns?: number;
}
interface Slot { slot: string; title: string; generation: number; tries_left: number | null; state: "good" | "trying" | "bad" }
interface Slots {
  booted: "a" | "b" | null;
  order: Slot[];
  rolled_back: { slot: string; title: string; tries: number } | null;
}
interface UpdateStatus { update: LastUpdate | null; slots: Slots | null }
interface UpdateRequested { state: "requested"; version: string; reboot: string }

const STATE_TEXT: Record<UpdateState, string> = {
  requested: "Requested: waiting for the installer",
  installing: "Installing",
  installed: "Installed",
  failed: "Failed",
};

const SLOT_STATE_TEXT: Record<Slot["state"], string> = { good: "good", trying: "on trial", bad: "bad" };

function rebootText(reboot: string | undefined): string {
  if (reboot === undefined) return "—";
  if (reboot === "now") return "at once";
  if (reboot === "never") return "not asked (at the next restart)";
  return `at ${reboot} (local time)`;
}

function SlotsReport({ slots }: { slots: Slots | null }) {
  if (slots === null) return <p class="muted" data-testid="no-slots">Not running on an appliance: no A/B slots here.</p>;
  const rolled = slots.rolled_back;
  const running = slots.order.find((s) => s.slot === slots.booted);
  return (
    <>
      {rolled !== null && (
        <p class="warning-note" role="alert">
          The update to {rolled.title} did not start properly after {rolled.tries} tries; the appliance went back
          to the version before. Recordings are unaffected.
        </p>
      )}
      <p data-testid="booted">Running from slot <strong>{slots.booted ?? "unknown"}</strong>
        {running ? `: ${running.title}` : ""}.</p>
      <TableWrap label="Software slots in boot order">
        <table class="stack-on-phone">
          <thead><tr><th scope="col">Slot</th><th scope="col">Version</th><th scope="col">Generation</th>
            <th scope="col">Tries left</th><th scope="col">State</th></tr></thead>
          <tbody>
            {slots.order.map((s) => (
              <tr key={s.slot} data-slot={s.slot}>
                <th scope="row">{s.slot}{s.slot === slots.booted ? " (running)" : ""}</th>
                <td data-label="Version">{s.title}</td>
                <td data-label="Generation">{s.generation}</td>
                <td data-label="Tries left">{s.tries_left ?? "— (committed)"}</td>
                <td data-label="State">{SLOT_STATE_TEXT[s.state] ?? s.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}

function LastUpdateReport({ update }: { update: LastUpdate | null }) {
  if (update === null) return <p data-testid="last-update">No update has been requested on this appliance.</p>;
  return (
    <dl class="figures" data-testid="last-update" data-state={update.state}>
      <dt>State</dt><dd>{STATE_TEXT[update.state] ?? update.state}</dd>
      {update.version !== undefined && <><dt>Version</dt><dd>{update.version}</dd></>}
      {update.message && <><dt>Message</dt><dd>{update.message}</dd></>}
      {update.requested_by !== undefined && <><dt>Requested by</dt><dd>{update.requested_by}</dd></>}
      {update.reboot !== undefined && <><dt>Reboot</dt><dd>{rebootText(update.reboot)}</dd></>}
      {update.at_wall_ns !== undefined && <><dt>At</dt><dd>{formatDateTime(update.at_wall_ns / 1e6)}</dd></>}
    </dl>
  );
}

function InstallForm({ onAccepted }: { onAccepted: () => void }) {
  const [reboot, setReboot] = useState<"now" | "at" | "never">("never");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [accepted, setAccepted] = useState("");
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const body = { url: formText(form, "url").trim(), reboot: reboot === "at" ? formText(form, "reboot-at") : reboot };
    setBusy(true);
    setError(null);
    setAccepted("");
    api<UpdateRequested>("POST", "/api/appliance/update", body).then((answer) => {
      setBusy(false);
      setAccepted(`Update ${answer.version} accepted: installing`);
      onAccepted();
    }, (e: unknown) => { setError(e); setBusy(false); });
  };
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="install-title">
      <h2 id="install-title">Install an update</h2>
      <label for="update-url">Bundle URL</label>
      <input id="update-url" name="url" type="url" required maxLength={2000} placeholder="https://…/vigil.raucb"
             autoComplete="off" spellcheck={false} />
      <label for="update-reboot">Reboot</label>
      <select id="update-reboot" name="reboot" value={reboot}
              onChange={(e) => setReboot(e.currentTarget.value as "now" | "at" | "never")}>
        <option value="now">Now</option>
        <option value="at">Tonight at a time</option>
        <option value="never">Do not reboot</option>
      </select>
      {reboot === "at" && (
        <>
          <label for="update-reboot-at">Time tonight (local)</label>
          <input id="update-reboot-at" name="reboot-at" type="time" required defaultValue="02:00" />
        </>
      )}
      <button type="submit" disabled={busy}>Install update</button>
      <p aria-live="polite" data-testid="update-progress">
        {busy ? "Downloading and checking the bundle…" : accepted}
      </p>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

export default function AdminUpdatePage() {
  const { me } = useApp();
  const allowed = can(me, "update_appliance");
  const [status, reload] = useLoad(async (signal) => {
    if (!allowed) return null;
    return api<UpdateStatus>("GET", "/api/appliance/update", null, { signal });
  }, [allowed]);
  return (
    <section class="admin">
      <PageTitle>Software update</PageTitle>
      <AdminTabs current="update" />
      {!allowed ? <NotAllowed what="update this appliance" /> : (
        <Show loaded={status}>{(s) => s === null ? null : (
          <>
            <h2>Software slots</h2>
            <SlotsReport slots={s.slots} />
            <h2>Last update</h2>
            <LastUpdateReport update={s.update} />
            <InstallForm onAccepted={reload} />
          </>
        )}</Show>
      )}
    </section>
  );
}

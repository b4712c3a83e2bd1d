// #/admin/links: responder links. Create one with a reason, a scope (buildings or cameras the
// caller may manage links in), live and/or playback (and, with live, talking through the cameras'
// loudspeakers) and an expiry; the URL is shown once to copy.
// The list holds only the links the caller could revoke (the appliance filters it), with use counts.
import { useState } from "preact/hooks";
import { AdminTabs, ConfirmButton, NotAllowed, ShownOnce, TableWrap } from "../components/AdminTabs";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import { can } from "../lib/session";
import { formatDateTime, formatRemaining, fromLocalInput, parseIso, toApiTime } from "../lib/time";

export interface Link {
  id: number; state: "active" | "expired" | "revoked"; created_by: string; reason: string; cameras: string[];
  buildings: string[]; live: boolean; playback: boolean; talk: boolean; playback_start: string | null; playback_end: string | null;
  created_at: string; expires_at: string; revoked_at: string | null; use_count: number; last_used_at: string | null;
  url?: string;
}

const EXPIRIES = [1, 2, 4, 8, 12, 24, 48, 72];

function when(iso: string | null): string {
  return iso ? formatDateTime(parseIso(iso)) : "never";
}

function CreateLink({ onCreated }: { onCreated: (link: Link) => void }) {
  const app = useApp();
  const buildings = app.buildings.filter((b) => can(app.me, "manage_links", b.id));
  const cameras = app.cameras.filter((c) => can(app.me, "manage_links", c.building));
  const [chosenBuildings, setBuildings] = useState<string[]>([]);
  const [chosenCameras, setCameras] = useState<string[]>([]);
  const [playback, setPlayback] = useState(false);
  const [expiresHours, setExpiresHours] = useState("2");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (list: string[], set: (v: string[]) => void, id: string, on: boolean): void =>
    set(on ? [...list, id] : list.filter((x) => x !== id));
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string): HTMLInputElement => form.elements.namedItem(name) as HTMLInputElement;
    const body: Record<string, unknown> = {
      reason: field("reason").value, buildings: chosenBuildings, cameras: chosenCameras,
      live: field("live").checked, playback, expires_in: `${expiresHours}h`,
    };
    if (field("talk").checked) body["talk"] = true;
    if (playback && field("pb-start").value) body["playback_start"] = toApiTime(fromLocalInput(field("pb-start").value));
    if (playback && field("pb-end").value) body["playback_end"] = toApiTime(fromLocalInput(field("pb-end").value));
    setBusy(true);
    setError(null);
    api<Link>("POST", "/api/links", body).then((link) => {
      form.reset(); setBuildings([]); setCameras([]); setPlayback(false); setBusy(false); onCreated(link);
    }, (e: unknown) => { setError(e); setBusy(false); });
  };
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="new-link-title">
      <h2 id="new-link-title">New responder link</h2>
      <label for="link-reason">Reason (incident number or text)</label>
      <input id="link-reason" name="reason" required maxLength={500} />
      <fieldset class="checks">
        <legend>Whole buildings</legend>
        {buildings.map((b) => (
          <label key={b.id} class="check">
            <input type="checkbox" checked={chosenBuildings.includes(b.id)}
                   onChange={(e) => toggle(chosenBuildings, setBuildings, b.id, (e.currentTarget).checked)} />
            {b.name}
          </label>
        ))}
      </fieldset>
      <fieldset class="checks">
        <legend>Or single cameras</legend>
        {cameras.map((c) => (
          <label key={c.id} class="check">
            <input type="checkbox" checked={chosenCameras.includes(c.id)}
                   onChange={(e) => toggle(chosenCameras, setCameras, c.id, (e.currentTarget).checked)} />
            {c.name}
          </label>
        ))}
      </fieldset>
      <fieldset class="checks">
        <legend>Grants</legend>
        <label class="check"><input type="checkbox" name="live" defaultChecked /> Live video</label>
        <label class="check">
          <input type="checkbox" name="playback" checked={playback}
                 onChange={(e) => setPlayback((e.currentTarget).checked)} /> Recorded video
        </label>
        <label class="check">
          <input type="checkbox" name="talk" /> Talk through the cameras' loudspeakers (with live video)
        </label>
      </fieldset>
      {playback && (
        <div class="two">
          <span><label for="pb-start">Recorded from (optional)</label>
            <input id="pb-start" name="pb-start" type="datetime-local" step={1} /></span>
          <span><label for="pb-end">Recorded until (optional)</label>
            <input id="pb-end" name="pb-end" type="datetime-local" step={1} /></span>
        </div>
      )}
      <label for="link-expires">Expires after</label>
      <select id="link-expires" name="expires" value={expiresHours}
              onChange={(e) => setExpiresHours(e.currentTarget.value)}>
        {EXPIRIES.map((h) => <option key={h} value={h}>{h} {h === 1 ? "hour" : "hours"}</option>)}
      </select>
      <button type="submit" disabled={busy}>Create link</button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

function LinkRow({ link, onChanged }: { link: Link; onChanged: () => void }) {
  const app = useApp();
  const [error, setError] = useState<unknown>(null);
  const nameOf = (id: string): string =>
    app.cameras.find((c) => c.id === id)?.name ?? app.buildings.find((b) => b.id === id)?.name ?? id;
  const scope = [...link.buildings, ...link.cameras].map(nameOf).join(", ");
  const grants = [link.live && "live", link.playback && "recorded", link.talk && "talk"].filter(Boolean).join(" + ");
  const revoke = (): void => { api<Link>("DELETE", `/api/links/${link.id}`).then(onChanged, setError); };
  return (
    <tr data-link={link.id}>
      <th scope="row">Link {link.id}</th>
      <td data-label="Reason">{link.reason}</td>
      <td data-label="Scope">{scope}<br /><span class="muted">{grants}</span></td>
      <td data-label="Created">{link.created_by}<br /><span class="muted">{when(link.created_at)}</span></td>
      <td data-label="State" class={link.state === "active" ? "" : "muted"}>
        {link.state === "active" ? `expires ${formatRemaining(parseIso(link.expires_at))}` : link.state}
      </td>
      <td data-label="Uses" data-uses>{link.use_count}<br /><span class="muted">{link.last_used_at ? `last ${when(link.last_used_at)}` : ""}</span></td>
      <td class="row-actions">
        {link.state === "active" &&
          <ConfirmButton label="Revoke" confirmLabel="Confirm revoke" what={`link ${link.id}`} onConfirm={revoke} />}
        {error !== null && <ErrorNote error={error} />}
      </td>
    </tr>
  );
}

export default function AdminLinksPage() {
  const { me } = useApp();
  const allowed = can(me, "manage_links");
  const [created, setCreated] = useState<Link | null>(null);
  const [links, reload] = useLoad((signal) => allowed ? api<Link[]>("GET", "/api/links", null, { signal })
                                                      : Promise.resolve([]), [allowed]);
  return (
    <section class="admin">
      <PageTitle>Responder links</PageTitle>
      <AdminTabs current="links" />
      {!allowed ? <NotAllowed what="manage responder links" /> : (
        <>
          <CreateLink onCreated={(link) => { setCreated(link); reload(); }} />
          {created?.url && (
            <ShownOnce id="new-link-url" label={`Link ${created.id} (${created.reason})`} value={created.url}
                       note="Send this address to the responder now: it is shown only once." />
          )}
          <h2>Links</h2>
          <Show loaded={links}>{(list) => list.length === 0 ? <p>No responder links.</p> : (
            <TableWrap label="Responder links">
              <table class="stack-on-phone">
                <thead><tr><th scope="col">Link</th><th scope="col">Reason</th><th scope="col">Scope</th>
                  <th scope="col">Created</th><th scope="col">State</th><th scope="col">Uses</th>
                  <th scope="col">Actions</th></tr></thead>
                <tbody>{[...list].reverse().map((l) => <LinkRow key={l.id} link={l} onChanged={reload} />)}</tbody>
              </table>
            </TableWrap>
          )}</Show>
        </>
      )}
    </section>
  );
}

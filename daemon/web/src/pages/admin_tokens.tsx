// #/admin/tokens: API tokens for scripts (district admins). The secret is in the creation's
// answer only: shown once here to copy, never listed again. Revoking one ends it at once.
import { useState } from "preact/hooks";
import { AdminTabs, ConfirmButton, NotAllowed, ShownOnce, TableWrap } from "../components/AdminTabs";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import { can } from "../lib/session";
import { formatDateTime, parseIso } from "../lib/time";
import type { User } from "./admin_users";
import { formText } from "../lib/forms";

interface Token {
  id: number; user: string; label: string; created_at: string; revoked_at: string | null;
  state: "active" | "revoked"; token?: string;
}

function CreateToken({ users, onCreated }: { users: User[]; onCreated: (t: Token) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string): string => formText(form, name);
    setBusy(true);
    setError(null);
    api<Token>("POST", "/api/tokens", { user: field("user"), label: field("label") })
      .then((t) => { form.reset(); setBusy(false); onCreated(t); }, (e: unknown) => { setError(e); setBusy(false); });
  };
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="new-token-title">
      <h2 id="new-token-title">New API token</h2>
      <label for="token-user">For user</label>
      <select id="token-user" name="user" required>
        {users.filter((u) => !u.disabled).map((u) => <option key={u.name} value={u.name}>{u.name} ({u.role})</option>)}
      </select>
      <label for="token-label">Label (what uses it)</label>
      <input id="token-label" name="label" required maxLength={100} />
      <button type="submit" disabled={busy}>Create token</button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

function TokenRow({ token, onChanged }: { token: Token; onChanged: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const revoke = (): void => { api<Token>("DELETE", `/api/tokens/${token.id}`).then(onChanged, setError); };
  return (
    <tr data-token={token.id}>
      <th scope="row">Token {token.id}</th>
      <td data-label="User">{token.user}</td>
      <td data-label="Label">{token.label}</td>
      <td data-label="Created">{formatDateTime(parseIso(token.created_at))}</td>
      <td data-label="State">{token.revoked_at ? `revoked ${formatDateTime(parseIso(token.revoked_at))}` : "active"}</td>
      <td class="row-actions">
        {token.state === "active" &&
          <ConfirmButton label="Revoke" confirmLabel="Confirm revoke" what={`token ${token.id}`} onConfirm={revoke} />}
        {error !== null && <ErrorNote error={error} />}
      </td>
    </tr>
  );
}

export default function AdminTokensPage() {
  const { me } = useApp();
  const allowed = can(me, "manage_users");
  const [created, setCreated] = useState<Token | null>(null);
  const [data, reload] = useLoad(async (signal) => {
    if (!allowed) return { tokens: [], users: [] };
    const [tokens, users] = await Promise.all([api<Token[]>("GET", "/api/tokens", null, { signal }),
                                               api<User[]>("GET", "/api/users", null, { signal })]);
    return { tokens, users };
  }, [allowed]);
  return (
    <section class="admin">
      <PageTitle>API tokens</PageTitle>
      <AdminTabs current="tokens" />
      {!allowed ? <NotAllowed what="manage API tokens" /> : (
        <Show loaded={data}>{({ tokens, users }) => (
          <>
            <CreateToken users={users} onCreated={(t) => { setCreated(t); reload(); }} />
            {created?.token && (
              <ShownOnce id="new-token" label={`Token ${created.id} for ${created.user} (${created.label})`}
                         value={created.token}
                         note="Copy it now: the appliance keeps only a hash and cannot show it again." />
            )}
            <h2>Tokens</h2>
            {tokens.length === 0 ? <p>No API tokens.</p> : (
              <TableWrap label="API tokens">
                <table class="stack-on-phone">
                  <thead><tr><th scope="col">Token</th><th scope="col">User</th><th scope="col">Label</th>
                    <th scope="col">Created</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
                  <tbody>{[...tokens].reverse().map((t) => <TokenRow key={t.id} token={t} onChanged={reload} />)}</tbody>
                </table>
              </TableWrap>
            )}
          </>
        )}</Show>
      )}
    </section>
  );
}

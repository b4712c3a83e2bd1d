// #/admin/users: the appliance's users (district admins): add one, change a role and buildings,
// disable (which revokes their sessions and tokens at once). Over /api/users.
import { useState } from "preact/hooks";
import { AdminTabs, ConfirmButton, NotAllowed, TableWrap } from "../components/AdminTabs";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import { api } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type Building, can } from "../lib/session";
import { formText } from "../lib/forms";

export interface User { name: string; role: string; buildings: string[]; disabled: boolean }

export const ROLES: { value: string; label: string }[] = [
  { value: "district_admin", label: "District admin (everything)" },
  { value: "building_admin", label: "Building admin" },
  { value: "viewer", label: "Viewer" },
  { value: "installer", label: "Installer (cameras, no footage)" },
  { value: "door_system", label: "Door system (posts door events)" },
];
const SCOPED = new Set(["building_admin", "viewer"]);

function roleLabel(role: string): string {
  return ROLES.find((r) => r.value === role)?.label ?? role;
}

/** The role select and building checkboxes of both forms; `prefix` keeps their ids apart. */
function RoleFields({ prefix, buildings, role, chosen, onRole, onChosen }: {
  prefix: string; buildings: Building[]; role: string; chosen: string[];
  onRole: (role: string) => void; onChosen: (ids: string[]) => void;
}) {
  const toggle = (id: string, on: boolean): void =>
    onChosen(on ? [...chosen, id].sort() : chosen.filter((b) => b !== id));
  return (
    <>
      <label for={`${prefix}-role`}>Role</label>
      <select id={`${prefix}-role`} value={role} onChange={(e) => onRole((e.currentTarget).value)}>
        {ROLES.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
      </select>
      <fieldset class="checks">
        <legend>Buildings{SCOPED.has(role) ? " (at least one)" : role === "installer" ? " (none: every building)" : ""}</legend>
        {buildings.map((b) => (
          <label key={b.id} class="check">
            <input type="checkbox" checked={chosen.includes(b.id)}
                   onChange={(e) => toggle(b.id, (e.currentTarget).checked)} />
            {b.name}
          </label>
        ))}
      </fieldset>
    </>
  );
}

function AddUser({ buildings, onAdded }: { buildings: Building[]; onAdded: (u: User) => void }) {
  const [role, setRole] = useState("viewer");
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string): string => formText(form, name);
    setBusy(true);
    setError(null);
    api<User>("POST", "/api/users", { name: field("name"), password: field("password"), role, buildings: chosen })
      .then((user) => { form.reset(); setChosen([]); setBusy(false); onAdded(user); },
            (e: unknown) => { setError(e); setBusy(false); });
  };
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="add-user-title">
      <h2 id="add-user-title">Add a user</h2>
      <label for="new-name">User name</label>
      <input id="new-name" name="name" required maxLength={64} autocomplete="off" />
      <label for="new-password">Password (at least 10 characters)</label>
      <input id="new-password" name="password" type="password" required minLength={10} autocomplete="new-password" />
      <RoleFields prefix="new" buildings={buildings} role={role} chosen={chosen} onRole={setRole} onChosen={setChosen} />
      <button type="submit" disabled={busy}>Add user</button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

function EditRole({ user, buildings, onSaved, onCancel }: {
  user: User; buildings: Building[]; onSaved: (u: User) => void; onCancel: () => void;
}) {
  const [role, setRole] = useState(user.role);
  const [chosen, setChosen] = useState<string[]>(user.buildings);
  const [error, setError] = useState<unknown>(null);
  const submit = (event: Event): void => {
    event.preventDefault();
    api<User>("PATCH", `/api/users/${encodeURIComponent(user.name)}`, { role, buildings: chosen })
      .then(onSaved, setError);
  };
  return (
    <form class="stack inline-edit" onSubmit={submit} aria-label={`Role of ${user.name}`}>
      <RoleFields prefix={`edit-${user.name}`} buildings={buildings} role={role} chosen={chosen} onRole={setRole}
                  onChosen={setChosen} />
      <p class="actions">
        <button type="submit">Save</button>
        <button type="button" class="secondary" onClick={onCancel}>Cancel</button>
      </p>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

function UserRow({ user, buildings, onChanged, self }: {
  user: User; buildings: Building[]; onChanged: () => void; self: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const names = user.buildings.map((id) => buildings.find((b) => b.id === id)?.name ?? id);
  const disable = (): void => {
    api<User>("POST", `/api/users/${encodeURIComponent(user.name)}/disable`).then(onChanged, setError);
  };
  return (
    <tr data-user={user.name}>
      <th scope="row">{user.name}{self && <span class="muted"> (you)</span>}</th>
      <td data-label="Role">{roleLabel(user.role)}</td>
      <td data-label="Buildings">{names.length ? names.join(", ") : <span class="muted">{user.role === "district_admin" ? "all" : "none"}</span>}</td>
      <td data-label="State">{user.disabled ? <span class="state error">disabled</span> : "active"}</td>
      <td class="row-actions">
        {!user.disabled && !editing && (
          <p class="actions">
            <button type="button" class="secondary" aria-label={`Change role of ${user.name}`}
                    onClick={() => setEditing(true)}>Change role</button>
            <ConfirmButton label="Disable" confirmLabel="Confirm disable" what={user.name} onConfirm={disable} />
          </p>
        )}
        {editing && <EditRole user={user} buildings={buildings} onCancel={() => setEditing(false)}
                              onSaved={() => { setEditing(false); onChanged(); }} />}
        {error !== null && <ErrorNote error={error} />}
      </td>
    </tr>
  );
}

export default function AdminUsersPage() {
  const { me, buildings } = useApp();
  const allowed = can(me, "manage_users");
  const [users, reload] = useLoad((signal) => allowed ? api<User[]>("GET", "/api/users", null, { signal })
                                                      : Promise.resolve([]), [allowed]);
  return (
    <section class="admin">
      <PageTitle>Users</PageTitle>
      <AdminTabs current="users" />
      {!allowed ? <NotAllowed what="manage users" /> : (
        <>
          <Show loaded={users}>{(list) => (
            <TableWrap label="Users">
              <table class="stack-on-phone">
                <caption class="muted">Disabling a user ends their sessions and revokes their API tokens at once.</caption>
                <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Buildings</th>
                  <th scope="col">State</th><th scope="col">Actions</th></tr></thead>
                <tbody>
                  {list.map((u) => <UserRow key={u.name} user={u} buildings={buildings} onChanged={reload}
                                            self={u.name === me.name} />)}
                </tbody>
              </table>
            </TableWrap>
          )}</Show>
          <AddUser buildings={buildings} onAdded={reload} />
        </>
      )}
    </section>
  );
}

// The configured buildings (camera setup): add, rename, remove. Removing one that still has
// cameras or doors is refused by the appliance (409), and its message says which.
import { useState } from "preact/hooks";
import { ConfirmButton, TableWrap } from "./AdminTabs";
import { ErrorNote } from "./common";
import { api } from "../lib/api";
import { CONFIG_BUILDINGS, type ConfigBuilding, buildingPath } from "../lib/camera_setup";
import { formText } from "../lib/forms";

function BuildingRow({ building, writable, mayChange, onChanged }: {
  building: ConfigBuilding; writable: boolean; mayChange: boolean; onChanged: () => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const rename = (event: Event): void => {
    event.preventDefault();
    const name = formText(event.currentTarget as HTMLFormElement, "name").trim();
    setError(null);
    api("PATCH", buildingPath(building.id), { name }).then(() => { setRenaming(false); onChanged(); }, setError);
  };
  const remove = (): void => {
    setError(null);
    api("DELETE", buildingPath(building.id)).then(onChanged, setError);
  };
  return (
    <tr data-building={building.id}>
      <th scope="row">{building.name}</th>
      <td data-label="Id">{building.id}</td>
      <td class="row-actions">
        {mayChange && !renaming && (
          <p class="actions">
            <button type="button" class="secondary" disabled={!writable} aria-label={`Rename ${building.name}`}
                    onClick={() => setRenaming(true)}>Rename</button>
            <ConfirmButton label="Remove" confirmLabel="Confirm remove" what={`building ${building.name}`}
                           disabled={!writable} onConfirm={remove} />
          </p>
        )}
        {renaming && (
          <form class="stack inline-edit" onSubmit={rename} aria-label={`Rename ${building.name}`}>
            <label for={`rename-${building.id}`}>New name</label>
            <input id={`rename-${building.id}`} name="name" value={building.name} required maxLength={100} />
            <p class="actions">
              <button type="submit">Save name</button>
              <button type="button" class="secondary" onClick={() => setRenaming(false)}>Cancel</button>
            </p>
          </form>
        )}
        {error !== null && <ErrorNote error={error} />}
      </td>
    </tr>
  );
}

export function ConfigBuildings({ buildings, writable, mayChange, mayAdd, onChanged }: {
  buildings: ConfigBuilding[]; writable: boolean; mayChange: (id: string) => boolean; mayAdd: boolean;
  onChanged: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const add = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    setError(null);
    api("POST", CONFIG_BUILDINGS, { id: formText(form, "id").trim(), name: formText(form, "name").trim() })
      .then(() => { form.reset(); onChanged(); }, setError);
  };
  return (
    <section aria-labelledby="buildings-title">
      <h2 id="buildings-title">Buildings</h2>
      <TableWrap label="Buildings">
        <table class="stack-on-phone">
          <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {buildings.map((b) => <BuildingRow key={b.id} building={b} writable={writable} mayChange={mayChange(b.id)}
                                               onChanged={onChanged} />)}
          </tbody>
        </table>
      </TableWrap>
      {mayAdd && (
        <form class="stack" onSubmit={add} aria-labelledby="add-building-title">
          <h3 id="add-building-title">Add a building</h3>
          <label for="new-building-id">Building id (lower-case letters, digits, - and _)</label>
          <input id="new-building-id" name="id" required maxLength={63} pattern="[a-z0-9][a-z0-9_\-]*"
                 disabled={!writable} autocomplete="off" />
          <label for="new-building-name">Name</label>
          <input id="new-building-name" name="name" required maxLength={100} disabled={!writable} />
          <button type="submit" disabled={!writable}>Add building</button>
          {error !== null && <ErrorNote error={error} />}
        </form>
      )}
    </section>
  );
}

// The live wall (#/wall, #/wall/<view id>): cameras in a grid of 1, 4, 9 or 16 tiles, saved as
// named views per user (/api/views). Tiles of a wall of 4 or more play the camera's substream
// when it has one. The appliance never returns a camera the viewer may not watch (its tile comes
// back empty), and refuses to save one.
import { useEffect, useState } from "preact/hooks";
import { ErrorNote, PageTitle } from "../components/common";
import { LivePlayer, defaultQuality } from "../components/LivePlayer";
import { api, describeError } from "../lib/api";
import { useApp } from "../lib/app_context";
import { href, navigate } from "../lib/router";
import type { Camera } from "../lib/session";
import type { PageProps } from "../routes";

type Layout = 1 | 4 | 9 | 16;
const LAYOUTS: Layout[] = [1, 4, 9, 16];
type Tiles = (string | null)[];

export interface WallView {
  id: number;
  name: string;
  layout: Layout;
  cameras: Tiles;
  created_at: string;
  updated_at: string;
}

/** `tiles` made exactly `layout` long (empty tiles at the end). */
function fit(tiles: Tiles, layout: Layout): Tiles {
  return Array.from({ length: layout }, (_, i) => tiles[i] ?? null);
}

/** What the appliance stores: no empty tiles at the end. */
function trimmed(tiles: Tiles): Tiles {
  const out = [...tiles];
  while (out.length > 0 && out[out.length - 1] === null) out.pop();
  return out;
}

function columns(layout: Layout): number {
  return Math.sqrt(layout);
}

function Tile({ index, camera, layout, editing, cameras, onPick }: {
  index: number; camera: Camera | undefined; layout: Layout; editing: boolean; cameras: Camera[];
  onPick: (id: string | null) => void;
}) {
  const id = `tile-${index}`;
  return (
    <li class="wall-tile" data-tile={index}>
      {camera
        ? <LivePlayer camera={camera} quality={defaultQuality(camera, layout)} compact={layout > 1} />
        : <div class="wall-empty"><span>Empty tile {index + 1}</span></div>}
      {editing && (
        <p class="wall-pick">
          <label for={id}>Tile {index + 1}</label>
          <select id={id} value={camera?.id ?? ""} onChange={(e) => onPick((e.currentTarget.value || null))}>
            <option value="">(empty)</option>
            {cameras.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </p>
      )}
    </li>
  );
}

export default function WallPage({ route }: PageProps) {
  const app = useApp();
  const viewId = route.path[1] !== undefined ? Number(route.path[1]) : null;
  const [views, setViews] = useState<WallView[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [layout, setLayout] = useState<Layout>(4);
  const [tiles, setTiles] = useState<Tiles>(() => fit(app.cameras.map((c) => c.id), 4));
  const [name, setName] = useState("");
  const [editing, setEditing] = useState(false);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);

  // Views are saved per user: a responder link puts its cameras on an unsaved wall only.
  const saves = app.me.kind === "user";
  const reload = (): Promise<WallView[]> => api<WallView[]>("GET", "/api/views").then((list) => {
    setViews(list);
    return list;
  });
  useEffect(() => { if (saves) reload().catch(setLoadError); }, [saves]);

  const current = viewId === null || views === null ? undefined : views.find((v) => v.id === viewId);
  useEffect(() => {  // opening a saved view shows it as saved
    if (current) {
      setLayout(current.layout);
      setTiles(fit(current.cameras, current.layout));
      setName(current.name);
    } else if (viewId === null) {
      setName("");
    }
  }, [viewId, current?.updated_at]);

  const byId = new Map(app.cameras.map((c) => [c.id, c]));
  const chooseLayout = (next: Layout): void => {
    setLayout(next);
    setTiles((t) => fit(t, next));
  };
  const pick = (index: number, camera: string | null): void => {
    setTiles((t) => t.map((c, i) => (i === index ? camera : c === camera && camera !== null ? null : c)));
  };
  const act = (work: () => Promise<string>): void => {
    setBusy(true);
    setNote(null);
    work().then((text) => setNote({ text, error: false }), (e: unknown) => setNote({ text: describeError(e), error: true }))
      .finally(() => setBusy(false));
  };
  const body = { name: name.trim(), layout, cameras: trimmed(tiles) };
  const saveNew = (): void => act(async () => {
    const made = await api<WallView>("POST", "/api/views", body);
    await reload();
    navigate(["wall", String(made.id)]);
    return `Saved “${made.name}”.`;
  });
  const saveChanges = (): void => act(async () => {
    if (!current) throw new Error("no saved view is open");
    const saved = await api<WallView>("PUT", `/api/views/${current.id}`, body);
    await reload();
    return `Saved “${saved.name}”.`;
  });
  const remove = (): void => act(async () => {
    if (!current) throw new Error("no saved view is open");
    await api<WallView>("DELETE", `/api/views/${current.id}`);
    await reload();
    navigate(["wall"]);
    return `Deleted “${current.name}”.`;
  });
  const submit = (event: Event): void => {
    event.preventDefault();
    if (current) saveChanges();
    else saveNew();
  };

  return (
    <section class="wall">
      <PageTitle>{current ? current.name : "Live wall"}</PageTitle>
      {loadError !== null && <ErrorNote error={loadError} />}
      <div class="wall-bar">
        {saves && <p>
          <label for="wall-view">Saved view</label>{" "}
          <select id="wall-view" value={viewId === null ? "" : String(viewId)}
                  onChange={(e) => {
                    setNote(null);
                    navigate(e.currentTarget.value ? ["wall", e.currentTarget.value] : ["wall"]);
                  }}>
            <option value="">(unsaved wall)</option>
            {(views ?? []).map((v) => <option key={v.id} value={String(v.id)}>{v.name}</option>)}
          </select>
        </p>}
        <fieldset class="wall-layouts">
          <legend>Grid</legend>
          {LAYOUTS.map((n) => (
            <button key={n} type="button" class={n === layout ? "" : "secondary"} aria-pressed={n === layout}
                    onClick={() => chooseLayout(n)}>
              {n === 1 ? "1 camera" : `${n} cameras`}
            </button>
          ))}
        </fieldset>
        <button type="button" class="secondary" aria-pressed={editing} onClick={() => setEditing(!editing)}>
          {editing ? "Done choosing" : "Choose cameras"}
        </button>
      </div>
      {viewId !== null && views !== null && !current && (
        <p class="error" role="alert">You have no saved view {viewId}. <a href={href(["wall"])}>Open an unsaved wall</a>.</p>
      )}
      {saves && <form class="wall-save" onSubmit={submit}>
        <label for="wall-name">View name</label>
        <input id="wall-name" value={name} maxLength={100} required
               onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>{current ? "Save changes" : "Save view"}</button>
        {current && <button type="button" class="secondary" disabled={busy} onClick={saveNew}>Save as new view</button>}
        {current && <button type="button" class="danger" disabled={busy} onClick={remove}>Delete view</button>}
      </form>}
      <p role="status" class={note?.error ? "error" : "muted"}>{note?.text ?? ""}</p>
      {app.cameras.length === 0 && <p>No camera is visible to you.</p>}
      <ul class={`wall-grid cols-${columns(layout)}`} aria-label={`Wall of ${layout}`}>
        {tiles.map((id, i) => (
          <Tile key={`${i}-${id ?? ""}`} index={i} camera={id === null ? undefined : byId.get(id)} layout={layout}
                editing={editing} cameras={app.cameras} onPick={(c) => pick(i, c)} />
        ))}
      </ul>
    </section>
  );
}

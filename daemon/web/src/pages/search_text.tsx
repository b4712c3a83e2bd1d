// #/search/text?q=: full-text search over bookmarks (headline, notes) and evidence holds (reason,
// case id), GET /api/search. The query lives in the URL, so a search can be shared or reloaded.
import { useState } from "preact/hooks";
import { ErrorNote, Loading, PageTitle, useLoad } from "../components/common";
import { api, query } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type BookmarkJson, type HoldJson, type SearchAnswer, type SearchHit, cameraName, timelineHref } from "../lib/evidence";
import { navigate } from "../lib/router";
import { formatDateTime, parseIso } from "../lib/time";
import type { PageProps } from "../routes";
import { SearchTabs } from "../components/SearchTabs";

function Snippet({ hit }: { hit: SearchHit }) {
  return (
    <p class="snippet">
      {hit.snippet.map((part, i) => (part.match ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>))}
    </p>
  );
}

function Hit({ hit }: { hit: SearchHit }) {
  const app = useApp();
  const start = parseIso(hit.item.start);
  const camera = hit.item.camera;
  const building = hit.kind === "bookmark" ? (hit.item as BookmarkJson).building : null;
  const cameras = camera !== null ? [camera]
    : app.cameras.filter((c) => building === null || c.building === building).map((c) => c.id).slice(0, 4);
  const title = hit.kind === "bookmark" ? (hit.item as BookmarkJson).headline : `Hold: ${(hit.item as HoldJson).reason}`;
  const hold = hit.kind === "hold" ? (hit.item as HoldJson) : null;
  return (
    <li class="card search-hit" data-kind={hit.kind} data-id={hit.id}>
      <div class="card-body">
        <h2>{title}</h2>
        <Snippet hit={hit} />
        <p class="muted">
          {hit.kind === "bookmark" ? "Bookmark" : "Evidence hold"} · {cameraName(app.cameras, camera)} ·{" "}
          {formatDateTime(start)} – {hold?.until_incident_ends ? "until the incident ends" : formatDateTime(parseIso(hit.item.end))}
          {hold && <> · {hold.state}{hold.case_id ? ` · case ${hold.case_id}` : ""}</>}
        </p>
        {cameras.length > 0 && <p class="actions"><a class="button" href={timelineHref(cameras, start)}>Open in the timeline</a></p>}
      </div>
    </li>
  );
}

export default function TextSearchPage({ route }: PageProps) {
  const q = route.params.get("q") ?? "";
  const [text, setText] = useState(q);
  const [loaded] = useLoad(
    (signal) => (q.trim() ? api<SearchAnswer>("GET", `/api/search${query({ q })}`, null, { signal })
                          : Promise.resolve(null)),
    [q]);
  const submit = (event: Event): void => {
    event.preventDefault();
    navigate(["search", "text"], { q: text.trim() || undefined });
  };
  return (
    <section class="search">
      <PageTitle>Search</PageTitle>
      <SearchTabs current="text" />
      <form role="search" class="search-form" onSubmit={submit}>
        <label for="q">Words in bookmarks and holds</label>
        <span class="inline">
          <input id="q" type="search" value={text} maxLength={200} aria-describedby="q-help"
                 onInput={(e) => setText((e.currentTarget).value)} />
          <button type="submit">Search</button>
        </span>
        <p id="q-help" class="muted">Headlines, notes, reasons and case ids; every word must match the start of a word.</p>
      </form>
      {loaded.state === "loading" && <Loading what="Searching" />}
      {loaded.state === "error" && <ErrorNote error={loaded.error} />}
      {loaded.state === "ok" && loaded.value !== null && (
        <div aria-live="polite">
          <p role="status">
            {loaded.value.results.length === 0 ? "Nothing found."
              : `${loaded.value.results.length}${loaded.value.truncated ? "+" : ""} found.`}
          </p>
          <ul class="cards search-results">
            {loaded.value.results.map((hit) => <Hit key={`${hit.kind}-${hit.id}`} hit={hit} />)}
          </ul>
        </div>
      )}
    </section>
  );
}

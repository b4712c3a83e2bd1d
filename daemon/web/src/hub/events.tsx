// #/events at the hub: the district's events (door events, incidents, cameras down, storage), newest
// first, live over /api/events/stream; filtered by site and kind; and a text search across the
// sites (door events and incidents at the hub, bookmarks and holds asked of each site), naming the
// sites that did not answer.
import { useEffect, useState } from "preact/hooks";
import { ErrorNote, Loading, PageTitle, Show, useLoad } from "../components/common";
import { formText } from "../lib/forms";
import { type Route, navigate } from "../lib/router";
import { formatDateTime, parseIso } from "../lib/time";
import { type HubEvent, type HubMe, type SearchAnswer, type Site, loadEvents, loadSites, search } from "./api";

const MAX_SHOWN = 200;
export const KINDS: Record<string, string> = {
  door_event: "Door events", incident: "Incidents", camera: "Cameras", storage: "Storage",
};
const SEARCH_KINDS: Record<string, string> = {
  door_event: "Door event", incident: "Incident", bookmark: "Bookmark", hold: "Hold",
};

type StreamState = "connecting" | "live" | "retrying";

function siteName(sites: Site[], id: string): string {
  return sites.find((s) => s.id === id)?.name ?? id;
}

/** "North Campus · North High": the site and building names the site's inventory gives. */
function where(sites: Site[], site: string, building: string | null): string {
  if (!building) return siteName(sites, site);
  const name = sites.find((s) => s.id === site)?.inventory?.buildings?.find((b) => b.id === building)?.name;
  return `${siteName(sites, site)} · ${name ?? building}`;
}

function EventList({ events, sites }: { events: HubEvent[]; sites: Site[] }) {
  if (events.length === 0) return <p>No events.</p>;
  return (
    <ol class="hub-events" aria-label="Events, newest first">
      {events.map((e) => (
        <li key={e.id} class={`hub-event kind-${e.kind}`} data-kind={e.kind} data-site={e.site}>
          <time datetime={e.at}>{formatDateTime(parseIso(e.at))}</time>
          <span class="event-where">{where(sites, e.site, e.building)}</span>
          <span class="event-kind">{KINDS[e.kind] ?? e.kind}</span>
          <span class="event-headline">{e.headline}</span>
        </li>
      ))}
    </ol>
  );
}

function SearchResults({ answer, sites }: { answer: SearchAnswer; sites: Site[] }) {
  const missing = answer.unreachable ?? [];
  return (
    <>
      {missing.length > 0 && (
        <p class="error" role="status">
          Did not answer (their bookmarks and holds are missing): {missing.map((s) => siteName(sites, s)).join(", ")}
        </p>
      )}
      {answer.results.length === 0 ? <p>Nothing found.</p> : (
        <ol class="hub-events" aria-label="Search results">
          {answer.results.map((r, i) => (
            <li key={`${r.site}-${r.kind}-${r.at}-${i}`} class="hub-event" data-kind={r.kind} data-site={r.site}>
              <time datetime={r.at}>{formatDateTime(parseIso(r.at))}</time>
              <span class="event-where">{where(sites, r.site, r.building)}</span>
              <span class="event-kind">{SEARCH_KINDS[r.kind] ?? r.kind}</span>
              <span class="event-headline">{r.headline}</span>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

function matches(e: HubEvent, site: string, kind: string): boolean {
  return (!site || e.site === site) && (kind ? e.kind === kind : e.kind in KINDS);
}

export default function EventsPage({ route }: { me: HubMe; route: Route }) {
  const site = route.params.get("site") ?? "";
  const kind = route.params.get("kind") ?? "";
  const q = route.params.get("q") ?? "";
  const [sites] = useLoad((signal) => loadSites(signal), []);
  const [events, setEvents] = useState<HubEvent[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [stream, setStream] = useState<StreamState>("connecting");
  const [found] = useLoad((signal) => (q ? search(q, signal) : Promise.resolve(null)), [q]);

  const [round, setRound] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    loadEvents({ site, kind }, abort.signal).then(
      (list) => { if (!abort.signal.aborted) setEvents(list.filter((e) => matches(e, site, kind))); },
      (e: unknown) => { if (!abort.signal.aborted) setError(e); });
    return () => abort.abort();
  }, [site, kind, round]);
  useEffect(() => {
    setEvents(null);
    const source = new EventSource("/api/events/stream");
    // The hub dropped events this page was too slow for: the list is fetched again.
    source.addEventListener("dropped", () => setRound((r) => r + 1));
    // The sign-in ended (signed out elsewhere, expired, user disabled): the page starts over, at
    // the sign-in form.
    source.addEventListener("ended", () => { source.close(); window.location.reload(); });
    source.onopen = () => setStream("live");
    source.onerror = () => setStream("retrying");
    source.onmessage = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as HubEvent;
      if (!matches(event, site, kind)) return;
      setEvents((list) => list === null ? list
        : [event, ...list.filter((e) => e.id !== event.id)].slice(0, MAX_SHOWN));
    };
    return () => source.close();
  }, [site, kind]);

  const params = (change: Record<string, string>): Record<string, string | undefined> => {
    const all: Record<string, string> = { site, kind, q, ...change };
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v || undefined]));
  };
  const submitSearch = (event: Event): void => {
    event.preventDefault();
    navigate(["events"], params({ q: formText(event.currentTarget as HTMLFormElement, "q").trim() }));
  };
  const siteList = sites.state === "ok" ? sites.value : [];
  return (
    <section class="hub-events-page">
      <PageTitle>Events</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-site">Site</label>
        <select id="filter-site" value={site} onChange={(e) => navigate(["events"], params({ site: e.currentTarget.value }))}>
          <option value="">Every site</option>
          {siteList.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
        </select>
        <label for="filter-kind">Kind</label>
        <select id="filter-kind" value={kind} onChange={(e) => navigate(["events"], params({ kind: e.currentTarget.value }))}>
          <option value="">Every kind</option>
          {Object.entries(KINDS).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
        </select>
      </form>
      <form class="search-form" role="search" onSubmit={submitSearch}>
        <label for="hub-q">Search every site (door events, incidents, bookmarks, holds)</label>
        <input id="hub-q" name="q" type="search" defaultValue={q} />
        <button type="submit">Search</button>
        {q && <button type="button" class="secondary" onClick={() => navigate(["events"], params({ q: "" }))}>Clear</button>}
      </form>
      {q ? (
        <>
          <h2>Found for “{q}”</h2>
          <Show loaded={found}>{(answer) => answer && <SearchResults answer={answer} sites={siteList} />}</Show>
        </>
      ) : (
        <>
          <h2>
            Latest events <span class="muted stream-state" role="status">
              {stream === "live" ? "· live" : stream === "retrying" ? "· reconnecting…" : ""}
            </span>
          </h2>
          {error !== null ? <ErrorNote error={error} /> : events === null ? <Loading /> : <EventList events={events} sites={siteList} />}
        </>
      )}
    </section>
  );
}

// #/search/doors: door events by door, kind, flagged and range (GET /api/door-events, which shows
// only the caller's buildings' events); each opens the timeline on the door's cameras at its moment.
import { useState } from "preact/hooks";
import { ErrorNote, Loading, PageTitle } from "../components/common";
import { type Range, RangeFields } from "../components/RangeFields";
import { SearchTabs } from "../components/SearchTabs";
import { api, query } from "../lib/api";
import { useApp } from "../lib/app_context";
import { type DoorEvent, type DoorEventsAnswer, cameraName, rangeParams, timelineHref } from "../lib/evidence";
import { can, doorName } from "../lib/session";
import { formatDateTime, parseIso, toApiTime } from "../lib/time";
import type { PageProps } from "../routes";

const KINDS = ["access_granted", "access_denied", "door_forced_open", "door_held_open", "door_restored",
               "door_opened", "door_closed", "duress", "tamper", "intercom_call", "input_active",
               "device_offline", "device_online", "other"];
const words = (kind: string): string => kind.replace(/_/g, " ");

type Result = { state: "idle" } | { state: "loading" } | { state: "error"; error: unknown } | { state: "ok"; answer: DoorEventsAnswer };

function EventItem({ event }: { event: DoorEvent }) {
  const app = useApp();
  const at = parseIso(event.occurred_at);
  return (
    <li class={event.flagged ? "card door-hit flagged" : "card door-hit"} data-event={event.id}>
      <div class="card-body">
        <h2>{words(event.kind)}{event.door ? ` · ${doorName(app.doors, event.door)}` : ""}</h2>
        <p>{formatDateTime(at)}{event.direction ? ` · ${event.direction}` : ""}{event.reason ? ` · ${event.reason}` : ""}</p>
        {event.flagged && <p class="flag">Flagged: {event.flag_reasons.join(", ") || event.severity}</p>}
        <p class="muted">{event.cameras.length > 0 ? event.cameras.map((c) => cameraName(app.cameras, c)).join(", ") : "no camera watches this door"}</p>
        {event.cameras.length > 0 && (
          <p class="actions"><a class="button" href={timelineHref(event.cameras.slice(0, 4), at)}>Open in the timeline</a></p>
        )}
      </div>
    </li>
  );
}

export default function DoorSearchPage({ route }: PageProps) {
  const app = useApp();
  const [initialStart, initialEnd] = rangeParams(route.params, 24 * 60);
  const [range, setRange] = useState<Range>({ startMs: initialStart, endMs: initialEnd });
  const [door, setDoor] = useState(route.params.get("door") ?? "");
  const [kind, setKind] = useState(route.params.get("kind") ?? "");
  const [flagged, setFlagged] = useState(route.params.get("flagged") ?? "");
  const [result, setResult] = useState<Result>({ state: "idle" });
  if (!can(app.me, "view_door_events")) {
    return <section><PageTitle>Door events</PageTitle><SearchTabs current="doors" /><p>You may not see door events.</p></section>;
  }
  const search = (event: Event): void => {
    event.preventDefault();
    setResult({ state: "loading" });
    const q = query({ start: toApiTime(range.startMs), end: toApiTime(range.endMs), door: door.trim(), kind, flagged });
    api<DoorEventsAnswer>("GET", `/api/door-events${q}`).then((answer) => {
      setResult({ state: "ok", answer });
    }, (error: unknown) => setResult({ state: "error", error }));
  };
  return (
    <section class="search door-search">
      <PageTitle>Door events</PageTitle>
      <SearchTabs current="doors" />
      <form class="stack filters" onSubmit={search}>
        <label for="door">Door</label>
        <select id="door" value={door} onChange={(e) => setDoor((e.currentTarget).value)}>
          <option value="">any door</option>
          {app.doors.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
        </select>
        <label for="kind">Kind</label>
        <select id="kind" value={kind} onChange={(e) => setKind((e.currentTarget).value)}>
          <option value="">any kind</option>
          {KINDS.map((k) => <option key={k} value={k}>{words(k)}</option>)}
        </select>
        <label for="flagged">Flagged</label>
        <select id="flagged" value={flagged} onChange={(e) => setFlagged((e.currentTarget).value)}>
          <option value="">flagged or not</option>
          <option value="true">flagged only</option>
          <option value="false">not flagged</option>
        </select>
        <RangeFields id="doors" range={range} onChange={setRange} />
        <p><button type="submit">Find door events</button></p>
      </form>
      <div aria-live="polite">
        {result.state === "loading" && <Loading what="Searching" />}
        {result.state === "error" && <ErrorNote error={result.error} />}
        {result.state === "ok" && (
          <>
            <p role="status">
              {result.answer.events.length === 0 ? "No door event found." : `${result.answer.events.length}${result.answer.truncated ? "+" : ""} door events.`}
            </p>
            <ul class="cards door-results">{result.answer.events.map((e) => <EventItem key={e.id} event={e} />)}</ul>
          </>
        )}
      </div>
    </section>
  );
}

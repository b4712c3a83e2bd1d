// The three searches, as tabs linking each other's pages (each shown only to who may use it:
// door events need view_door_events, bookmarks and holds need bookmark; links have neither).
import { useApp } from "../lib/app_context";
import { href } from "../lib/router";
import { type Action, can } from "../lib/session";

const TABS: readonly (readonly ["motion" | "doors" | "text", string, Action])[] = [
  ["motion", "Motion in a region", "view_playback"],
  ["doors", "Door events", "view_door_events"],
  ["text", "Bookmarks and holds", "bookmark"],
];

export function SearchTabs({ current }: { current: "motion" | "doors" | "text" }) {
  const app = useApp();
  return (
    <nav aria-label="Searches" class="search-tabs">
      <ul>
        {TABS.filter(([key, , needs]) => key === current || can(app.me, needs)).map(([key, label]) => (
          <li key={key}><a href={href(["search", key])} aria-current={key === current ? "page" : undefined}>{label}</a></li>
        ))}
      </ul>
    </nav>
  );
}

// The three searches, as tabs linking each other's pages.
import { href } from "../lib/router";

const TABS = [["motion", "Motion in a region"], ["doors", "Door events"], ["text", "Bookmarks and holds"]] as const;

export function SearchTabs({ current }: { current: (typeof TABS)[number][0] }) {
  return (
    <nav aria-label="Searches" class="search-tabs">
      <ul>
        {TABS.map(([key, label]) => (
          <li key={key}><a href={href(["search", key])} aria-current={key === current ? "page" : undefined}>{label}</a></li>
        ))}
      </ul>
    </nav>
  );
}

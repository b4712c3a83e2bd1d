// The pages: a hash route's first segment (or first two, for "search/..." and "admin/...") names
// the module, which is loaded the first time it is visited. One line per page.
import type { FunctionComponent } from "preact";
import type { Route } from "./lib/router";
import { type Action, type Me, can } from "./lib/session";

export interface PageProps { route: Route }
export interface PageModule { default: FunctionComponent<PageProps> }

export const PAGES: Record<string, () => Promise<PageModule>> = {
  cameras: () => import("./pages/cameras"),
  wall: () => import("./pages/wall"),
  live: () => import("./pages/live"),
  "admin/users": () => import("./pages/admin_users"),
  "admin/links": () => import("./pages/admin_links"),
  "admin/tokens": () => import("./pages/admin_tokens"),
  "admin/audit": () => import("./pages/admin_audit"),
  "admin/storage": () => import("./pages/admin_storage"),
  "admin/cameras": () => import("./pages/admin_cameras"),
  "admin/update": () => import("./pages/admin_update"),
  "search/motion": () => import("./pages/search_motion"),
  "search/doors": () => import("./pages/search_doors"),
  "search/text": () => import("./pages/search_text"),
  evidence: () => import("./pages/evidence"),
  exports: () => import("./pages/exports"),
  map: () => import("./pages/map"),
  timeline: () => import("./pages/timeline"),
  incidents: () => import("./pages/incidents"),
};

/** The pages shown to who is not signed in: the district hub's one-time sign-in link. */
export interface SignedOutModule { default: FunctionComponent<{ onSignedIn: (next: string) => void }> }
export const SIGNED_OUT_PAGES: Record<string, () => Promise<SignedOutModule>> = {
  "district-signin": () => import("./pages/district_signin"),
};

/** The navigation bar: shown when the page exists and the caller may use it somewhere. */
export interface NavItem { label: string; path: string; needs: Action }
export const NAV: NavItem[] = [
  { label: "Map", path: "map", needs: "view_status" },
  { label: "Incidents", path: "incidents", needs: "view_status" },
  { label: "Cameras", path: "cameras", needs: "view_status" },
  { label: "Wall", path: "wall", needs: "view_live" },
  { label: "Timeline", path: "timeline", needs: "view_playback" },
  { label: "Search", path: "search/motion", needs: "view_playback" },
  { label: "Exports", path: "exports", needs: "export" },
  { label: "Admin", path: "admin/users", needs: "manage_users" },
  { label: "Links", path: "admin/links", needs: "manage_links" },
  { label: "Audit", path: "admin/audit", needs: "view_audit" },
  { label: "Camera setup", path: "admin/cameras", needs: "configure_cameras" },
];

/** The start page (no route named): the map, or camera setup for who sees no video (installers). */
export function homeKey(me: Me): string {
  if (!can(me, "view_live") && !can(me, "view_playback") && can(me, "configure_cameras")) return "admin/cameras";
  return PAGES["map"] ? "map" : "cameras";
}

export function pageKey(route: Route, me?: Me): string | null {
  const [first, second] = route.path;
  if (first === undefined) return me ? homeKey(me) : PAGES["map"] ? "map" : "cameras";
  if (second !== undefined && PAGES[`${first}/${second}`]) return `${first}/${second}`;
  return PAGES[first] ? first : null;
}

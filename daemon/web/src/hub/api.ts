// The hub's API as the district page uses it (the contract of issue 17; the hub filters every list
// to the signed-in user's sites and decides every request: this only shapes the answers).
import { ApiError, api, query, setCsrfToken } from "../lib/api";

export type HubRole = "district_admin" | "building_admin" | "viewer";
export interface HubUser { name: string; role: HubRole; scopes: string[] }
export interface HubMe { user: HubUser; csrf_token: string; hub: { id: string; name: string } }

export interface SiteHealth {
  state?: string;
  version?: string;
  cameras_up?: number;
  cameras_total?: number;
  storage?: { free_bytes?: number; problem?: string | null };
  uptime_s?: number;
}
export interface InventoryItem { id: string; name: string; building?: string }
export interface SiteInventory {
  url?: string;
  buildings?: InventoryItem[];
  cameras?: InventoryItem[];
  doors?: InventoryItem[];
}
export type Reachability = "reachable" | "unreachable" | "never_seen";
export interface Site {
  id: string;
  name: string;
  url: string | null;
  enrolled_at: string | null;
  removed_at: string | null;
  reachability: Reachability;
  since: string | null;
  reason: string;
  health: SiteHealth | null;
  inventory: SiteInventory | null;
}

export type EventKind = "door_event" | "incident" | "camera" | "storage" | "health" | "inventory" | "bridge";
export interface HubEvent {
  id: number;
  site: string;
  kind: string;
  at: string;
  received_at: string;
  building: string | null;
  headline: string;
  data: Record<string, unknown>;
}
export interface SearchResult { site: string; kind: string; at: string; headline: string; building: string | null }
export interface SearchAnswer { results: SearchResult[]; unreachable?: string[] }

export type PullState = "pending" | "verified" | "failed";
export interface Pull {
  id: number;
  site: string;
  export_id: string | number;
  state: PullState;
  path: string | null;
  sha256: string | null;
  bytes: number | null;
  error: string | null;
  requested_by: string;
  created_at: string;
  finished_at: string | null;
}

/** The signed-in hub user, or null (401). */
export async function loadHubMe(): Promise<HubMe | null> {
  try {
    const me = await api<HubMe>("GET", "/api/me");
    setCsrfToken(me.csrf_token);
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function hubSignIn(name: string, password: string): Promise<void> {
  const answer = await api<{ csrf_token: string }>("POST", "/api/session", { name, password });
  setCsrfToken(answer.csrf_token);
}

export async function hubSignOut(): Promise<void> {
  await api("DELETE", "/api/session");
  setCsrfToken("");
}

export async function loadSites(signal?: AbortSignal): Promise<Site[]> {
  const answer = await api<{ sites: Site[] }>("GET", "/api/sites", null, signal ? { signal } : {});
  return answer.sites;
}

/** Opens `next` (an appliance hash route, "/#/...") at the site, signed in by a fresh hub token:
 * the browser leaves the hub for the appliance's district-signin page. */
export async function openAtSite(site: string, next: string): Promise<void> {
  const answer = await api<{ signin_url: string }>("POST", `/api/sites/${encodeURIComponent(site)}/token`, { next });
  window.location.assign(answer.signin_url);
}

export async function loadEvents(filter: { site?: string; kind?: string }, signal?: AbortSignal): Promise<HubEvent[]> {
  const answer = await api<{ events: HubEvent[] }>(
    "GET", `/api/events${query({ site: filter.site, kind: filter.kind, limit: 200 })}`, null, signal ? { signal } : {});
  return answer.events;
}

export async function search(q: string, signal?: AbortSignal): Promise<SearchAnswer> {
  return api<SearchAnswer>("GET", `/api/search${query({ q })}`, null, signal ? { signal } : {});
}

export async function loadPulls(signal?: AbortSignal): Promise<Pull[]> {
  const answer = await api<{ pulls: Pull[] }>("GET", "/api/pulls", null, signal ? { signal } : {});
  return answer.pulls;
}

export async function pullExport(site: string, exportId: string): Promise<Pull> {
  const answer = await api<{ pull: Pull }>(
    "POST", `/api/sites/${encodeURIComponent(site)}/pulls`, { export_id: /^\d+$/.test(exportId) ? Number(exportId) : exportId });
  return answer.pull;
}

/** Mirrors core/hub_permissions (the hub decides; this hides what the user could not use). */
export function mayPull(user: HubUser): boolean {
  return user.role === "district_admin" || user.role === "building_admin";
}

/** The user's sites (null: every site). */
export function userSites(user: HubUser): Set<string> | null {
  if (user.role === "district_admin") return null;
  return new Set(user.scopes.map((s) => s.split("/")[0] ?? "").filter((s) => s));
}

// Incidents as the API gives them (services/incidents.incident_json; GET /api/openapi.json), the
// calls the incident pages and banners make, and whether this page is the demo's (one-click drill).
import { api, query } from "./api";
import type { DoorEvent } from "./evidence";

export type DeliveryState = "pending" | "delivered" | "failed" | "skipped";

export interface Delivery {
  id: number; event: "declared" | "ended"; recipient: string; state: DeliveryState; attempts: number;
  last_error: string | null; next_attempt_at: string | null; delivered_at: string | null;
}

export interface Join { actor: string; via: string; reason: string; at: string }

export interface Incident {
  id: number; building: string; building_name: string; cameras: string[]; whole_building: boolean;
  reason: string; drill: boolean; state: "open" | "ended"; declared_by: string; declared_via: string;
  declared_at: string; hold_start: string; hold_end: string | null; ended_at: string | null;
  ended_by: string | null; end_note: string | null; link_id: number | null; link_url: string | null;
  report_cameras: string[]; report_export_id: number | null; joins: Join[]; deliveries: Delivery[];
}

export interface Declared { incident: Incident; joined: boolean }

/** GET /api/incidents/{id}/activity: the link's viewers now and what it accessed. */
export interface Viewer { link_id: number; camera: string; started_at: string; remote?: string | null }
export interface Access { at: string; action: string; target: string; detail?: unknown }
export interface Activity { viewers: Viewer[]; accesses: Access[] }

/** The alert stream's `incident` event. */
export interface IncidentAlert { kind?: string; incident: number; building: string; what: "declared" | "joined" | "ended" }

export interface Declaration { building: string; cameras?: string[]; reason: string; drill: boolean }

export const REASON_MAX = 500;
export const NOTE_MAX = 4000;

export async function listIncidents(state: "open" | "ended" | "all", signal?: AbortSignal): Promise<Incident[]> {
  const answer = await api<{ incidents: Incident[] }>("GET", `/api/incidents${query({ state })}`, null,
                                                       signal ? { signal } : {});
  return answer.incidents;
}

export async function getIncident(id: number, signal?: AbortSignal): Promise<Incident> {
  return api<Incident>("GET", `/api/incidents/${id}`, null, signal ? { signal } : {});
}

export async function declareIncident(d: Declaration): Promise<Declared> {
  const body: Record<string, unknown> = { building: d.building, reason: d.reason, drill: d.drill };
  if (d.cameras && d.cameras.length > 0) body["cameras"] = d.cameras;
  return api<Declared>("POST", "/api/incidents", body);
}

export async function endIncident(id: number, note: string, reportCameras: string[]): Promise<Incident> {
  return api<Incident>("POST", `/api/incidents/${id}/end`, { note, report_cameras: reportCameras });
}

export async function incidentActivity(id: number, signal?: AbortSignal): Promise<Activity> {
  return api<Activity>("GET", `/api/incidents/${id}/activity`, null, signal ? { signal } : {});
}

export async function incidentDoorEvents(id: number, signal?: AbortSignal): Promise<DoorEvent[]> {
  const answer = await api<{ door_events: DoorEvent[] }>("GET", `/api/incidents/${id}/door_events`, null,
                                                         signal ? { signal } : {});
  return answer.door_events;
}

/** Open first (newest first within each), then ended. */
export function sortIncidents(list: Incident[]): Incident[] {
  const open = list.filter((i) => i.state === "open");
  const ended = list.filter((i) => i.state !== "open");
  const newest = (a: Incident, b: Incident): number => b.id - a.id;
  return [...open.sort(newest), ...ended.sort(newest)];
}

/** The demo (`vigil demo` opens the app at /?demo=1) offers a one-click drill. Only a shortcut: the
 * appliance decides every declaration as for any other. */
export function isDemo(): boolean {
  return new URLSearchParams(window.location.search).has("demo");
}

/** "webhook:dispatch" -> "Webhook dispatch", "email" -> "E-mail", "mqtt" -> "MQTT". */
export function recipientName(recipient: string): string {
  const [kind, name] = recipient.split(":", 2);
  const label = kind === "webhook" ? "Webhook" : kind === "email" ? "E-mail" : kind === "mqtt" ? "MQTT" : kind ?? "";
  return name ? `${label} ${name}` : label;
}

/** Who as people read it: "user:hs-admin" -> "hs-admin", "link:3" -> "responder link 3". */
export function actorName(actor: string | null): string {
  if (!actor) return "unknown";
  const [kind, rest] = actor.split(":", 2);
  if (kind === "user" && rest) return rest;
  if (kind === "link" && rest) return `responder link ${rest}`;
  return actor;
}

/** Tells every banner on the page that incidents changed (after a declaration or an end here). */
export const INCIDENTS_CHANGED = "vigil-incidents-changed";
export function announceIncidentsChanged(): void {
  window.dispatchEvent(new Event(INCIDENTS_CHANGED));
}

// Who is signed in, and what the app may offer them. The server decides every request; this only
// hides controls the caller could not use (GET /api/me's `can`, from core/permissions.grants).
import { ApiError, api, setCsrfToken } from "./api";
import type { DistrictLink } from "./district";

export type Action =
  | "view_status" | "view_live" | "view_playback" | "export" | "configure_cameras" | "manage_links"
  | "manage_users" | "view_audit" | "view_door_events" | "ack_door_events" | "bookmark" | "hold_evidence"
  | "declare_incident" | "talk" | "update_appliance";

export interface Me {
  kind: "user" | "link";
  name?: string;
  role?: string;
  buildings: string[];
  cameras?: string[];
  link_id?: number;
  live?: boolean;
  playback?: boolean;
  expires_at?: string;
  playback_start?: string | null; // a responder link's playback window, when it has one
  playback_end?: string | null;
  csrf_token?: string;
  district?: DistrictLink | null; // a session made from a district hub token (issue 17)
  can: Partial<Record<Action, string[]>>;
}

export interface Building { id: string; name: string; cameras: string[] }
export interface CameraStatus {
  state: "starting" | "up" | "down";
  reason: string | null;
  recording: boolean;
  last_frame_at: string | null;
}
export interface Camera {
  id: string;
  name: string;
  building: string;
  status: CameraStatus;
  gaps_24h: { at: string; reason: string | null }[];
  has_substream: boolean;
  audio: "pcmu" | "pcma" | "aac" | "opus" | null; // the camera's sound (null: none)
  talk?: boolean; // push-to-talk is configured and the caller may talk through it
}

/** Whether `me` may take `action` (in `building`, or anywhere when none is named). */
export function can(me: Me, action: Action, building?: string): boolean {
  const where = me.can[action];
  if (!where || where.length === 0) return false;
  return building === undefined || where.includes("*") || where.includes(building);
}

/** The signed-in caller, or null when nobody is (401). */
export async function loadMe(): Promise<Me | null> {
  try {
    const me = await api<Me>("GET", "/api/me");
    if (me.csrf_token) setCsrfToken(me.csrf_token);
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function signIn(name: string, password: string): Promise<Me> {
  const answer = await api<{ user: Me; csrf_token: string }>("POST", "/api/login", { name, password });
  setCsrfToken(answer.csrf_token);
  return { ...answer.user, csrf_token: answer.csrf_token };
}

export async function signOut(): Promise<void> {
  await api("POST", "/api/logout");
  setCsrfToken("");
}

/** A configured door (GET /api/doors: the caller's buildings' doors, with the cameras they see of each). */
export interface Door { id: string; name: string; building: string; cameras: string[] }

export async function loadDoors(): Promise<Door[]> {
  return api<Door[]>("GET", "/api/doors");
}

/** What people call a door: its configured name, else its id (an event may name a door since removed). */
export function doorName(doors: Door[], id: string | null | undefined): string | null {
  if (!id) return null;
  return doors.find((d) => d.id === id)?.name ?? id;
}

export async function loadBuildings(): Promise<Building[]> {
  return api<Building[]>("GET", "/api/buildings");
}

export async function loadCameras(): Promise<Camera[]> {
  return api<Camera[]>("GET", "/api/cameras");
}

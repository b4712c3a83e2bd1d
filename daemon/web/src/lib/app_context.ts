// What every page may read: the caller, and the buildings and cameras they may see (the
// appliance filters both lists to what the caller may see).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Building, Camera, Door, Me } from "./session";

export interface AppState {
  me: Me;
  buildings: Building[];
  cameras: Camera[];
  doors: Door[];
  /** Fetches buildings and cameras again (e.g. after a change). */
  reload: () => void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (state === null) throw new Error("useApp outside the signed-in app");
  return state;
}

export function cameraById(state: AppState, id: string): Camera | undefined {
  return state.cameras.find((c) => c.id === id);
}

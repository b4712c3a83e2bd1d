// One server-sent event stream per page (GET /api/alerts) shared by the door-alert banner and the
// incident banner: a listener subscribes to one event type; the stream opens with the first
// listener and closes with the last, so a page holds one long-lived request, not one per banner.

type Listener = (event: MessageEvent<string>) => void;
export type StreamState = "open" | "retrying" | "closed";

let source: EventSource | null = null;
const listeners = new Map<string, Set<Listener>>();
const stateListeners = new Set<(state: StreamState) => void>();

function count(): number {
  let n = stateListeners.size;
  for (const set of listeners.values()) n += set.size;
  return n;
}

function dispatch(type: string, event: Event): void {
  for (const listener of listeners.get(type) ?? []) listener(event as MessageEvent<string>);
}

function ensure(): EventSource {
  if (source !== null) return source;
  const opened = new EventSource("/api/alerts");
  for (const type of listeners.keys()) opened.addEventListener(type, (e) => dispatch(type, e));
  opened.addEventListener("open", () => { for (const l of stateListeners) l("open"); });
  opened.addEventListener("error", () => {
    const state = opened.readyState === EventSource.CLOSED ? "closed" : "retrying";
    for (const l of stateListeners) l(state);
  });
  source = opened;
  return opened;
}

function release(): void {
  if (count() === 0 && source !== null) {
    source.close();
    source = null;
  }
}

/** Calls `listener` for each `type` event of the alert stream; the returned function unsubscribes. */
export function onAlert(type: string, listener: Listener): () => void {
  let set = listeners.get(type);
  if (!set) {
    set = new Set();
    listeners.set(type, set);
    source?.addEventListener(type, (e) => dispatch(type, e)); // a stream already open learns the type
  }
  set.add(listener);
  ensure();
  return () => {
    set.delete(listener);
    release();
  };
}

/** Calls `listener` when the stream opens, retries or stops for good. */
export function onStreamState(listener: (state: StreamState) => void): () => void {
  stateListeners.add(listener);
  const current = ensure();
  if (current.readyState === EventSource.OPEN) listener("open");
  return () => {
    stateListeners.delete(listener);
    release();
  };
}

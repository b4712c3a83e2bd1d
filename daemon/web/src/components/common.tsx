// Small shared pieces: an error note, a loading note, data loading with its states.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../lib/api";

export function ErrorNote({ error }: { error: unknown }) {
  return <p class="error" role="alert">{describeError(error)}</p>;
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return <p class="muted" aria-live="polite">{what}…</p>;
}

export type Loaded<T> = { state: "loading" } | { state: "error"; error: unknown } | { state: "ok"; value: T };

/** Runs `load` when `deps` change; the latest answer wins. `reload` runs it again. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    load(abort.signal).then(
      (value) => { if (!abort.signal.aborted) setLoaded({ state: "ok", value }); },
      (error: unknown) => { if (!abort.signal.aborted) setLoaded({ state: "error", error }); },
    );
    return () => abort.abort();
  }, [...deps, round]);
  return [loaded, () => setRound((r) => r + 1)];
}

/** Shows `children(value)` once loaded, or the loading/error note. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (value: T) => ComponentChildren }) {
  if (loaded.state === "loading") return <Loading />;
  if (loaded.state === "error") return <ErrorNote error={loaded.error} />;
  return <>{children(loaded.value)}</>;
}

export function PageTitle({ children }: { children: ComponentChildren }) {
  useEffect(() => {
    const text = typeof children === "string" ? children : "";
    if (text) document.title = `${text} · Vigil`;
  }, [children]);
  return <h1>{children}</h1>;
}

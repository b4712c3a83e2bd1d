// The shell: sign-in, the navigation bar, the responder banner, the incident banner, and the page the #route names.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { AlertBanner } from "./components/AlertBanner";
import { IncidentBanner } from "./components/IncidentBanner";
import { ErrorNote, Loading } from "./components/common";
import { ApiError, describeError } from "./lib/api";
import { AppContext, type AppState } from "./lib/app_context";
import { href, useRoute } from "./lib/router";
import { rememberedExpiry, renewDelayMs, renewDistrictSession } from "./lib/district";
import { type Me, can, loadBuildings, loadCameras, loadDoors, loadMe, signIn, signOut } from "./lib/session";
import { formatRemaining, parseIso } from "./lib/time";
import { NAV, PAGES, type PageModule, SIGNED_OUT_PAGES, type SignedOutModule, pageKey } from "./routes";
import { formText } from "./lib/forms";

function SignIn({ onSignedIn, note }: { onSignedIn: (me: Me) => void; note?: string | null }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string): string => formText(form, name);
    setBusy(true);
    signIn(field("name"), field("password")).then(onSignedIn, (e: unknown) => {
      setError(e instanceof ApiError ? e.detail || e.title : describeError(e));
      setBusy(false);
    });
  };
  return (
    <main id="content" class="sign-in">
      <h1>Vigil</h1>
      {note && <p class="error" role="alert">{note}</p>}
      <form onSubmit={submit} aria-describedby={error ? "sign-in-error" : undefined}>
        <label for="name">User name</label>
        <input id="name" name="name" autocomplete="username" required />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit" disabled={busy}>Sign in</button>
        {error && <p id="sign-in-error" class="error" role="alert">{error}</p>}
      </form>
    </main>
  );
}

function LinkBanner({ me }: { me: Me }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = window.setInterval(() => tick((n) => n + 1), 15_000);
    return () => window.clearInterval(timer);
  }, []);
  const expires = me.expires_at ? parseIso(me.expires_at) : NaN;
  return (
    <p class="link-banner" role="status">
      Responder view · access ends {Number.isNaN(expires) ? "soon" : formatRemaining(expires)} · every view is logged
    </p>
  );
}

function Header({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const route = useRoute();
  const current = pageKey(route, me);
  const items = NAV.filter((item) => PAGES[item.path] && can(me, item.needs));
  return (
    <header class="top">
      <a class="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById("content")?.focus(); }}>
        Skip to content
      </a>
      <a class="brand" href="#/">Vigil</a>
      <nav aria-label="Main">
        <ul>
          {items.map((item) => (
            <li key={item.path}>
              <a href={href(item.path.split("/"))} aria-current={current === item.path ? "page" : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {me.kind === "user" && (
        <span class="who">
          {me.district && <span class="via-hub">Signed in through {me.district.hub_name}</span>}
          <span>{me.name}</span>
          <button type="button" class="link-button" onClick={onSignOut}>Sign out</button>
        </span>
      )}
    </header>
  );
}

function Page({ me }: { me: Me }) {
  const route = useRoute();
  const key = pageKey(route, me);
  const [loaded, setLoaded] = useState<{ key: string; module: PageModule } | { key: string; error: unknown } | null>(null);
  useEffect(() => {
    if (key === null) return;
    let current = true;
    const load = PAGES[key];
    if (!load) return;
    load().then((module) => { if (current) setLoaded({ key, module }); },
                (error: unknown) => { if (current) setLoaded({ key, error }); });
    return () => { current = false; };
  }, [key]);
  if (key === null) return <p>There is no such page. <a href="#/">Go to the start page</a>.</p>;
  if (loaded === null || loaded.key !== key) return <Loading />;
  if ("error" in loaded) return <ErrorNote error={loaded.error} />;
  const Module = loaded.module.default;
  return <Module route={route} />;
}

/** The hub's sign-in link, before anyone is signed in (routes.ts SIGNED_OUT_PAGES). */
function SignedOutPage({ name, onSignedIn }: { name: string; onSignedIn: (next: string) => void }) {
  const [module, setModule] = useState<SignedOutModule | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => { SIGNED_OUT_PAGES[name]?.().then(setModule, setError); }, [name]);
  if (error) return <main id="content"><ErrorNote error={error} /></main>;
  if (module === null) return <main id="content"><Loading /></main>;
  return <module.default onSignedIn={onSignedIn} />;
}

/** A session from a district hub token is renewed ~60 s before it ends; when the hub refuses
 * (the user was disabled there), the session is over. */
function useDistrictRenewal(me: Me | null | undefined, onRefused: () => void): void {
  const [round, setRound] = useState<{ expiresAt: string | null; failed: boolean }>({ expiresAt: null, failed: false });
  const district = me?.district ?? null;
  useEffect(() => {
    if (!district) return;
    const end = round.expiresAt ?? district.expires_at ?? me?.expires_at ?? rememberedExpiry();
    if (!end) return;
    const endMs = parseIso(end);
    if (Number.isNaN(endMs) || endMs <= Date.now()) return;
    const timer = window.setTimeout(() => {
      renewDistrictSession().then((outcome) => {
        if (outcome.kind === "renewed") setRound({ expiresAt: outcome.expiresAt, failed: false });
        else if (outcome.kind === "refused") onRefused();
        else setRound((r) => ({ expiresAt: r.expiresAt ?? end, failed: true }));
      }, () => setRound((r) => ({ ...r, failed: true })));
    }, renewDelayMs(endMs, Date.now(), round.failed));
    return () => window.clearTimeout(timer);
  }, [district, round]);
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [lists, setLists] = useState<Pick<AppState, "buildings" | "cameras" | "doors"> | null>(null);
  const [round, setRound] = useState(0);
  // A hub sign-in link (#/district-signin?...) is handled whoever is signed in, also when it is
  // pasted into a tab that has the app open (a hash change): keyed by its query, it runs once.
  const route = useRoute();
  const first = route.path[0];
  const signedOutPage = first !== undefined && SIGNED_OUT_PAGES[first] ? first : null;
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => { if (signedOutPage === null) loadMe().then(setMe, setError); }, [signedOutPage]);
  useDistrictRenewal(me, () => {
    setMe(null);
    setLists(null);
    setNote("The district hub ended your sign-in here. Sign in again at the hub.");
  });
  useEffect(() => {
    if (!me) return;
    Promise.all([loadBuildings(), loadCameras(), loadDoors()]).then(
      ([buildings, cameras, doors]) => setLists({ buildings, cameras, doors }), setError);
  }, [me, round]);
  if (signedOutPage !== null) {
    return <SignedOutPage key={route.params.toString()} name={signedOutPage} onSignedIn={(next) => {
      setMe(undefined);
      setLists(null);
      window.location.replace(next); // a hash change: the app stays, the route follows
    }} />;
  }
  if (error) return <main id="content"><ErrorNote error={error} /></main>;
  if (me === undefined) return <main id="content"><Loading /></main>;
  if (me === null) return <SignIn onSignedIn={(m) => { setNote(null); setMe(m); }} note={note} />;
  const out = (): void => {
    signOut().then(() => { setMe(null); setLists(null); }, setError);
  };
  return (
    <>
      <Header me={me} onSignOut={out} />
      {me.kind === "link" && <LinkBanner me={me} />}
      <IncidentBanner me={me} />
      <div id="alerts"><AlertBanner me={me} doors={lists?.doors ?? []} /></div>
      <main id="content" tabIndex={-1}>
        {lists === null ? <Loading /> : (
          <AppContext.Provider value={{ me, ...lists, reload: () => setRound((r) => r + 1) }}>
            <Page me={me} />
          </AppContext.Provider>
        )}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}

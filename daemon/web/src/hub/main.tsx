// The district hub's page (served by `vigil hub` at /): sign-in, the navigation bar, and the page the
// #route names: the district (every site), its events, its archive. Video never comes through the
// hub: a site's buildings and cameras open at the appliance, signed in by a hub token.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorNote, Loading } from "../components/common";
import { ApiError, describeError } from "../lib/api";
import { formText } from "../lib/forms";
import { useRoute } from "../lib/router";
import { type HubMe, hubSignIn, hubSignOut, loadHubMe } from "./api";
import ArchivePage from "./archive";
import DistrictPage from "./district";
import EventsPage from "./events";

const PAGES = [
  { key: "", label: "District", Page: DistrictPage },
  { key: "events", label: "Events", Page: EventsPage },
  { key: "archive", label: "Archive", Page: ArchivePage },
];

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { document.title = "Sign in · Vigil district"; }, []);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    setBusy(true);
    hubSignIn(formText(form, "name"), formText(form, "password")).then(onSignedIn, (e: unknown) => {
      setError(e instanceof ApiError && e.status === 401 ? "Wrong name or password." : describeError(e));
      setBusy(false);
    });
  };
  return (
    <main id="content" class="sign-in">
      <h1>Vigil district</h1>
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

function Header({ me, current, onSignOut }: { me: HubMe; current: string; onSignOut: () => void }) {
  return (
    <header class="top">
      <a class="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById("content")?.focus(); }}>
        Skip to content
      </a>
      <a class="brand" href="#/">{me.hub.name}</a>
      <nav aria-label="Main">
        <ul>
          {PAGES.map((p) => (
            <li key={p.key}>
              <a href={`#/${p.key}`} aria-current={current === p.key ? "page" : undefined}>{p.label}</a>
            </li>
          ))}
        </ul>
      </nav>
      <span class="who">
        <span>{me.user.name}</span>
        <button type="button" class="link-button" onClick={onSignOut}>Sign out</button>
      </span>
    </header>
  );
}

function Hub() {
  const route = useRoute();
  const [me, setMe] = useState<HubMe | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  useEffect(() => { loadHubMe().then(setMe, setError); }, [round]);
  if (error) return <main id="content"><ErrorNote error={error} /></main>;
  if (me === undefined) return <main id="content"><Loading /></main>;
  if (me === null) return <SignIn onSignedIn={() => { setMe(undefined); setRound((r) => r + 1); }} />;
  const key = route.path[0] ?? "";
  const page = PAGES.find((p) => p.key === key);
  const out = (): void => { hubSignOut().then(() => setMe(null), setError); };
  return (
    <>
      <Header me={me} current={key} onSignOut={out} />
      <main id="content" tabIndex={-1}>
        {page ? <page.Page me={me} route={route} />
              : <p>There is no such page. <a href="#/">Go to the district</a>.</p>}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<Hub />, root);
}

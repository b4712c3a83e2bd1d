// #/district-signin?token=vh1...&next=/%23/...: the district hub sent the browser here to sign in
// with a hub token. The token leaves the address bar and history before anything else (it signs
// in once; a copy in history would only leak it), the appliance decides, then the app goes to
// `next` (only a path of this app) or says why not.
import { useEffect, useState } from "preact/hooks";
import { districtSignIn, refusalText, safeNext } from "../lib/district";
import { parseHash } from "../lib/router";

/** Read once, when the page first renders: the token and where to go, and the URL cleaned. */
function takeLink(): { token: string; next: string } {
  const route = parseHash(window.location.hash);
  const token = route.params.get("token") ?? "";
  const next = safeNext(route.params.get("next"), window.location.origin);
  window.history.replaceState(null, "", `${window.location.pathname}#/district-signin`);
  return { token, next };
}

export default function DistrictSignInPage({ onSignedIn }: { onSignedIn: (next: string) => void }) {
  const [link] = useState(takeLink);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    document.title = "Signing in · Vigil";
    if (!link.token) {
      setError("This sign-in link has no token. Ask the hub for a new link.");
      return;
    }
    districtSignIn(link.token).then(() => onSignedIn(link.next), (e: unknown) => setError(refusalText(e)));
  }, []);
  return (
    <main id="content" class="sign-in district-signin">
      <h1>Vigil</h1>
      {error === null
        ? <p aria-live="polite">Signing you in through the district hub…</p>
        : (
          <>
            <p class="error" role="alert">{error}</p>
            <p><a href="#/">Sign in with an account of this appliance instead</a></p>
          </>
        )}
    </main>
  );
}

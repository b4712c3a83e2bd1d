// Signing in through the district hub (issue 17): the hub hands the browser a one-time link
// `<appliance>/#/district-signin?token=vh1...&next=/%23/live/cam`; the appliance checks the token
// itself (POST /api/district/session) and makes an ordinary session that ends with the token. Such a
// session is renewed ~60 s before it ends (POST /api/district/renew: the appliance asks the hub
// for a fresh token with its site certificate; the hub refuses a disabled user).
import { ApiError, api, setCsrfToken } from "./api";

export const DISTRICT_SIGNIN = "district-signin";
export const RENEW_BEFORE_MS = 60_000;
const RETRY_MS = 15_000; // the hub did not answer (503): try again while the session lasts
const EXPIRES_KEY = "vigil.district.expires_at"; // this tab's session end, for reloads

export interface DistrictLink { hub_name: string; hub_url: string; expires_at: string }

/** `next` when it is a path of this appliance's app ("/#/..."), else the start page. Anything that
 * could leave the appliance (another origin, "//host", "javascript:", a path outside the app) is
 * refused: the link is made by the hub, but it passes through the user's hands. */
export function safeNext(next: string | null, origin: string): string {
  const home = "/#/";
  if (!next || !next.startsWith("/#/")) return home;
  try {
    const url = new URL(next, origin);
    if (url.origin !== origin || url.pathname !== "/" || url.search !== "" || !url.hash.startsWith("#/")) return home;
    return `/${url.hash}`;
  } catch {
    return home;
  }
}

// The appliance's 401 detail (services/district.py, core/district.accept_claims) → what to say.
const REASONS: [string[], string][] = [
  [["expired"], "the link has expired"],
  [["already used"], "the link was already used"],
  [["not this appliance", "audience"], "the link was made for another appliance"],
  [["signature", "malformed", "not a hub token"], "the link is damaged or was not made by this appliance's hub"],
  [["not enrolled"], "this appliance is not enrolled in a district"],
  [["disabled"], "your account is disabled on this appliance"],
];

/** What the person should read when the appliance refused the link (the 401 names why). */
export function refusalText(error: unknown): string {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    const why = error.detail.toLowerCase();
    const known = REASONS.find(([words]) => words.some((w) => why.includes(w)));
    const reason = known ? known[1] : error.detail || "the appliance refused it";
    return `This sign-in link cannot be used: ${reason}. Ask the hub for a new link.`;
  }
  if (error instanceof ApiError) return `The appliance could not sign you in (${error.title}). Ask the hub for a new link.`;
  return "The appliance did not answer. Check the connection, then ask the hub for a new link.";
}

/** Trades the hub token for a session at this appliance; remembers when it ends. */
export async function districtSignIn(token: string): Promise<string> {
  const answer = await api<{ csrf_token: string; expires_at: string }>("POST", "/api/district/session", { token });
  setCsrfToken(answer.csrf_token);
  rememberExpiry(answer.expires_at);
  return answer.expires_at;
}

export function rememberExpiry(expiresAt: string): void {
  try { window.sessionStorage.setItem(EXPIRES_KEY, expiresAt); } catch { /* storage off: the page's own copy serves */ }
}

export function rememberedExpiry(): string | null {
  try { return window.sessionStorage.getItem(EXPIRES_KEY); } catch { return null; }
}

export type RenewOutcome = { kind: "renewed"; expiresAt: string } | { kind: "refused" } | { kind: "later" };

/** One renewal: a new end, "refused" (the hub or the appliance said no: the session is over),
 * or "later" (the hub or the network did not answer: the session runs on to its end). */
export async function renewDistrictSession(): Promise<RenewOutcome> {
  try {
    const answer = await api<{ expires_at: string }>("POST", "/api/district/renew");
    rememberExpiry(answer.expires_at);
    return { kind: "renewed", expiresAt: answer.expires_at };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return { kind: "refused" };
    return { kind: "later" };
  }
}

/** When to try renewing a session that ends at `expiresMs` (never in the past; retries spaced). */
export function renewDelayMs(expiresMs: number, nowMs: number, failed: boolean): number {
  if (failed) return Math.max(0, Math.min(RETRY_MS, expiresMs - nowMs - 5_000));
  return Math.max(0, expiresMs - RENEW_BEFORE_MS - nowMs);
}

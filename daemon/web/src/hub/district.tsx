// #/ at the hub: every site of the district the user may see, as a card: its reachability with
// since-when, its health, its buildings (each opens the building's map at the appliance) and its
// cameras ("Live" and "Playback" open at the appliance). Opening asks the hub for a token for that
// site and leaves for the appliance's district-signin page; the hub never carries video.
import { useEffect, useState } from "preact/hooks";
import { ErrorNote, PageTitle, Show, useLoad } from "../components/common";
import type { Route } from "../lib/router";
import { formatSince, parseIso } from "../lib/time";
import { type HubMe, type HubUser, type InventoryItem, type Site, loadSites, openAtSite } from "./api";

const REFRESH_MS = 15_000;

export function reachabilityText(site: Site): string {
  const since = site.since ? ` since ${formatSince(parseIso(site.since))}` : "";
  if (site.reachability === "reachable") return `Reachable${since}`;
  if (site.reachability === "unreachable") return `Unreachable${since}`;
  return "Not heard from yet";
}

function healthText(site: Site): string[] {
  const h = site.health;
  if (!h) return ["No health report yet"];
  const lines: string[] = [];
  if (h.cameras_total !== undefined) lines.push(`Cameras ${h.cameras_up ?? 0}/${h.cameras_total} up`);
  const problem = h.storage?.problem;
  lines.push(problem ? `Storage problem: ${problem}` : "Storage OK");
  return lines;
}

function OpenButton({ site, next, label, describedBy, onError }: {
  site: Site; next: string; label: string; describedBy: string; onError: (e: unknown) => void;
}) {
  const [busy, setBusy] = useState(false);
  const usable = site.removed_at === null && site.url !== null;
  const open = (): void => {
    setBusy(true);
    openAtSite(site.id, next).catch((e: unknown) => { setBusy(false); onError(e); });
  };
  return (
    <button type="button" class="secondary" disabled={!usable || busy} aria-describedby={describedBy} onClick={open}>
      {label}
    </button>
  );
}

/** The buildings of a site the user's scopes name ("<site>/<building>"; a district admin: all):
 * the appliance would refuse the others, so the card offers only these. */
export function buildingsFor(user: HubUser, site: Site): InventoryItem[] {
  const all = site.inventory?.buildings ?? [];
  if (user.role === "district_admin") return all;
  return all.filter((b) => user.scopes.includes(`${site.id}/${b.id}`));
}

function SiteCard({ site, user }: { site: Site; user: HubUser }) {
  const [error, setError] = useState<unknown>(null);
  const inv = site.inventory;
  const buildings = buildingsFor(user, site);
  const cameras: InventoryItem[] = inv?.cameras ?? [];
  const head = `site-${site.id}`;
  const state = site.removed_at !== null ? "removed" : site.reachability;
  const problem = site.health?.storage?.problem;
  const down = site.health && site.health.cameras_total !== undefined
    && (site.health.cameras_up ?? 0) < site.health.cameras_total;
  const bName = (id: string | undefined): string => buildings.find((b) => b.id === id)?.name ?? id ?? "";
  return (
    <li class="card site-card" data-site={site.id} data-state={state} aria-labelledby={head}>
      <div class="card-body">
        <h2 id={head}>{site.name}</h2>
        <p class={`reach reach-${state}`}>
          {site.removed_at !== null ? "Removed from the district" : reachabilityText(site)}
          {site.reachability === "unreachable" && site.reason && <span class="muted"> · {site.reason}</span>}
        </p>
        <ul class="health">
          {healthText(site).map((line) => (
            <li key={line} class={(line.startsWith("Storage problem") && problem) || (line.startsWith("Cameras") && down) ? "error" : undefined}>
              {line}
            </li>
          ))}
        </ul>
        {error !== null && <ErrorNote error={error} />}
        {buildings.length === 0 && (
          <p class="muted">{inv?.buildings?.length ? "None of your buildings is at this site." : "No buildings reported yet."}</p>
        )}
        {buildings.map((b) => {
          const bHead = `${head}-b-${b.id}`;
          const own = cameras.filter((c) => c.building === b.id);
          return (
            <section key={b.id} class="site-building" aria-labelledby={bHead}>
              <h3 id={bHead}>{b.name}</h3>
              <p class="actions">
                <OpenButton site={site} next={`/#/map/${encodeURIComponent(b.id)}`} label="Open map"
                            describedBy={bHead} onError={setError} />
              </p>
              {own.length > 0 && (
                <ul class="site-cameras">
                  {own.map((c) => {
                    const cHead = `${head}-c-${c.id}`;
                    return (
                      <li key={c.id} data-camera={c.id}>
                        <span id={cHead}>{c.name}<span class="visually-hidden"> ({bName(c.building)})</span></span>
                        <span class="actions">
                          <OpenButton site={site} next={`/#/live/${encodeURIComponent(c.id)}`} label="Live"
                                      describedBy={cHead} onError={setError} />
                          <OpenButton site={site} next={`/#/timeline?cameras=${encodeURIComponent(c.id)}`}
                                      label="Playback" describedBy={cHead} onError={setError} />
                        </span>
                      </li>
                    );
                  })}
                </ul>
              )}
            </section>
          );
        })}
      </div>
    </li>
  );
}

export default function DistrictPage({ me }: { me: HubMe; route: Route }) {
  const [sites, reload] = useLoad((signal) => loadSites(signal), []);
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, []);
  return (
    <section class="district">
      <PageTitle>District</PageTitle>
      <p class="muted">Signed in at {me.hub.name} as {me.user.name}. Video opens at each building's appliance.</p>
      <Show loaded={sites}>
        {(list) => list.length === 0
          ? <p>No sites yet{me.user.role === "district_admin" ? ": enrol one with `vigil hub enroll`." : "."}</p>
          : <ul class="cards sites">{list.map((s) => <SiteCard key={s.id} site={s} user={me.user} />)}</ul>}
      </Show>
    </section>
  );
}

// The cameras the caller may see, by building: status, latest picture, and the ways in (live,
// timeline). Also the map's fallback for a building without a plan.
import { PageTitle } from "../components/common";
import { useApp } from "../lib/app_context";
import { href } from "../lib/router";
import { type Camera, can } from "../lib/session";

export function statusText(camera: Camera): string {
  if (camera.status.state === "up") return camera.status.recording ? "recording" : "up, not recording";
  if (camera.status.state === "starting") return "starting";
  return `down${camera.status.reason ? `: ${camera.status.reason}` : ""}`;
}

export function CameraCard({ camera }: { camera: Camera }) {
  const app = useApp();
  const live = can(app.me, "view_live", camera.building);
  const playback = can(app.me, "view_playback", camera.building);
  return (
    <li class="card camera-card" data-camera={camera.id}>
      {live
        ? <img src={`/api/cameras/${encodeURIComponent(camera.id)}/snapshot.jpg`} alt={`Latest picture of ${camera.name}`}
               loading="lazy" width={320} height={180} />
        : <div class="no-picture" aria-hidden="true" />}
      <div class="card-body">
        <h3>{camera.name}</h3>
        <p class={camera.status.state === "down" ? "state error" : "state"}>{statusText(camera)}</p>
        <p class="actions">
          {live && <a class="button" href={href(["live", camera.id])}>Watch live</a>}
          {playback && <a class="button secondary" href={href(["timeline"], { cameras: camera.id })}>Timeline</a>}
        </p>
      </div>
    </li>
  );
}

export default function CamerasPage() {
  const app = useApp();
  // A link naming single cameras sees those cameras but not their buildings' listing.
  const ids = [...new Set([...app.buildings.map((b) => b.id), ...app.cameras.map((c) => c.building)])];
  const name = (id: string): string => app.buildings.find((b) => b.id === id)?.name ?? id;
  return (
    <section>
      <PageTitle>Cameras</PageTitle>
      {app.cameras.length === 0 && <p>No camera is visible to you.</p>}
      {ids.map((id) => (
        <section key={id} aria-labelledby={`b-${id}`}>
          <h2 id={`b-${id}`}>{name(id)}</h2>
          <ul class="cards">
            {app.cameras.filter((c) => c.building === id).map((c) => <CameraCard key={c.id} camera={c} />)}
          </ul>
        </section>
      ))}
    </section>
  );
}

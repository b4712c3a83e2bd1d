// One camera live (#/live/<camera>): the video as large as the screen allows, the stream it plays
// (main or substream, when the camera has one), and the way on to its timeline.
import { useState } from "preact/hooks";
import { PageTitle } from "../components/common";
import { LivePlayer, defaultQuality } from "../components/LivePlayer";
import { useApp } from "../lib/app_context";
import { href } from "../lib/router";
import { can } from "../lib/session";
import type { Quality } from "../lib/whep";
import type { PageProps } from "../routes";

export default function LivePage({ route }: PageProps) {
  const app = useApp();
  const id = route.path[1] ?? "";
  // The appliance lists only the cameras the caller may see: any other is "no such camera" here
  // (and its offer would be refused).
  const camera = app.cameras.find((c) => c.id === id);
  // #/live/<camera>?quality=main|sub asks for a stream; otherwise the screen's size decides.
  const asked = route.params.get("quality");
  const [quality, setQuality] = useState<Quality | null>(asked === "main" || asked === "sub" ? asked : null);
  if (!camera) {
    return (
      <section>
        <PageTitle>Live</PageTitle>
        <p role="alert">There is no camera “{id}” that you may watch. <a href={href([])}>Back to the start</a>.</p>
      </section>
    );
  }
  const building = app.buildings.find((b) => b.id === camera.building)?.name ?? camera.building;
  const playing = quality ?? defaultQuality(camera);
  const now = Date.now();
  return (
    <section class="live-page">
      <PageTitle>{camera.name}</PageTitle>
      <p class="muted">{building} · live · every view is logged</p>
      {can(app.me, "view_live", camera.building)
        ? <LivePlayer key={`${camera.id}-${playing}`} camera={camera} quality={playing} />
        : <p role="alert">You may not watch this camera live.</p>}
      <p class="actions live-actions">
        {camera.has_substream && (
          <button type="button" class="secondary" onClick={() => setQuality(playing === "main" ? "sub" : "main")}>
            {playing === "main" ? "Use the substream (less data)" : "Use the main stream (full picture)"}
          </button>
        )}
        {can(app.me, "view_playback", camera.building) && (
          <a class="button secondary" href={href(["timeline"], { cameras: camera.id, t: now - 60_000 })}>
            Timeline (last minute)
          </a>
        )}
      </p>
    </section>
  );
}

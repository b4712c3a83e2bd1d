// One camera's live video over WebRTC (WHEP), reconnecting by itself; inline, no controls needed.
// It starts muted (autoplay rules, and sound is opt-in); cameras with audio get a "Sound" toggle.
// A 409 on the main stream (e.g. H.265 or B-frames) retries on the substream when one exists.
import type { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { parseHash } from "../lib/router";
import type { Camera } from "../lib/session";
import { type Quality, WhepRefused, WhepSession } from "../lib/whep";

export interface LivePlayerProps {
  camera: Camera;
  quality?: Quality; // default: the substream on small screens when there is one
  compact?: boolean; // a wall tile: smaller caption
}

export function defaultQuality(camera: Camera, tiles = 1): Quality {
  const small = Math.min(window.innerWidth, window.screen.width) < 800;
  return camera.has_substream && (small || tiles >= 4) ? "sub" : "main";
}

export function LivePlayer({ camera, quality, compact = false }: LivePlayerProps) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<{ text: string; failed: boolean }>({ text: "starting", failed: false });
  const [sound, setSound] = useState(false);
  const wanted = quality ?? defaultQuality(camera);

  useEffect(() => {
    let session: WhepSession | null = null;
    let retry: number | undefined;
    let stopped = false;
    // ?relay=1 (in the #route or the address) plays through TURN only: a check of the relay path.
    const relayOnly = parseHash(window.location.hash).params.get("relay") === "1"
      || new URLSearchParams(window.location.search).get("relay") === "1";
    const connect = (q: Quality): void => {
      session?.stop();
      if (stopped) return;
      setState({ text: `connecting (${q})`, failed: false });
      const current = new WhepSession(camera.id, q, {
        onStream: (stream) => {
          if (video.current) video.current.srcObject = stream;
        },
        onState: (text, failed) => {
          setState({ text: text === "connected" ? `live (${q})` : `${text} (${q})`, failed });
          if (text === "failed" || text === "closed") schedule(q, 2000);
        },
      }, relayOnly);
      session = current;
      current.start().catch((error: unknown) => {
        if (stopped) return;
        const message = error instanceof Error ? error.message : String(error);
        setState({ text: message, failed: true });
        if (error instanceof WhepRefused) {
          if (error.status === 409 && q === "main" && camera.has_substream) return schedule("sub", 0);
          if (error.status === 401 || error.status === 403 || error.status === 409) return;
          return schedule(q, error.status === 503 ? 1000 : 5000); // 503: the camera is (re)connecting
        }
        schedule(q, 5000);
      });
    };
    const schedule = (q: Quality, delayMs: number): void => {
      if (retry !== undefined || stopped) return;
      retry = window.setTimeout(() => {
        retry = undefined;
        connect(q);
      }, delayMs);
    };
    connect(wanted);
    const end = (): void => session?.stop();
    window.addEventListener("pagehide", end);
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      window.removeEventListener("pagehide", end);
      session?.stop();
    };
  }, [camera.id, wanted]);

  return (
    <figure class={compact ? "live compact" : "live"}>
      <video ref={video} muted={!sound} autoplay playsInline data-camera={camera.id}
             aria-label={`Live video of ${camera.name}`} />
      <figcaption>
        <span>{camera.name}</span>
        {camera.audio && <SoundToggle on={sound} onToggle={() => setSound(!sound)} video={video} />}
        <span class={state.failed ? "state error" : "state"} role="status">{state.text}</span>
      </figcaption>
    </figure>
  );
}

/** Sound on/off for a camera with audio (a click is the user gesture browsers want for sound). */
function SoundToggle({ on, onToggle, video }: { on: boolean; onToggle: () => void; video: RefObject<HTMLVideoElement> }) {
  const toggle = (): void => {
    onToggle();
    const element = video.current;
    if (!on && element) {
      element.muted = false; // now, inside the click: a later render would be outside the gesture
      void element.play().catch(() => undefined);
    }
  };
  // The name stays "Sound"; aria-pressed (and the inverted look) says whether it is on.
  return (
    <button type="button" class="sound" aria-pressed={on} title={on ? "Sound on: click to mute" : "Muted: click for sound"}
            onClick={toggle}>
      Sound
    </button>
  );
}

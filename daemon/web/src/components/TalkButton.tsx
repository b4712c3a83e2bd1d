// Push-to-talk for a camera with a loudspeaker (`talk: true` in its JSON): hold the button (pointer)
// or hold Space/Enter on it (keyboard) to talk; letting go, leaving the button or the page ends
// it. A press ends by itself after MAX_PRESS_MS (the appliance ends it too: core/talk_session.py).
import { useEffect, useRef, useState } from "preact/hooks";
import type { Camera } from "../lib/session";
import { TalkSession, type TalkState, talkRefusal } from "../lib/talk";

const MAX_PRESS_MS = 120_000;

type Shown = { kind: "idle" | "connecting" | "talking" | "error"; text: string };
const IDLE: Shown = { kind: "idle", text: "" };

export function TalkButton({ camera }: { camera: Camera }) {
  const session = useRef<TalkSession | null>(null);
  const limit = useRef<number | undefined>(undefined);
  const [shown, setShown] = useState<Shown>(IDLE);

  const stop = (): void => {
    window.clearTimeout(limit.current);
    const current = session.current;
    session.current = null;
    if (current === null) return;
    current.stop();
    setShown((s) => (s.kind === "error" ? s : IDLE));
  };
  const start = (): void => {
    if (session.current !== null) return;
    const current = new TalkSession(camera.id, (state: TalkState) => {
      if (session.current !== current) return;
      if (state === "connecting") setShown({ kind: "connecting", text: "Connecting…" });
      if (state === "talking") setShown({ kind: "talking", text: "Talking…" });
      if (state === "ended") {
        setShown({ kind: "error", text: "The connection ended" });
        stop();
      }
    });
    session.current = current;
    setShown({ kind: "connecting", text: "Connecting…" });
    limit.current = window.setTimeout(stop, MAX_PRESS_MS);
    current.start().catch((error: unknown) => {
      current.stop();
      if (session.current !== current) return; // let go already
      session.current = null;
      window.clearTimeout(limit.current);
      setShown({ kind: "error", text: talkRefusal(error) });
    });
  };
  useEffect(() => {
    window.addEventListener("pagehide", stop);
    return () => {
      window.removeEventListener("pagehide", stop);
      stop();
    };
  }, [camera.id]);

  const pressed = shown.kind === "connecting" || shown.kind === "talking";
  const isTalkKey = (event: KeyboardEvent): boolean => event.key === " " || event.key === "Enter";
  return (
    <div class="talk">
      <button type="button" class={pressed ? "talk-button pressed" : "talk-button"} aria-pressed={pressed}
              aria-describedby={`talk-state-${camera.id}`} data-talk={camera.id}
              onPointerDown={(event) => {
                if (event.button !== 0) return;
                event.currentTarget.setPointerCapture(event.pointerId);
                start();
              }}
              onPointerUp={stop} onPointerCancel={stop} onLostPointerCapture={stop} onBlur={stop}
              onContextMenu={(event) => event.preventDefault()}
              onKeyDown={(event) => {
                if (!isTalkKey(event)) return;
                event.preventDefault();
                if (!event.repeat) start();
              }}
              onKeyUp={(event) => {
                if (!isTalkKey(event)) return;
                event.preventDefault();
                stop();
              }}>
        {shown.kind === "talking" ? "Talking… release to stop" : "Hold to talk"}
      </button>
      <span id={`talk-state-${camera.id}`} role="status"
            class={shown.kind === "error" ? "talk-state error" : "talk-state"}>{shown.text}</span>
    </div>
  );
}

// The shell's door-alert banner: flagged door events of the caller's buildings arrive live over
// server-sent events (GET /api/alerts, lib/alert_stream) and stay until acknowledged (one click, audited by the
// appliance as door_event.ack) or hidden. Sound is off until the person turns it on (kept in this
// browser); it is a short tone made by the page itself (no audio file, no request).
import { useEffect, useRef, useState } from "preact/hooks";
import { onAlert, onStreamState } from "../lib/alert_stream";
import { api, describeError } from "../lib/api";
import { href } from "../lib/router";
import { type Door, type Me, can, doorName } from "../lib/session";
import { formatTime, parseIso } from "../lib/time";

/** A flagged door event as the alert stream sends it (doors/alerts.py's door_event_body). */
export interface DoorAlert {
  alert: string;
  id: number;
  kind: string;
  reason: string | null;
  occurred_at: string;
  occurred_wall_ns: number;
  door: string | null;
  access_point: string | null;
  building: string | null;
  cameras: string[];
  flag_reasons: string[];
  severity: string;
  acked_by: string | null;
}

const SOUND_KEY = "vigil-alert-sound";
const KEEP_ALERTS = 20;

function tone(context: AudioContext): void {
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  oscillator.frequency.value = 880;
  gain.gain.setValueAtTime(0.2, context.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.6);
  oscillator.connect(gain).connect(context.destination);
  oscillator.start();
  oscillator.stop(context.currentTime + 0.6);
}

function what(alert: DoorAlert, doors: Door[]): string {
  const kind = alert.kind.replace(/_/g, " ");
  const where = doorName(doors, alert.door) ?? alert.access_point ?? "an unmapped door";
  return `${kind} at ${where}${alert.reason ? ` (${alert.reason})` : ""}`;
}

function AlertItem({ me, alert, doors, onDone }: { me: Me; alert: DoorAlert; doors: Door[];
                                                   onDone: (id: number) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const building = alert.building ?? undefined;
  // An event at no building (an unmapped reader) reaches only district staff, who may ack it.
  const mayAck = can(me, "ack_door_events", building);
  const at = parseIso(alert.occurred_at);
  const ack = (): void => {
    setBusy(true);
    api("POST", `/api/door-events/${alert.id}/ack`).then(() => onDone(alert.id), (e: unknown) => {
      setError(describeError(e));
      setBusy(false);
    });
  };
  return (
    <li class="alert-item" data-door-event={alert.id}>
      <span class="alert-text">
        <strong>Door alert</strong> {formatTime(at)}: {what(alert, doors)}
        {alert.flag_reasons.length > 0 && <span class="alert-why"> · {alert.flag_reasons.join(", ")}</span>}
      </span>
      <span class="alert-actions">
        {alert.cameras.length > 0 && can(me, "view_playback", building) && (
          <a class="button secondary" href={href(["timeline"], { cameras: alert.cameras.join(","), t: at })}>
            Watch the moment
          </a>
        )}
        {mayAck
          ? <button type="button" disabled={busy} onClick={ack}>Acknowledge</button>
          : <button type="button" class="secondary" onClick={() => onDone(alert.id)}>Hide</button>}
      </span>
      {error && <span class="error" role="alert">{error}</span>}
    </li>
  );
}

export function AlertBanner({ me, doors }: { me: Me; doors: Door[] }) {
  const watching = can(me, "view_door_events");
  const [alerts, setAlerts] = useState<DoorAlert[]>([]);
  const [lost, setLost] = useState(0);
  const [stopped, setStopped] = useState(false);
  const [connected, setConnected] = useState(false);
  const [sound, setSound] = useState(() => window.localStorage.getItem(SOUND_KEY) === "on");
  const audio = useRef<AudioContext | null>(null);
  const soundOn = useRef(sound);
  soundOn.current = sound;

  useEffect(() => {
    if (!watching) return;
    const offs = [
      onAlert("door_event_flagged", (event) => {
        const alert = JSON.parse(event.data) as DoorAlert;
        setAlerts((list) => [alert, ...list.filter((a) => a.id !== alert.id)].slice(0, KEEP_ALERTS));
        if (soundOn.current && audio.current) tone(audio.current);
      }),
      onAlert("alerts_lost", (event) => {
        const body = JSON.parse(event.data) as { lost?: number };
        setLost((n) => n + (body.lost ?? 0));
      }),
      onStreamState((state) => {
        setConnected(state === "open");
        setStopped(state === "closed");
      }),
    ];
    return () => { for (const off of offs) off(); };
  }, [watching]);

  if (!watching) return null;
  const toggleSound = (): void => {
    const next = !sound;
    if (next && audio.current === null) audio.current = new AudioContext(); // made on the click: browsers allow it
    window.localStorage.setItem(SOUND_KEY, next ? "on" : "off");
    setSound(next);
  };
  const done = (id: number): void => setAlerts((list) => list.filter((a) => a.id !== id));
  return (
    <section class={alerts.length > 0 ? "alerts active" : "alerts"} aria-label="Door alerts"
             data-connected={connected ? "yes" : "no"}>
      <div class="alerts-bar">
        <span>{alerts.length === 0 ? "No door alerts" : `${alerts.length} door alert${alerts.length > 1 ? "s" : ""}`}
          {stopped && <span class="error"> · live alerts stopped: reload the page</span>}
          {lost > 0 && <span> · {lost} missed while this page was busy (see door events)</span>}
        </span>
        <button type="button" class="link-button" aria-pressed={sound} onClick={toggleSound}>
          {sound ? "Sound on" : "Sound off"}
        </button>
      </div>
      <ul class="alert-list" aria-live="assertive">
        {alerts.map((a) => <AlertItem key={a.id} me={me} alert={a} doors={doors} onDone={done} />)}
      </ul>
    </section>
  );
}

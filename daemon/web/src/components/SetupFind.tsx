// The add-camera wizard's first step: find the camera. WS-Discovery on this network (about 5 s),
// a scan of an address range (other VLANs), or an address typed in; the devices found, marked
// when already configured; local USB cameras, with why one cannot be added.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNote, Loading, useLoad } from "./common";
import { SetupError } from "./SetupError";
import { api } from "../lib/api";
import { type Device, type ProbeTarget, type UsbCamera } from "../lib/camera_setup";

const DISCOVERY_S = 5;

/** A bar that fills over the discovery's listening time (the answer ends it). */
function Searching({ seconds }: { seconds: number }) {
  const [elapsed, setElapsed] = useState(0);
  useEffect(() => {
    const started = Date.now();
    const timer = window.setInterval(() => setElapsed(Math.min(seconds, (Date.now() - started) / 1000)), 250);
    document.getElementById("discovery-progress")?.scrollIntoView({ block: "center" });
    return () => window.clearInterval(timer);
  }, [seconds]);
  return (
    <div class="searching" role="status">
      <label for="discovery-progress">Searching this network for ONVIF cameras (about {seconds} s)…</label>
      <progress id="discovery-progress" max={seconds} value={elapsed} />
    </div>
  );
}

function deviceTitle(d: Device): string {
  const made = [d.manufacturer, d.model].filter(Boolean).join(" ");
  return d.name ? (made && !d.name.includes(made) ? `${d.name} (${made})` : d.name) : made || d.address;
}

function DeviceList({ devices, onChoose }: { devices: Device[]; onChoose: (target: ProbeTarget) => void }) {
  // The answer may be below the fold (phones): its first line gets focus, which brings it into sight.
  const heading = useRef<HTMLParagraphElement>(null);
  useEffect(() => heading.current?.focus(), [devices]);
  return (
    <>
      <p ref={heading} tabIndex={-1} class="found" role="status">
        {devices.length === 0 ? "No camera answered. Try a scan of its addresses, or enter its address."
          : `Found ${devices.length}:`}
      </p>
      {devices.length > 0 && <DeviceItems devices={devices} onChoose={onChoose} />}
    </>
  );
}

function DeviceItems({ devices, onChoose }: { devices: Device[]; onChoose: (target: ProbeTarget) => void }) {
  return (
    <ul class="device-list" aria-label="Cameras found">
      {devices.map((d) => {
        const label = d.configured_camera ? "Connect anyway" : "Connect";
        return (
          <li key={d.xaddr} data-device={d.address}>
            <span class="device-name">{deviceTitle(d)}</span>
            <span class="muted"> · {d.address}</span>
            {d.configured_camera && <span class="badge configured">already configured as {d.configured_camera}</span>}
            <button type="button" class={d.configured_camera ? "secondary" : undefined}
                    aria-label={`${label} to ${deviceTitle(d)}, ${d.address}`} onClick={() => onChoose({ xaddr: d.xaddr })}>
              {label}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function UsbCameras() {
  const [loaded] = useLoad((signal) => api<UsbCamera[]>("GET", "/api/devices/cameras", null, { signal }), []);
  if (loaded.state === "loading") return <Loading what="Looking for USB cameras" />;
  if (loaded.state === "error") return <ErrorNote error={loaded.error} />;
  if (loaded.value.length === 0) return <p class="muted">No USB camera is plugged in.</p>;
  return (
    <ul class="device-list" aria-label="USB cameras">
      {loaded.value.map((u) => (
        <li key={u.device} data-usb={u.device}>
          <span class="device-name">{u.name}</span> <span class="muted">· {u.device}</span>
          {u.addable === false
            ? <span class="why-not"> Cannot be added: {u.why_not ?? "the appliance cannot record it"}</span>
            : <span class="muted"> {u.note ?? ""}</span>}
        </li>
      ))}
    </ul>
  );
}

export function SetupFind({ onChoose, onManual }: {
  onChoose: (target: ProbeTarget) => void; onManual: () => void;
}) {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [busy, setBusy] = useState<"discover" | "scan" | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = (kind: "discover" | "scan", path: string, body: Record<string, unknown>): void => {
    setBusy(kind);
    setError(null);
    api<{ devices: Device[] }>("POST", path, body).then(
      (answer) => { setDevices(answer.devices); setBusy(null); },
      (e: unknown) => { setError(e); setBusy(null); });
  };
  const scan = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const range = (form.elements.namedItem("scan-range") as HTMLInputElement).value.trim();
    const portsText = (form.elements.namedItem("scan-ports") as HTMLInputElement).value;
    const ports = portsText.split(/[\s,]+/).filter(Boolean).map(Number);
    if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
      setError(new Error("Ports are whole numbers from 1 to 65535, separated by commas."));
      return;
    }
    run("scan", "/api/setup/scan", ports.length ? { range, ports } : { range });
  };
  const enter = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const address = (form.elements.namedItem("probe-address") as HTMLInputElement).value.trim();
    if (address) onChoose({ address });
  };
  return (
    <section aria-labelledby="find-title" class="wizard-step">
      <h2 id="find-title" tabIndex={-1}>1. Find the camera</h2>
      <div class="find-ways">
        <div class="panel">
          <h3>Search this network</h3>
          <p class="muted">Asks every ONVIF camera on the appliance's network to answer (WS-Discovery).</p>
          <button type="button" disabled={busy !== null}
                  onClick={() => run("discover", "/api/setup/discover", { timeout_s: DISCOVERY_S })}>
            Search this network
          </button>
        </div>
        <form class="panel" onSubmit={scan} aria-labelledby="scan-title">
          <h3 id="scan-title">Scan addresses</h3>
          <label for="scan-range">Addresses (10.0.0.10-10.0.0.40, 10.0.0.0/28 or one host)</label>
          <input id="scan-range" name="scan-range" required autocomplete="off" spellcheck={false} />
          <label for="scan-ports">Ports</label>
          <input id="scan-ports" name="scan-ports" value="80, 8080, 8000" autocomplete="off" />
          <button type="submit" disabled={busy !== null}>Scan addresses</button>
        </form>
        <form class="panel" onSubmit={enter} aria-labelledby="enter-title">
          <h3 id="enter-title">Enter an address</h3>
          <label for="probe-address">Camera address (host or host:port)</label>
          <input id="probe-address" name="probe-address" required autocomplete="off" spellcheck={false} />
          <button type="submit" disabled={busy !== null}>Next</button>
          <button type="button" class="link-button" onClick={onManual}>
            Not an ONVIF camera? Enter its stream URL yourself
          </button>
        </form>
      </div>
      {busy === "discover" && <Searching seconds={DISCOVERY_S} />}
      {busy === "scan" && <Loading what="Scanning the addresses" />}
      {error !== null && <SetupError error={error} />}
      {devices !== null && busy === null && <DeviceList devices={devices} onChoose={onChoose} />}
      <h3>USB cameras</h3>
      <UsbCameras />
    </section>
  );
}

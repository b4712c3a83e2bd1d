// The add-camera wizard's second step: connect to the camera with its user name and password and
// show what it is and what it sends: device information, clock skew, each profile as advertised and
// as received (codec, resolution, fps, GOP, B-frames) with what that means for live view, a
// snapshot, warnings.
import { useEffect, useState } from "preact/hooks";
import { SetupError } from "./SetupError";
import {
  type ProbeProfile, type ProbeResult, type ProbeTarget, probe, snapshotUrl,
} from "../lib/camera_setup";

/** "10.0.0.12:80": the host a probe asks (a device's service URL shortened to its host). */
function targetText(target: ProbeTarget): string {
  if (target.address) return target.address;
  try {
    return new URL(target.xaddr ?? "").host;
  } catch {
    return target.xaddr ?? "";
  }
}

function fpsText(fps: number | null): string {
  return fps === null ? "" : ` at ${Number.isInteger(fps) ? fps : fps.toFixed(1)} fps`;
}

function ProfileRow({ profile }: { profile: ProbeProfile }) {
  const r = profile.received;
  return (
    <tr data-profile={profile.token}>
      <th scope="row">{profile.name}</th>
      <td data-label="Advertised">{profile.encoding} {profile.width}×{profile.height}{fpsText(profile.fps)}</td>
      <td data-label="Received">
        {r === null ? <span class="muted">not opened</span> : (
          <>
            {r.codec} {r.width}×{r.height}{fpsText(r.fps)}
            {r.gop_frames !== null && <>, GOP {r.gop_frames} frames</>}
            {r.bframes && <>, <strong>B-frames</strong></>}
          </>
        )}
        {profile.problem && <p class="error">{profile.problem}</p>}
      </td>
      <td data-label="Live view">
        <span class={profile.live.ok ? "ok" : "warning-text"}>{profile.live.ok ? "works" : "not in the browser"}</span>
        {profile.live.note && <span class="muted"> · {profile.live.note}</span>}
      </td>
      <td data-label="Stream URL" class="url">{profile.stream_url}</td>
    </tr>
  );
}

function Snapshot({ base64, name }: { base64: string; name: string }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let made: string | null = null;
    try {
      made = snapshotUrl(base64);
      setUrl(made);
    } catch {
      setUrl(null);
    }
    return () => { if (made) URL.revokeObjectURL(made); };
  }, [base64]);
  if (url === null) return <p class="muted">The camera's picture could not be shown.</p>;
  return <img class="probe-snapshot" src={url} alt={`Picture from ${name}`} data-testid="probe-snapshot" />;
}

export function ProbeView({ result }: { result: ProbeResult }) {
  const d = result.device;
  const skew = result.clock.skew_s;
  return (
    <div class="probe-result" data-testid="probe-result">
      <div class="probe-top">
        {result.snapshot_jpeg_base64
          ? <Snapshot base64={result.snapshot_jpeg_base64} name={result.proposal.name} />
          : <p class="muted">The camera sent no picture.</p>}
        <dl class="figures">
          <dt>Made by</dt><dd>{d.manufacturer ?? "unknown"}</dd>
          <dt>Model</dt><dd>{d.model ?? "unknown"}</dd>
          <dt>Firmware</dt><dd>{d.firmware ?? "unknown"}</dd>
          <dt>Serial number</dt><dd>{d.serial ?? "unknown"}</dd>
          {d.hardware && <><dt>Hardware</dt><dd>{d.hardware}</dd></>}
          <dt>Camera clock</dt>
          <dd>{skew === null ? "not reported" : Math.abs(skew) < 1 ? "in time" : `${skew > 0 ? "ahead" : "behind"} by ${Math.abs(skew).toFixed(0)} s`}</dd>
          <dt>Media service</dt><dd>{result.media2 ? "Media2 (H.265 capable)" : "Media (version 1)"}</dd>
          <dt>Talk-back audio</dt><dd>{result.backchannel ? "advertised" : "not advertised"}</dd>
        </dl>
      </div>
      {(result.clock.warning || result.warnings.length > 0) && (
        <ul class="warning-note" aria-label="Warnings">
          {result.clock.warning && <li>{result.clock.warning}</li>}
          {result.warnings.map((w) => <li key={w}>{w}</li>)}
        </ul>
      )}
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Streams">
        <table class="stack-on-phone profiles">
          <caption class="muted">The camera's streams, as it describes them and as the appliance received them.</caption>
          <thead><tr><th scope="col">Profile</th><th scope="col">Advertised</th><th scope="col">Received</th>
            <th scope="col">Live view</th><th scope="col">Stream URL</th></tr></thead>
          <tbody>{result.profiles.map((p) => <ProfileRow key={p.token} profile={p} />)}</tbody>
        </table>
      </div>
    </div>
  );
}

export interface Probed { target: ProbeTarget; result: ProbeResult }

export function SetupProbe({ target, onProbed, onBack }: {
  target: ProbeTarget; onProbed: (probed: Probed) => void; onBack: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [probed, setProbed] = useState<Probed | null>(null);
  const connect = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const username = (form.elements.namedItem("probe-username") as HTMLInputElement).value;
    const password = (form.elements.namedItem("probe-password") as HTMLInputElement).value;
    const asked: ProbeTarget = { ...target, ...(username ? { username } : {}), ...(password ? { password } : {}) };
    setBusy(true);
    setError(null);
    setProbed(null);
    probe(asked).then((result) => { setBusy(false); setProbed({ target: asked, result }); },
                      (e: unknown) => { setBusy(false); setError(e); });
  };
  return (
    <section aria-labelledby="probe-title" class="wizard-step">
      <h2 id="probe-title" tabIndex={-1}>2. Connect to {targetText(target)}</h2>
      <form class="stack" onSubmit={connect} aria-label="Camera sign-in">
        <label for="probe-username">Camera user name</label>
        <input id="probe-username" name="probe-username" autocomplete="off" spellcheck={false} />
        <label for="probe-password">Camera password</label>
        <input id="probe-password" name="probe-password" type="password" autocomplete="new-password" />
        <p class="actions">
          <button type="submit" disabled={busy}>{busy ? "Connecting…" : "Connect"}</button>
          <button type="button" class="secondary" onClick={onBack}>Back</button>
        </p>
      </form>
      {busy && <p class="muted" role="status">Asking the camera what it is and opening its streams…</p>}
      {error !== null && <SetupError error={error} />}
      {probed && (
        <>
          <ProbeView result={probed.result} />
          <p class="actions">
            <button type="button" onClick={() => onProbed(probed)}>Use this camera</button>
          </p>
        </>
      )}
    </section>
  );
}

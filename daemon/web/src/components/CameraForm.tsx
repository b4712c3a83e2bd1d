// A camera's settings form: adding one (prefilled from a probe's proposal) and editing one. The
// appliance validates with `vigil check`'s own checks; a 422's per-field problems are shown next to
// their fields (aria-describedby) and the first invalid field gets focus.
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError, type FieldError, api, describeError } from "../lib/api";
import {
  CONFIG_CAMERAS, INGEST_PATHS, MOTION_MODES, TALK_PATHS, type IngestPath, type MotionMode, type TalkPath, type CameraSetting, type ProbeProfile, type ConfigBuilding, type ReloadResult, cameraPath, suggestId,
} from "../lib/camera_setup";

export interface CameraValues {
  id: string;
  building: string;
  name: string;
  url: string;
  substream_url: string;
  username: string;
  password: string;
  transport: "tcp" | "udp";
  ingest: IngestPath;
  timeout_s: string;
  enabled: boolean;
  motion: MotionMode;
  motion_sensitivity: string;
  record_audio: boolean;
  talk: TalkPath;
  talk_url: string;
}

/** The form's fields in the order they are shown (the first invalid one gets focus). */
const ORDER = ["id", "building", "name", "url", "substream_url", "username", "password", "transport", "ingest", "timeout_s",
               "enabled", "motion", "motion_sensitivity", "record_audio", "talk", "talk_url"] as const;
type FieldName = typeof ORDER[number];

export function valuesOf(camera: CameraSetting): CameraValues {
  return { id: camera.id, building: camera.building, name: camera.name, url: camera.url,
           substream_url: camera.substream_url ?? "", username: camera.username ?? "", password: "",
           transport: camera.transport, ingest: camera.ingest, timeout_s: String(camera.timeout_s), enabled: camera.enabled,
           motion: camera.motion, motion_sensitivity: String(camera.motion_sensitivity),
           record_audio: camera.record_audio, talk: camera.talk, talk_url: camera.talk_url ?? "" };
}

export function emptyValues(building: string): CameraValues {
  return { id: "", building, name: "", url: "", substream_url: "", username: "", password: "", transport: "tcp",
           ingest: "native", timeout_s: "5", enabled: true, motion: "auto", motion_sensitivity: "0.5", record_audio: false, talk: "off",
           talk_url: "" };
}

function nullable(text: string): string | null {
  const t = text.trim();
  return t === "" ? null : t;
}

/** The request body: everything for a new camera; only what changed for an edit. */
function body(values: CameraValues, before: CameraSetting | null, clearPassword: boolean): Record<string, unknown> {
  const all: Record<string, unknown> = {
    id: values.id.trim(), building: values.building, name: values.name.trim(), url: values.url.trim(),
    substream_url: nullable(values.substream_url), username: nullable(values.username), transport: values.transport,
    ingest: values.ingest,
    timeout_s: Number(values.timeout_s), enabled: values.enabled, motion: values.motion,
    motion_sensitivity: Number(values.motion_sensitivity), record_audio: values.record_audio, talk: values.talk,
    talk_url: values.talk === "off" ? null : nullable(values.talk_url),
  };
  if (before === null) {
    if (values.password !== "") all["password"] = values.password;
    return all;
  }
  const changed: Record<string, unknown> = {};
  const old = before as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(all)) if (key !== "id" && old[key] !== value) changed[key] = value;
  if (clearPassword) {
    changed["password"] = null;
    changed["username"] = null;
  } else if (values.password !== "") {
    changed["password"] = values.password;
  }
  return changed;
}

export interface Saved { camera: CameraSetting; applied: ReloadResult }

function profileText(p: ProbeProfile): string {
  const r = p.received;
  const what = r ? `${r.codec} ${r.width}×${r.height}` : `${p.encoding} ${p.width}×${p.height}`;
  return `${p.name} (${what}${r?.bframes ? ", B-frames" : ""}${p.live.ok ? "" : ", no live view"})`;
}

/** The probed camera's profiles as choices for the main stream and the substream; choosing one
 * fills its URL field (which stays editable). */
function ProfileChoice({ prefix, profiles, values, disabled, onPick }: {
  prefix: string; profiles: ProbeProfile[]; values: CameraValues; disabled: boolean;
  onPick: (field: "url" | "substream_url", url: string) => void;
}) {
  const chosen = (url: string): string => profiles.find((p) => p.stream_url === url)?.token ?? (url ? "other" : "");
  const pick = (field: "url" | "substream_url", token: string): void => {
    const profile = profiles.find((p) => p.token === token);
    if (profile) onPick(field, profile.stream_url);
    else if (token === "") onPick(field, "");
  };
  return (
    <fieldset class="profile-choice">
      <legend>The camera's streams</legend>
      <label for={`${prefix}-main-profile`}>Record (main stream)</label>
      <select id={`${prefix}-main-profile`} value={chosen(values.url)} disabled={disabled}
              onChange={(e) => pick("url", e.currentTarget.value)}>
        {profiles.map((p) => <option key={p.token} value={p.token}>{profileText(p)}</option>)}
        {chosen(values.url) === "other" && <option value="other">the URL typed below</option>}
      </select>
      <label for={`${prefix}-sub-profile`}>Live on walls and phones (substream)</label>
      <select id={`${prefix}-sub-profile`} value={chosen(values.substream_url)} disabled={disabled}
              onChange={(e) => pick("substream_url", e.currentTarget.value)}>
        <option value="">none</option>
        {profiles.map((p) => <option key={p.token} value={p.token}>{profileText(p)}</option>)}
        {chosen(values.substream_url) === "other" && <option value="other">the URL typed below</option>}
      </select>
    </fieldset>
  );
}

export function CameraForm({ prefix, initial, before = null, buildings, taken, disabled, label, submitLabel,
                             onSaved, onCancel, children, profiles = [] }: {
  prefix: string; initial: CameraValues; before?: CameraSetting | null; buildings: ConfigBuilding[];
  taken: string[]; disabled: boolean; label: string; submitLabel: string; onSaved: (saved: Saved) => void;
  onCancel?: () => void; children?: ComponentChildren; profiles?: ProbeProfile[];
}) {
  const adding = before === null;
  const [values, setValues] = useState<CameraValues>(initial);
  const [idTouched, setIdTouched] = useState(initial.id !== "");
  const [clearPassword, setClearPassword] = useState(false);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const [focusRound, setFocusRound] = useState(0);

  // A new camera's id follows its building and name until the installer types one.
  const shownId = adding && !idTouched ? suggestId(values.building, values.name, taken) : values.id;

  // Before the browser paints the problems: whoever sees them finds the field focused.
  useLayoutEffect(() => {
    if (focusRound === 0) return;
    const first = ORDER.find((f) => errors.some((e) => e.field === f));
    const target = first ? form.current?.querySelector<HTMLElement>(`#${prefix}-${first}`) : null;
    const more = target?.closest("details");
    if (more) more.open = true;
    (target ?? form.current?.querySelector<HTMLElement>(".form-problems"))?.focus();
  }, [focusRound]);

  const set = <K extends keyof CameraValues>(key: K, value: CameraValues[K]): void =>
    setValues((v) => ({ ...v, [key]: value }));
  const errorOf = (field: FieldName): string | null =>
    errors.filter((e) => e.field === field).map((e) => e.message).join(" ") || null;
  const field = (name: FieldName) => {
    const message = errorOf(name);
    return { id: `${prefix}-${name}`, name, disabled: disabled || busy, "aria-invalid": message ? true : undefined,
             "aria-describedby": message ? `${prefix}-${name}-error` : undefined };
  };
  const problem = (name: FieldName) => {
    const message = errorOf(name);
    return message ? <p id={`${prefix}-${name}-error`} class="field-error">{message}</p> : null;
  };

  const submit = (event: Event): void => {
    event.preventDefault();
    const sent = body({ ...values, id: shownId }, before, clearPassword);
    setBusy(true);
    setErrors([]);
    setFailure(null);
    const answer = adding ? api<Saved>("POST", CONFIG_CAMERAS, sent)
      : api<Saved>("PATCH", cameraPath(before.id), sent);
    answer.then((saved) => { setBusy(false); onSaved(saved); }, (e: unknown) => {
      setBusy(false);
      if (e instanceof ApiError && e.errors.length > 0) setErrors(e.errors);
      setFailure(e);
      setFocusRound((n) => n + 1);
    });
  };
  const known = new Set<string>(ORDER);
  const other = errors.filter((e) => !known.has(e.field));

  return (
    <form ref={form} class="stack camera-form" onSubmit={submit} aria-label={label}>
      {children}
      {adding && (
        <>
          <label for={`${prefix}-id`}>Camera id (lower-case letters, digits, - and _)</label>
          <input {...field("id")} value={shownId} required maxLength={63} autocomplete="off" spellcheck={false}
                 onInput={(e) => { setIdTouched(true); set("id", e.currentTarget.value); }} />
          {problem("id")}
        </>
      )}
      <label for={`${prefix}-building`}>Building</label>
      <select {...field("building")} value={values.building} required
              onChange={(e) => set("building", e.currentTarget.value)}>
        {buildings.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
      </select>
      {problem("building")}
      <label for={`${prefix}-name`}>Name (what people call it)</label>
      <input {...field("name")} value={values.name} required maxLength={100}
             onInput={(e) => set("name", e.currentTarget.value)} />
      {problem("name")}
      {profiles.length > 1 && (
        <ProfileChoice prefix={prefix} profiles={profiles} values={values} disabled={disabled || busy}
                       onPick={(f, url) => set(f, url)} />
      )}
      <label for={`${prefix}-url`}>Main stream URL (rtsp://, without the password)</label>
      <input {...field("url")} value={values.url} required spellcheck={false} autocomplete="off"
             onInput={(e) => set("url", e.currentTarget.value)} />
      {problem("url")}
      <label for={`${prefix}-substream_url`}>Substream URL (optional: for walls and phones)</label>
      <input {...field("substream_url")} value={values.substream_url} spellcheck={false} autocomplete="off"
             onInput={(e) => set("substream_url", e.currentTarget.value)} />
      {problem("substream_url")}
      <label for={`${prefix}-username`}>Camera user name</label>
      <input {...field("username")} value={values.username} autocomplete="off" spellcheck={false}
             disabled={disabled || busy || clearPassword} onInput={(e) => set("username", e.currentTarget.value)} />
      {problem("username")}
      <label for={`${prefix}-password`}>
        {adding ? "Camera password" : `Camera password (${before.password_set ? "set" : "not set"}; leave empty to keep it)`}
      </label>
      <input {...field("password")} type="password" value={values.password} autocomplete="new-password"
             disabled={disabled || busy || clearPassword} onInput={(e) => set("password", e.currentTarget.value)} />
      {problem("password")}
      {!adding && before.password_set && (
        <label class="check">
          <input type="checkbox" checked={clearPassword} disabled={disabled || busy}
                 onChange={(e) => setClearPassword(e.currentTarget.checked)} />
          Clear the user name and password
        </label>
      )}
      <details class="more">
        <summary>More settings</summary>
        <div class="stack-fields">
          <label for={`${prefix}-transport`}>RTSP transport</label>
          <select {...field("transport")} value={values.transport}
                  onChange={(e) => set("transport", e.currentTarget.value === "udp" ? "udp" : "tcp")}>
            <option value="tcp">TCP (recommended)</option>
            <option value="udp">UDP</option>
          </select>
          {problem("transport")}
          <label for={`${prefix}-ingest`}>RTSP client</label>
          <select {...field("ingest")} value={values.ingest} onChange={(e) => {
            const chosen = INGEST_PATHS.find((i) => i.value === e.currentTarget.value);
            if (chosen) set("ingest", chosen.value);
          }}>
            {INGEST_PATHS.map((i) => <option key={i.value} value={i.value}>{i.label}</option>)}
          </select>
          {problem("ingest")}
          <label for={`${prefix}-timeout_s`}>Timeout (seconds)</label>
          <input {...field("timeout_s")} type="number" min={1} max={120} step="any" value={values.timeout_s}
                 onInput={(e) => set("timeout_s", e.currentTarget.value)} />
          {problem("timeout_s")}
          <label for={`${prefix}-motion`}>Motion detection</label>
          <select {...field("motion")} value={values.motion} onChange={(e) => {
            const chosen = MOTION_MODES.find((m) => m.value === e.currentTarget.value);
            if (chosen) set("motion", chosen.value);
          }}>
            {MOTION_MODES.map((m) => <option key={m.value} value={m.value}>{m.label}</option>)}
          </select>
          {problem("motion")}
          <label for={`${prefix}-motion_sensitivity`}>Motion sensitivity (0 to 1; higher finds smaller movement)</label>
          <input {...field("motion_sensitivity")} type="number" min={0} max={1} step={0.05}
                 value={values.motion_sensitivity} disabled={values.motion === "off"}
                 onInput={(e) => set("motion_sensitivity", e.currentTarget.value)} />
          {problem("motion_sensitivity")}
          <label class="check">
            <input {...field("enabled")} type="checkbox" checked={values.enabled}
                   onChange={(e) => set("enabled", e.currentTarget.checked)} />
            Record this camera (enabled)
          </label>
          {problem("enabled")}
          <label class="check">
            <input {...field("record_audio")} type="checkbox" checked={values.record_audio}
                   aria-describedby={[`${prefix}-record_audio-note`, field("record_audio")["aria-describedby"]]
                     .filter(Boolean).join(" ")}
                   onChange={(e) => set("record_audio", e.currentTarget.checked)} />
            Record the camera's sound
          </label>
          <p id={`${prefix}-record_audio-note`} class="muted">
            Recording sound in schools may be regulated (consent, signage): check your district's policy first.
          </p>
          {problem("record_audio")}
          <label for={`${prefix}-talk`}>Talk through the camera's loudspeaker</label>
          <select {...field("talk")} value={values.talk} onChange={(e) => {
            const chosen = TALK_PATHS.find((t) => t.value === e.currentTarget.value);
            if (chosen) set("talk", chosen.value);
          }}>
            {TALK_PATHS.map((t) => <option key={t.value} value={t.value}>{t.label}</option>)}
          </select>
          {problem("talk")}
          <label for={`${prefix}-talk_url`}>
            {values.talk === "vapix" ? "Talk URL (http:// base of the device; default: the camera's host)"
              : "Talk URL (rtsp:// offering the backchannel; default: the camera's own stream)"}
          </label>
          <input {...field("talk_url")} value={values.talk_url} spellcheck={false} autocomplete="off"
                 disabled={disabled || busy || values.talk === "off"}
                 onInput={(e) => set("talk_url", e.currentTarget.value)} />
          {problem("talk_url")}
        </div>
      </details>
      <p class="actions">
        <button type="submit" disabled={disabled || busy}>{busy ? "Saving…" : submitLabel}</button>
        {onCancel && <button type="button" class="secondary" onClick={onCancel}>Cancel</button>}
      </p>
      {failure !== null && (
        <div class="form-problems" role="alert" tabIndex={-1}>
          <p class="error">{errors.length > 0
            ? `The appliance did not save it: ${errors.length === 1 ? "one field needs" : `${errors.length} fields need`} a change.`
            : describeError(failure)}</p>
          {other.length > 0 && <ul class="error">{other.map((e) => <li key={e.field}>{e.field}: {e.message}</li>)}</ul>}
        </div>
      )}
    </form>
  );
}

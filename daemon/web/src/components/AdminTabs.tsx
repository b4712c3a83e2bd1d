// The administration pages' own tabs (users, links, tokens, audit, storage, cameras, update): only
// those the caller may use are shown; the appliance still decides every request.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useApp } from "../lib/app_context";
import { href } from "../lib/router";
import { type Action, can } from "../lib/session";

interface Tab { label: string; page: string; needs: Action }
const TABS: Tab[] = [
  { label: "Users", page: "users", needs: "manage_users" },
  { label: "Responder links", page: "links", needs: "manage_links" },
  { label: "API tokens", page: "tokens", needs: "manage_users" },
  { label: "Audit log", page: "audit", needs: "view_audit" },
  { label: "Storage", page: "storage", needs: "view_status" },
  { label: "Cameras", page: "cameras", needs: "configure_cameras" },
  { label: "Update", page: "update", needs: "update_appliance" },
];

export function AdminTabs({ current }: { current: string }) {
  const { me } = useApp();
  const tabs = TABS.filter((t) => can(me, t.needs));
  return (
    <nav aria-label="Administration" class="admin-tabs">
      <ul>
        {tabs.map((t) => (
          <li key={t.page}>
            <a href={href(["admin", t.page])} aria-current={t.page === current ? "page" : undefined}>{t.label}</a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** What a page shows a caller who may not use it (the server would refuse them anyway). */
export function NotAllowed({ what }: { what: string }) {
  return <p class="muted" data-testid="not-allowed">Your account may not {what}.</p>;
}

/** A button that asks again before it acts (no browser dialog): "Disable" then "Confirm disable". */
export function ConfirmButton({ label, confirmLabel, what, onConfirm, disabled = false }: {
  label: string; confirmLabel: string; what: string; onConfirm: () => void; disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return <button type="button" class="secondary" disabled={disabled} aria-label={`${label} ${what}`}
                   onClick={() => setAsking(true)}>{label}</button>;
  }
  return (
    <span class="confirm">
      <button type="button" class="danger" disabled={disabled} aria-label={`${confirmLabel} ${what}`} autoFocus
              onClick={() => { setAsking(false); onConfirm(); }}>{confirmLabel}</button>
      <button type="button" class="link-button" onClick={() => setAsking(false)}>Cancel</button>
    </span>
  );
}

/** Copies `text` to the clipboard; says whether it could. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** A secret or URL shown once, read-only and selectable, with a copy button. */
export function ShownOnce({ id, label, value, note }: { id: string; label: string; value: string; note: string }) {
  const [copied, setCopied] = useState<string>("");
  return (
    <div class="shown-once" role="status">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} readOnly value={value} onFocus={(e) => (e.currentTarget).select()} />
        <button type="button" onClick={() => {
          copyText(value).then((ok) => setCopied(ok ? "Copied." : "Select the text and copy it."), () => undefined);
        }}>Copy</button>
      </div>
      <p class="muted">{note} <span aria-live="polite">{copied}</span></p>
    </div>
  );
}

/** A table's scrolling box (wide tables scroll sideways on phones): focusable and named, so a
 * keyboard can scroll it. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>{children}</div>;
}

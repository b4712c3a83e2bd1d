// Times as people read them (the appliance's answers are ISO 8601 UTC; pages show local time).

export function parseIso(text: string): number {
  return Date.parse(text);
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function formatDateTime(ms: number): string {
  return new Date(ms).toLocaleString([], {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

/** "in 3 h 20 min", "in 45 s", "ended": how long until `ms`. */
export function formatRemaining(ms: number, nowMs: number = Date.now()): string {
  const s = Math.floor((ms - nowMs) / 1000);
  if (s <= 0) return "ended";
  if (s < 60) return `in ${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `in ${min} min`;
  const h = Math.floor(min / 60);
  return `in ${h} h ${min % 60} min`;
}

/** For the API's time parameters (it takes ISO 8601 or Unix seconds). */
export function toApiTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** The value of an <input type="datetime-local"> for `ms` (local time), and back. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

export function fromLocalInput(text: string): number {
  return new Date(text).getTime();
}

/** "10:42" today, "Dec 2, 10:42" another day: when something began. */
export function formatSince(ms: number, nowMs: number = Date.now()): string {
  const time = new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (new Date(ms).toDateString() === new Date(nowMs).toDateString()) return time;
  return `${new Date(ms).toLocaleDateString([], { month: "short", day: "numeric" })}, ${time}`;
}

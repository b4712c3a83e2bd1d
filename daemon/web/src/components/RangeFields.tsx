// Two labelled local-time inputs for a range (to the second); the values are Unix ms.
import { fromLocalInput, toLocalInput } from "../lib/time";

export interface Range { startMs: number; endMs: number }

export function RangeFields({ id, range, onChange }: { id: string; range: Range; onChange: (r: Range) => void }) {
  const set = (key: keyof Range) => (event: Event): void => {
    const ms = fromLocalInput((event.currentTarget as HTMLInputElement).value);
    if (Number.isFinite(ms)) onChange({ ...range, [key]: ms });
  };
  return (
    <div class="range-fields">
      <span>
        <label for={`${id}-start`}>From</label>
        <input id={`${id}-start`} type="datetime-local" step={1} value={toLocalInput(range.startMs)}
               onChange={set("startMs")} required />
      </span>
      <span>
        <label for={`${id}-end`}>To</label>
        <input id={`${id}-end`} type="datetime-local" step={1} value={toLocalInput(range.endMs)}
               onChange={set("endMs")} required />
      </span>
    </div>
  );
}

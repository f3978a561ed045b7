import { STATUSES } from "../lib/validate.js";

export function StatusSelect({ value, onChange, disabled = false }) {
  return (
    <select
      className={`tx-status-select tx-status-${value}`}
      aria-label="Status"
      value={value}
      disabled={disabled}
      onChange={(event) => onChange(event.target.value)}
    >
      {STATUSES.map((status) => (
        <option key={status} value={status}>
          {status}
        </option>
      ))}
    </select>
  );
}

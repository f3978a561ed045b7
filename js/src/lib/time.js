const pad = (n) => String(n).padStart(2, "0");

/** `HH:MM` in the reader's local time zone for an ISO 8601 timestamp; "" if unparseable. */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A long local date-time for tooltips. */
export function formatFull(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

import { displayName } from "../lib/sanitize.js";

/** A nickname as isolated, escaped text: it cannot reorder or hide its surroundings. */
export function Name({ name, className = "tx-name" }) {
  return <bdi className={className}>{displayName(name)}</bdi>;
}

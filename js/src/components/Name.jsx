import { Fragment } from "react";
import { displayName } from "../lib/sanitize.js";

const BREAK_AFTER_RE = /(?<=[._@])/u;

/**
 * A nickname as isolated, escaped text: it cannot reorder or hide its surroundings. A long
 * name may wrap after '.', '_' and '@' ("maximilian.|schneider") rather than mid-word.
 */
export function Name({ name, className = "tx-name" }) {
  const parts = displayName(name).split(BREAK_AFTER_RE);
  return (
    <bdi className={className}>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {part}
        </Fragment>
      ))}
    </bdi>
  );
}

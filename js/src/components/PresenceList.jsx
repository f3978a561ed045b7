import { displayName } from "../lib/sanitize.js";
import { Name } from "./Name.jsx";

/** Who is in the room: one row per person, with status, connection count and "you". */
export function PresenceList({ people }) {
  return (
    <ul className="tx-presence" aria-label="Who's online">
      {people.map((person) => (
        <li
          key={person.name}
          className={person.self ? "tx-person tx-self" : "tx-person"}
          data-nickname={person.name}
          data-status={person.status}
          data-count={person.count}
          data-activity={person.activity || undefined}
          title={`${displayName(person.name)} · ${person.status}${person.activity ? `: ${displayName(person.activity)}` : ""}${person.count > 1 ? ` · ${person.count} connections` : ""}`}
        >
          <span className={`tx-dot tx-dot-${person.status}`} role="img" aria-label={person.status} />
          <Name name={person.name} />
          {person.count > 1 && <span className="tx-count">×{person.count}</span>}
          {person.activity && (
            <span className="tx-activity">
              <bdi>{displayName(person.activity)}</bdi>
            </span>
          )}
          {person.self && <span className="tx-you">you</span>}
        </li>
      ))}
    </ul>
  );
}

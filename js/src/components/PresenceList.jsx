import { displayName } from "../lib/sanitize.js";
import { Avatar } from "./Avatar.jsx";
import { Name } from "./Name.jsx";

/**
 * Who is in the room: one row per person. The name has a line of its own (never cut to make
 * room); below it, away and busy are said in words as well as colours, with what a busy
 * person is running: "busy · running model.fit".
 */
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
          title={rowTitle(person)}
        >
          <span className="tx-avatar-box">
            <Avatar name={person.name} />
            <span className={`tx-dot tx-dot-${person.status}`} role="img" aria-label={person.status} />
          </span>
          <span className="tx-person-text">
            <span className="tx-person-name">
              <Name name={person.name} />
              {person.count > 1 && <span className="tx-count">×{person.count}</span>}
              {person.self && <span className="tx-you">you</span>}
            </span>
            <StatusLine status={person.status} activity={person.activity} />
          </span>
        </li>
      ))}
    </ul>
  );
}

function StatusLine({ status, activity }) {
  const word = status === "online" ? null : status;
  if (!word && !activity) return null;
  return (
    <span className="tx-person-status">
      {word && <span className={`tx-status-word tx-status-word-${word}`}>{word}</span>}
      {word && activity && " · "}
      {activity && (
        <bdi className="tx-activity">{displayName(activity)}</bdi>
      )}
    </span>
  );
}

function rowTitle(person) {
  const activity = person.activity ? `: ${displayName(person.activity)}` : "";
  const count = person.count > 1 ? ` · ${person.count} connections` : "";
  return `${displayName(person.name)} · ${person.status}${activity}${count}`;
}

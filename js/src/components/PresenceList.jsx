import { shownAs } from "../lib/presence.js";
import { displayName } from "../lib/sanitize.js";
import { Avatar } from "./Avatar.jsx";
import { Name } from "./Name.jsx";

/**
 * Who is in the room: one row per person. The name has a line of its own (never cut to make
 * room); below it, away and busy are said in words as well as colours, with what a busy
 * person is running: "busy · running model.fit".
 *
 * A person a verified identity names is shown as JupyterLab or the hub shows them: their
 * display name (with the key, "@ada", which mentions use) and colour or picture. The row's
 * `data-nickname` is always the key.
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
            <Avatar name={person.name} label={shownAs(person)} colour={person.color} src={person.avatarUrl} />
            <span className={`tx-dot tx-dot-${person.status}`} role="img" aria-label={person.status} />
          </span>
          <span className="tx-person-text">
            <span className="tx-person-name">
              <Name name={shownAs(person)} />
              {person.displayName && <Name name={`@${person.name}`} className="tx-handle" />}
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
  const handle = person.displayName ? ` (@${displayName(person.name)})` : "";
  return `${displayName(shownAs(person))}${handle} · ${person.status}${activity}${count}`;
}

// The standalone page. The server serves one HTML shell at `/` and `/rooms/<room>`:
// `/` shows the join form; `/rooms/<room>` shows the room once a nickname is known
// (localStorage "talkex.nickname"), else the form with the room filled in.
// The shell's <body> tells where the server lives (`data-base`, `/services/talkex/` on a
// JupyterHub) and, when the server knows who you are (`data-user`, the hub user), the name:
// then there is no nickname to choose. `data-hosted-by="notebook"`: a notebook kernel hosts the
// server, so a long outage says the notebook stopped (lib/outage.js) instead of only
// "reconnecting".
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { JoinForm } from "./components/JoinForm.jsx";
import { RoomView } from "./components/RoomView.jsx";
import { ChatSession } from "./lib/session.js";
import { nicknameError, roomError } from "./lib/validate.js";

export const NICKNAME_KEY = "talkex.nickname";
const BASE = document.body.dataset.base || "/";
const SIGNED_IN_AS = document.body.dataset.user || "";
const HOSTED_BY = document.body.dataset.hostedBy || null;

function storedNickname() {
  try {
    return window.localStorage.getItem(NICKNAME_KEY) || "";
  } catch {
    return "";
  }
}

function storeNickname(nickname) {
  try {
    window.localStorage.setItem(NICKNAME_KEY, nickname);
  } catch {
    // storage disabled: the nickname lasts for this page only
  }
}

function roomFromPath(pathname) {
  if (!pathname.startsWith(BASE)) return null;
  const match = /^rooms\/([^/]+)\/?$/.exec(pathname.slice(BASE.length));
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

function roomPath(room) {
  return `${BASE}rooms/${encodeURIComponent(room)}`;
}

/** Socket params beyond the nickname: a `?token=` in the page URL (the cookie covers the rest). */
function extraParams() {
  const token = new URLSearchParams(window.location.search).get("token");
  return token ? { token } : {};
}

function Room({ room, nickname, onChangeNickname }) {
  const [session, setSession] = useState(null);
  useEffect(() => {
    const next = new ChatSession({
      room,
      nickname,
      endPoint: `${BASE}socket`,
      params: extraParams(),
      host: HOSTED_BY,
    });
    next.connect();
    setSession(next);
    return () => next.disconnect();
  }, [room, nickname]);
  if (!session) return null;
  const actions = (
    <>
      {!SIGNED_IN_AS && (
        <button type="button" className="tx-link" onClick={onChangeNickname}>
          Change nickname
        </button>
      )}
      <a className="tx-link" href={BASE}>
        Leave
      </a>
    </>
  );
  return (
    <RoomView
      key={`${room}\n${nickname}`}
      session={session}
      actions={actions}
      pageTitle={`#${room} · Talkex`}
    />
  );
}

function App() {
  const room = roomFromPath(window.location.pathname);
  const [nickname, setNickname] = useState(() => SIGNED_IN_AS || storedNickname());
  const [editing, setEditing] = useState(false);

  useEffect(() => {
    document.title = room ? `#${room} · Talkex` : "Talkex";
  }, [room]);

  const join = (name, target) => {
    if (!SIGNED_IN_AS) storeNickname(name);
    if (target === room) {
      setNickname(name);
      setEditing(false);
    } else {
      window.location.assign(roomPath(target));
    }
  };

  const badRoom = room !== null ? roomError(room) : null;
  if (room === null || editing || badRoom || nicknameError(nickname)) {
    return (
      <JoinForm
        initialNickname={nickname}
        initialRoom={room ?? ""}
        initialError={badRoom}
        signedInAs={SIGNED_IN_AS}
        onJoin={join}
      />
    );
  }
  return <Room room={room} nickname={nickname} onChangeNickname={() => setEditing(true)} />;
}

function mount() {
  const host = document.getElementById("talkex-root") || document.body.appendChild(document.createElement("div"));
  document.body.style.margin = "0";
  const container = document.createElement("div");
  container.className = "talkex talkex-page";
  host.appendChild(container);
  createRoot(container).render(<App />);
}

mount();

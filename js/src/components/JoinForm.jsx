import { useState } from "react";
import { nicknameError, normalizeNickname, roomError } from "../lib/validate.js";
import { Alert } from "./Alert.jsx";

/**
 * Nickname and room, validated with the server's rules before anything is sent.
 * `onJoin(nickname, room)` gets the stripped nickname. With `signedInAs` (a name the server
 * vouches for, as on a JupyterHub) there is no nickname to choose: only the room.
 */
export function JoinForm({
  initialNickname = "",
  initialRoom = "",
  initialError = null,
  signedInAs = "",
  onJoin,
}) {
  const [nickname, setNickname] = useState(signedInAs || initialNickname);
  const [room, setRoom] = useState(initialRoom);
  const [error, setError] = useState(initialError);

  const submit = (event) => {
    event.preventDefault();
    const reason = nicknameError(nickname) || roomError(room.trim());
    setError(reason);
    if (!reason) onJoin(normalizeNickname(nickname), room.trim());
  };

  return (
    <form className="tx-join" onSubmit={submit} noValidate>
      <h1 className="tx-join-title">Talkex</h1>
      {signedInAs ? (
        <p className="tx-signed-in">Signed in as {signedInAs}</p>
      ) : (
        <label className="tx-field">
          <span>Nickname</span>
          <input
            name="nickname"
            value={nickname}
            autoComplete="nickname"
            maxLength={64}
            onChange={(event) => setNickname(event.target.value)}
          />
        </label>
      )}
      <label className="tx-field">
        <span>Room</span>
        <input
          name="room"
          value={room}
          autoComplete="off"
          onChange={(event) => setRoom(event.target.value)}
        />
      </label>
      <Alert>{error}</Alert>
      <button type="submit" className="tx-primary">
        Join
      </button>
    </form>
  );
}

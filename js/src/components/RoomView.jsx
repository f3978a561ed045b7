import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { startAutoAway } from "../lib/autoaway.js";
import { recentAuthors } from "../lib/mentions.js";
import { lastSeenId } from "../lib/messages.js";
import { notifyMention, notifyOptedIn } from "../lib/notify.js";
import { HOST_GONE_MESSAGE } from "../lib/outage.js";
import { unreadCounts, unreadText, unreadTitle } from "../lib/unread.js";
import { onVisibilityChange, pageVisible } from "../lib/visibility.js";
import { typingText } from "../lib/typing.js";
import { Alert } from "./Alert.jsx";
import { Composer } from "./Composer.jsx";
import { ConnectionIndicator } from "./ConnectionIndicator.jsx";
import { MessageList } from "./MessageList.jsx";
import { SharedSource } from "./SharedResult.jsx";
import { Name } from "./Name.jsx";
import { NotifyToggle } from "./NotifyToggle.jsx";
import { PresenceList } from "./PresenceList.jsx";
import { StatusSelect } from "./StatusSelect.jsx";

/** The state of a ChatSession, re-rendering on every change. */
export function useSession(session) {
  return useSyncExternalStore(session.subscribe, session.getSnapshot, session.getSnapshot);
}

/** Whether the page is visible to the reader, re-rendering when that changes. */
function usePageVisible() {
  return useSyncExternalStore(onVisibilityChange, pageVisible, () => true);
}

/**
 * Whether the element in `ref` is on screen: in JupyterLab a notebook in a background tab is
 * hidden while the browser tab stays visible, and nobody reads the widget there.
 */
function useOnScreen(ref) {
  const [onScreen, setOnScreen] = useState(true);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === "undefined") return undefined;
    const observer = new IntersectionObserver((entries) => {
      const last = entries[entries.length - 1];
      if (last) setOnScreen(last.isIntersecting);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return onScreen;
}

/**
 * Unread: counts for the header (and `pageTitle`, the page's title, when given), reading
 * that advances the read position while the page is visible and the reader at the bottom,
 * the "new messages" line reset when the reader looks away, and mention notifications.
 */
function useReading(session, state, pageTitle, roomRef) {
  const pageShown = usePageVisible();
  const onScreen = useOnScreen(roomRef);
  const visible = pageShown && onScreen;
  const [atBottom, setAtBottom] = useState(true);
  const counts = useMemo(
    () => unreadCounts(state.messages, state.readId, state.nickname, state.hasMore),
    [state.messages, state.readId, state.nickname, state.hasMore],
  );
  const latest = lastSeenId(state.messages);
  // Live: the reader was already looking when the message came (not coming back to it).
  const looking = useRef(false);
  useEffect(() => {
    const now = visible && atBottom && state.joined;
    if (now && latest !== null) session.markRead(latest, looking.current);
    looking.current = now;
  }, [session, visible, atBottom, state.joined, latest]);
  useEffect(() => {
    if (!visible) session.leftOff();
  }, [session, visible]);
  useEffect(() => {
    // A reload or a closed tab must not lose what was read in the last interval.
    const away = () => session.flushRead();
    window.addEventListener("pagehide", away);
    return () => window.removeEventListener("pagehide", away);
  }, [session]);
  useEffect(() => {
    if (pageTitle) document.title = unreadTitle(pageTitle, counts);
  });
  const [notify, setNotify] = useState(() => notifyOptedIn());
  const visibleRef = useRef(visible);
  visibleRef.current = visible;
  useEffect(() => {
    if (!notify) return undefined;
    return session.onMention((message) => {
      if (!visibleRef.current) notifyMention(message, state.room);
    });
  }, [session, notify, state.room]);
  return { counts, onAtBottom: useCallback((value) => setAtBottom(value), []), setNotify };
}

function composerHint(state) {
  if (state.connection !== "connected") return "Disconnected: you can write again once reconnected";
  if (state.joinError) return "Not in the room";
  return "Joining the room…";
}

/**
 * One room: header (room, online count, connection, status), messages, who is online, and
 * the message box. `onStatusChange` defaults to the session's; the widget also syncs its model.
 * `actions` is extra header content (the page's "Change nickname" and "Leave").
 * Ten minutes without activity in the page show the person as away (lib/autoaway.js).
 */
export function RoomView({ session, onStatusChange, actions = null, pageTitle = null }) {
  const state = useSession(session);
  const roomRef = useRef(null);
  const reading = useReading(session, state, pageTitle, roomRef);
  const people = useMemo(
    () => ({
      present: state.presence.map((person) => person.name),
      authors: recentAuthors(state.messages),
      self: state.nickname,
    }),
    [state.presence, state.messages, state.nickname],
  );
  const ready = state.connection === "connected" && state.joined;
  // Once in the room, the box stays open through a reconnect: what is written meanwhile waits
  // as "sending" and the session pushes it after the rejoin (same client_id: stored once).
  // Closing it would also drop the focus and the text of someone typing when the link blips.
  const [wasReady, setWasReady] = useState(false);
  if (ready && !wasReady) setWasReady(true);
  const canWrite = ready || (wasReady && !state.joinError);
  const changeStatus = onStatusChange || ((status) => session.setStatus(status));
  useEffect(() => startAutoAway(session, window), [session]);
  return (
    <div ref={roomRef} className="tx-room" data-room={state.room} data-joined={state.joined ? "true" : "false"}>
      <header className="tx-header">
        <h2 className="tx-title">
          <span className="tx-hash">#</span>
          <bdi>{state.room}</bdi>
        </h2>
        <span className="tx-online-count">{state.presence.length} online</span>
        {reading.counts.unread > 0 && (
          <span
            className={`tx-unread${reading.counts.mentions ? " tx-unread-mentions" : ""}`}
            data-unread={reading.counts.unread}
            data-mentions={reading.counts.mentions}
          >
            {unreadText(reading.counts)}
          </span>
        )}
        <span className="tx-spacer" />
        <ConnectionIndicator state={state.connection} />
        <span className="tx-me" title="Your nickname">
          <Name name={state.nickname} />
        </span>
        <StatusSelect value={state.status} onChange={changeStatus} />
        <NotifyToggle onChange={reading.setNotify} />
        {actions}
      </header>
      {state.hostGone && (
        // A state, not an error: phoenix keeps retrying and the banner goes when the socket opens.
        <div role="status" className="tx-host-gone">
          {HOST_GONE_MESSAGE}
        </div>
      )}
      {state.joinError && <Alert>{state.joinError}</Alert>}
      {state.error && <Alert onDismiss={() => session.dismissError()}>{state.error}</Alert>}
      <div className="tx-main">
        <SharedSource.Provider value={session}>
        <MessageList
          messages={state.messages}
          pending={state.pending}
          nickname={state.nickname}
          hasMore={state.hasMore}
          loadingOlder={state.loadingOlder}
          canLoadOlder={ready}
          onLoadOlder={() => session.loadOlder()}
          onRetry={(clientId) => session.retry(clientId)}
          onDiscard={(clientId) => session.discard(clientId)}
          changes={{
            moderator: state.moderator,
            onEdit: (id, text) => session.editMessage(id, text),
            onDelete: (id) => session.deleteMessage(id),
            onReact: (id, emoji) => session.react(id, emoji),
          }}
          markerId={state.markerId}
          onAtBottom={reading.onAtBottom}
        />
        </SharedSource.Provider>
        <aside className="tx-side">
          <PresenceList people={state.presence} />
        </aside>
      </div>
      <div className="tx-typing" aria-live="polite">
        {typingText(state.typing)}
      </div>
      <Composer
        enabled={canWrite}
        onTyping={() => session.typed()}
        people={people}
        hint={composerHint(state)}
        maxBody={state.maxBody}
        onSend={(text) => session.send(text)}
      />
    </div>
  );
}

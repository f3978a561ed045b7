// One reader in one room: a phoenix Socket, its room Channel and Presence, and the state the
// view renders. No React here; views subscribe (useSyncExternalStore) and call the methods.
//
// No-loss rules:
// - every sent message has a client_id and stays pending (shown as "sending") until an ok reply;
//   it is pushed again, with the same client_id, after every (re)join and after a push timeout.
//   The server deduplicates by client_id, so a message whose reply was lost is not stored twice.
//   The outbox (lib/outbox.js) keeps these messages and their pushes.
// - a broadcast or history message carrying our client_id settles the pending message;
//   messages are deduplicated by id.
// - every (re)join sends `last_seen_id`, the highest id the server confirmed, and merges the
//   messages the reply carries (a reply with `reset: true` replaces the list: we were too far
//   behind for the server to replay).
// - edits, deletes and reactions (lib/changes.js): `msg_changed` replaces a message by id; a
//   rejoin also sends `last_seen_seq`, so changes missed while away come back once each.
//
// Host: a server hosted by a notebook kernel (`host: "notebook"`) may stop with it; after
// HOST_GONE_AFTER_MS without a connection `state.hostGone` turns true, and back to false as
// soon as the socket opens again (lib/outage.js). phoenix.js retries all along.
//
// Limits: the join reply's `limits.max_body` is the message length checked before sending
// (state.maxBody), so the browser follows the server's --max-body instead of a copy of it.
import { Presence, Socket } from "phoenix";
import { SeqTracker, applyChanges } from "./changes.js";
import {
  lastSeenId,
  mergeMessages,
  oldestId,
  settlePending,
} from "./messages.js";
import { buildPresenceList, presenceEntries } from "./presence.js";
import { isMention } from "./mentions.js";
import { Outbox } from "./outbox.js";
import { HOST_GONE_AFTER_MS, NOTEBOOK_HOST, OutageWatch } from "./outage.js";
import { reasonOf } from "./replies.js";
import { TypingTracker, shouldSendTyping } from "./typing.js";
import { ReadThrottle, firstMarker } from "./unread.js";
import { pageVisible } from "./visibility.js";
import {
  DEFAULT_MAX_BODY,
  bodyError,
  isStatus,
  maxBodyFrom,
  normalizeNickname,
  pyStrip,
} from "./validate.js";

export const HISTORY_PAGE = 50;

/** @typedef {"connecting" | "connected" | "reconnecting"} ConnectionState */

export class ChatSession {
  /**
   * @param {object} options
   * @param {string} options.room
   * @param {string} options.nickname
   * @param {string} [options.endPoint] phoenix endpoint, "/socket" or "ws://host:port/socket"
   * @param {object} [options.params] extra socket params (token)
   * @param {string} [options.status] initial status
   * @param {object} [options.socketOptions] passed to phoenix's Socket (transport, timeouts...)
   * @param {string|null} [options.host] "notebook" when a notebook kernel hosts the server
   * @param {number} [options.hostGoneAfterMs] how long a lost connection waits to say so
   */
  constructor({
    room,
    nickname,
    endPoint = "/socket",
    params = {},
    status = "online",
    socketOptions = {},
    host = null,
    hostGoneAfterMs = HOST_GONE_AFTER_MS,
  }) {
    this.room = room;
    this.nickname = normalizeNickname(nickname);
    this.endPoint = endPoint;
    this.params = { ...params, nickname: this.nickname };
    this.socketOptions = socketOptions;
    this.listeners = new Set();
    this.socket = null;
    this.channel = null;
    this.presence = null;
    this.everOpened = false;
    this.destroyed = false;
    this.sentLastSeen = null;
    this.outbox = new Outbox(this); // our messages not confirmed yet (state.pending)
    this.seqs = new SeqTracker(); // the room's seq up to which we hold every change
    this.typingSentAt = null;
    this.mentionListeners = new Set(); // called with each new message that mentions us
    this.reads = new ReadThrottle((id) => {
      if (!this.state.joined || !this.channel) return;
      this.channel.push("read", { id }).receive("ok", (reply) => this.readUpTo(reply && reply.read_id));
    });
    this.typists = new TypingTracker(this.nickname, (typing) => this.update({ typing }));
    this.outage =
      host === NOTEBOOK_HOST ? new OutageWatch((hostGone) => this.update({ hostGone }), hostGoneAfterMs) : null;
    this.state = {
      room,
      nickname: this.nickname,
      connection: "connecting",
      joined: false,
      joinError: null,
      error: null,
      messages: [],
      pending: [],
      hasMore: false,
      loadingOlder: false,
      presence: [],
      status: isStatus(status) ? status : "online",
      maxBody: DEFAULT_MAX_BODY, // until a join reply tells the server's
      typing: [], // who else is typing now (lib/typing.js)
      readId: null, // the last message we read, as the server keeps it (null: not joined yet)
      markerId: null, // where we left off: the "new messages" line goes after it
      moderator: false, // the server lets us delete anyone's message (hub moderators)
      hostGone: false, // the notebook hosting the server has been unreachable for a while
    };
    this.subscribe = this.subscribe.bind(this);
    this.getSnapshot = this.getSnapshot.bind(this);
  }

  // -- store ------------------------------------------------------------------------------

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getSnapshot() {
    return this.state;
  }

  update(patch) {
    if (this.destroyed) return;
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener(this.state);
  }

  // -- lifecycle --------------------------------------------------------------------------

  connect() {
    if (this.socket) return;
    const socket = new Socket(this.endPoint, { ...this.socketOptions, params: this.params });
    this.socket = socket;
    socket.onOpen(() => {
      this.everOpened = true;
      this.update({ connection: "connected" });
      this.outage?.back();
    });
    const lost = () => {
      this.outage?.lost();
      this.typists.clear();
      this.update({
        connection: this.everOpened ? "reconnecting" : "connecting",
        joined: false,
        loadingOlder: false,
      });
    };
    socket.onError(lost);
    socket.onClose(lost);

    // The params closure runs for every join phoenix sends, the automatic rejoins included.
    const channel = socket.channel(`room:${this.room}`, () => this.joinParams());
    this.channel = channel;
    channel.onError(() => this.update({ joined: false, loadingOlder: false }));
    channel.on("new_msg", (message) => {
      if (message && typeof message.author === "string") this.typists.stopped(message.author);
      this.receiveMessages([message]);
      this.seqs.saw(message && message.seq);
      if (isMention(message, this.nickname)) for (const listener of this.mentionListeners) listener(message);
    });
    channel.on("msg_changed", (message) => this.changed(message));
    channel.on("typing", (event) => this.typists.typing(event && event.names));
    channel.on("read", (event) => this.readUpTo(event && event.read_id));

    const presence = new Presence(channel);
    this.presence = presence;
    presence.onSync(() => {
      this.update({ presence: buildPresenceList(presenceEntries(presence), this.nickname) });
    });

    channel
      .join()
      .receive("ok", (reply) => this.joined(reply || {}))
      .receive("error", (reply) => {
        this.update({ joined: false, joinError: reasonOf(reply, "could not join the room") });
      });
    this.outage?.lost(); // until the first open: a host already gone shows too
    socket.connect();
  }

  /** Leave the room and close the socket; the session is unusable afterwards. */
  disconnect() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.listeners.clear();
    this.typists.stop();
    this.reads.stop();
    this.outage?.stop();
    const { socket, channel } = this;
    if (channel) channel.leave();
    if (socket) socket.disconnect();
  }

  joinParams() {
    const params = {};
    const seen = lastSeenId(this.state.messages);
    this.sentLastSeen = seen;
    if (seen !== null) params.last_seen_id = seen;
    if (seen !== null && this.seqs.value !== null) params.last_seen_seq = this.seqs.value;
    // The server tracks a joiner as online unless told otherwise: a rejoin keeps the status.
    if (this.state.status !== "online") params.status = this.state.status;
    return params;
  }

  joined(reply) {
    const incoming = Array.isArray(reply.messages) ? reply.messages : [];
    const fresh = this.sentLastSeen === null || reply.reset === true;
    const messages = fresh
      ? mergeMessages([], incoming)
      : applyChanges(this.state.messages, incoming);
    this.seqs.joined(reply.seq);
    const pending = settlePending(this.state.pending, incoming, this.nickname);
    this.readUpTo(reply.read_id);
    // The line marks where we left off when we came; it stays put while we read on.
    if (this.state.markerId === null && this.state.readId !== null) {
      this.update({ markerId: firstMarker(this.state.readId, messages, pageVisible()) });
    }
    this.update({
      joined: true,
      joinError: null,
      messages,
      pending,
      hasMore: fresh ? reply.has_more === true : this.state.hasMore,
      maxBody: maxBodyFrom(reply, this.state.maxBody),
      moderator: reply.moderator === true,
    });
    this.outbox.resend();
  }

  // -- messages ---------------------------------------------------------------------------

  receiveMessages(incoming) {
    this.update({
      messages: mergeMessages(this.state.messages, incoming),
      pending: settlePending(this.state.pending, incoming, this.nickname),
    });
  }

  /** A message's new state (a `msg_changed` broadcast, or the reply to our own change). */
  changed(message) {
    if (!message || !Number.isInteger(message.id)) return;
    this.seqs.saw(message.seq);
    this.update({ messages: applyChanges(this.state.messages, [message]) });
  }

  /** Edit our message `id`; null when sent, else why not (empty, too long). */
  editMessage(id, text) {
    const reason = bodyError(text, this.state.maxBody);
    if (reason) return reason;
    this.pushChange("edit_msg", { id, body: pyStrip(text) }, "could not edit the message");
    return null;
  }

  deleteMessage(id) {
    this.pushChange("delete_msg", { id }, "could not delete the message");
  }

  react(id, emoji) {
    this.pushChange("react", { id, emoji }, "could not react");
  }

  pushChange(event, payload, fallback) {
    if (!this.channel || !this.state.joined) {
      this.update({ error: "not connected; try again when the chat is back" });
      return;
    }
    this.channel
      .push(event, payload)
      .receive("ok", (reply) => this.changed(reply))
      .receive("error", (reply) => this.update({ error: reasonOf(reply, fallback) }))
      .receive("timeout", () => this.update({ error: `${fallback}: no answer, try again` }));
  }

  /**
   * Queue `text` for sending (lib/outbox.js). Returns null when accepted, or the reason it
   * was not (empty, longer than the server's limit).
   */
  send(text) {
    const reason = this.outbox.send(text);
    // The message ends our typing for the others: the next key says so.
    if (reason === null) this.typingSentAt = null;
    return reason;
  }

  /** Send a failed message again (same client_id). */
  retry(clientId) {
    this.outbox.retry(clientId);
  }

  /** Drop a failed message. */
  discard(clientId) {
    this.outbox.discard(clientId);
  }

  /** Fetch the page of messages before the oldest one shown. */
  loadOlder() {
    const { joined, loadingOlder, hasMore, messages } = this.state;
    const before = oldestId(messages);
    if (!joined || loadingOlder || !hasMore || before === null || !this.channel) return;
    this.update({ loadingOlder: true });
    this.channel
      .push("history", { before_id: before, limit: HISTORY_PAGE })
      .receive("ok", (reply) => {
        const older = Array.isArray(reply?.messages) ? reply.messages : [];
        this.update({
          loadingOlder: false,
          hasMore: reply?.has_more === true,
          messages: mergeMessages(this.state.messages, older),
          pending: settlePending(this.state.pending, older, this.nickname),
        });
      })
      .receive("error", (reply) => {
        this.update({ loadingOlder: false, error: reasonOf(reply, "could not load older messages") });
      })
      .receive("timeout", () => this.update({ loadingOlder: false }));
  }

  /** We typed in the box: tell the room, at most once per TYPING_SEND_INTERVAL. */
  typed() {
    const now = Date.now();
    if (!this.state.joined || !this.channel || !shouldSendTyping(this.typingSentAt, now)) return;
    this.typingSentAt = now;
    this.channel.push("typing", {});
  }

  // -- read positions -------------------------------------------------------------------

  /** The server says we read up to `id` (join reply, another device, our own push). */
  readUpTo(id) {
    if (!Number.isInteger(id) || (this.state.readId !== null && id <= this.state.readId)) return;
    this.update({ readId: id });
  }

  /**
   * We have seen everything up to message `id`: move our read position there (forward only).
   * `live`: it arrived while we were looking, so when no line is showing none appears.
   */
  markRead(id, live = false) {
    const { joined, readId, markerId } = this.state;
    if (!joined || !this.channel || !Number.isInteger(id) || (readId !== null && id <= readId)) return;
    this.readUpTo(id); // at once: the counts clear without waiting for the reply
    if (live && markerId === readId) this.update({ markerId: id });
    this.reads.mark(id); // at most one push per READ_PUSH_INTERVAL
  }

  /** Send a read position still waiting for its interval now (the page is going away). */
  flushRead() {
    this.reads.flush();
  }

  /** We look away: the next "new messages" line goes after what we have read so far. */
  leftOff() {
    this.reads.flush();
    if (this.state.readId !== null) this.update({ markerId: this.state.readId });
  }

  /** `listener(message)` for each new message that mentions us; returns the unsubscribe. */
  onMention(listener) {
    this.mentionListeners.add(listener);
    return () => this.mentionListeners.delete(listener);
  }

  // -- status -----------------------------------------------------------------------------

  /** Change our status; pushed now when joined, and sent with every later rejoin. */
  setStatus(status) {
    if (!isStatus(status) || status === this.state.status) return;
    this.update({ status });
    if (this.state.joined && this.channel) {
      this.channel.push("new_status", { status }).receive("error", (reply) => {
        this.update({ error: reasonOf(reply, "could not change the status") });
      });
    }
  }

  dismissError() {
    this.update({ error: null });
  }
}

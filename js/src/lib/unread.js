// Unread counts and the "new messages" line, from the read position the server keeps per
// person and room (join reply `read_id`, `read {read_id}` events, our own `read` pushes).
import { isMention } from "./mentions.js";

/**
 * `{unread, mentions, more}` among `messages` after `readId`: others' messages only (what we
 * wrote ourselves we have read). `readId` null (not known yet) counts nothing. `more`: unread
 * messages older than the loaded ones exist (`hasMore` and a gap after `readId`), so the
 * counts are a floor ("50+").
 */
export function unreadCounts(messages, readId, nickname, hasMore = false) {
  let unread = 0;
  let mentions = 0;
  if (readId === null || readId === undefined) return { unread, mentions, more: false };
  const more = hasMore && messages.length > 0 && messages[0].id > readId + 1;
  for (const message of messages) {
    if (message.provisional || message.id <= readId || message.author === nickname) continue;
    unread += 1;
    if (isMention(message, nickname)) mentions += 1;
  }
  return { unread, mentions, more };
}

/**
 * Where the "new messages" line starts when a view first joins: after `readId`; but someone
 * who has never read the room (`readId` 0) and sees it now gets no line above the whole
 * history: all of it is read at once. Hidden, they get the line (and the counts).
 */
export function firstMarker(readId, messages, visible) {
  if (readId !== 0 || !visible) return readId;
  let latest = 0;
  for (const message of messages) if (!message.provisional && message.id > latest) latest = message.id;
  return latest;
}

/** The id of the first message the line goes above: the first of others' after `markerId`. */
export function firstUnreadId(messages, markerId, nickname) {
  if (markerId === null || markerId === undefined) return null;
  for (const message of messages) {
    if (message.id > markerId && message.author !== nickname && !message.provisional) return message.id;
  }
  return null;
}

/** "3 unread · 1 mention" ("50+ unread" past the loaded page), or "" when all is read. */
export function unreadText({ unread, mentions, more = false }) {
  if (!unread) return "";
  const named = mentions ? ` · ${mentions}${more ? "+" : ""} mention${mentions === 1 ? "" : "s"}` : "";
  return `${unread}${more ? "+" : ""} unread${named}`;
}

/** The page title: "(3) #lobby · Talkex", "(3 · @1) #lobby · Talkex" with mentions. */
export function unreadTitle(base, { unread, mentions, more = false }) {
  if (!unread) return base;
  const count = `${unread}${more ? "+" : ""}`;
  return mentions ? `(${count} · @${mentions}${more ? "+" : ""}) ${base}` : `(${count}) ${base}`;
}

/** Milliseconds between two `read` pushes of one view: a busy room costs a write per window. */
export const READ_PUSH_INTERVAL = 2000;

/**
 * Our read position goes to the server at most once per READ_PUSH_INTERVAL: the first mark
 * at once, the latest of those that follow when the interval ends. `send(id)` pushes it.
 * `clock` and `timers` are injectable for tests.
 */
export class ReadThrottle {
  constructor(send, { clock = () => Date.now(), timers = globalThis } = {}) {
    this.send = send;
    this.clock = clock;
    this.timers = timers;
    this.latest = null; // the highest id marked
    this.sent = null; // the highest id pushed
    this.sentAt = null;
    this.timer = null;
  }

  mark(id) {
    if (this.latest === null || id > this.latest) this.latest = id;
    if (this.timer !== null) return;
    const wait = this.sentAt === null ? 0 : READ_PUSH_INTERVAL - (this.clock() - this.sentAt);
    if (wait <= 0) this.flush();
    else this.timer = this.timers.setTimeout(() => this.flush(), wait);
  }

  /** Push the latest mark now if it was not pushed yet (also before its interval ends). */
  flush() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (this.latest === null || (this.sent !== null && this.latest <= this.sent)) return;
    this.sent = this.latest;
    this.sentAt = this.clock();
    this.send(this.latest);
  }

  stop() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

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

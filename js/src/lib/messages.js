// Pure functions over the message list the room view shows.
//
// A message is the server's `new_msg` payload: {id, body, author, sent_at, client_id?}.
// A message we added ourselves from an ok reply, before its broadcast arrived, carries
// `provisional: true` and gives way to the server's copy.
// A pending message is one we sent without an ok reply yet:
// {client_id, body, author, sent_at, state: "sending" | "failed", error}.

/**
 * `existing` and `incoming` merged, deduplicated by id and sorted by id. A copy with a lower
 * `seq` than the one held is older and stays out: a `new_msg` queued behind a join reply
 * that already held the message's later edit must not bring back the text before it.
 */
export function mergeMessages(existing, incoming) {
  if (!incoming || incoming.length === 0) return existing;
  const byId = new Map();
  for (const message of existing) byId.set(message.id, message);
  let changed = false;
  for (const message of incoming) {
    if (!message || !Number.isInteger(message.id)) continue;
    const current = byId.get(message.id);
    if (current && (message.provisional || current === message)) continue;
    if (current && !current.provisional && (current.seq || 0) > (message.seq || 0)) continue;
    byId.set(message.id, message);
    changed = true;
  }
  if (!changed) return existing;
  return Array.from(byId.values()).sort((a, b) => a.id - b.id);
}

/** The highest id the server has confirmed to us, for `last_seen_id` (null when none). */
export function lastSeenId(messages) {
  let max = null;
  for (const message of messages) {
    if (!message.provisional && (max === null || message.id > max)) max = message.id;
  }
  return max;
}

/** The lowest id shown, for the `history` push's `before_id` (null when none). */
export function oldestId(messages) {
  let min = null;
  for (const message of messages) {
    if (min === null || message.id < min) min = message.id;
  }
  return min;
}

/**
 * Pending messages that `messages` does not settle yet. A message settles a pending one when
 * it carries the same client_id and comes from us (another author reusing our id does not).
 */
export function settlePending(pending, messages, ownNickname) {
  if (pending.length === 0 || !messages || messages.length === 0) return pending;
  const settled = new Set();
  for (const message of messages) {
    if (message && message.client_id && message.author === ownNickname) settled.add(message.client_id);
  }
  if (settled.size === 0) return pending;
  const left = pending.filter((item) => !settled.has(item.client_id));
  return left.length === pending.length ? pending : left;
}

/**
 * A key that stays the same while a message of ours goes from pending to confirmed, so the
 * view keeps its row (and its scroll position logic) instead of replacing it.
 */
export function itemKey(item, ownNickname) {
  if (item.client_id && (item.state || item.author === ownNickname)) return `c:${item.client_id}`;
  return `m:${item.id}`;
}

/** The items to show: confirmed messages by id, then pending ones in the order they were sent. */
export function displayItems(messages, pending) {
  return pending.length ? messages.concat(pending) : messages;
}

const GROUP_GAP_MS = 5 * 60 * 1000;

/**
 * Consecutive items of one author within `gapMs` of each other, as
 * [{key, author, own, items: [...]}]; own = written by `ownNickname`.
 */
export function groupMessages(items, ownNickname, gapMs = GROUP_GAP_MS) {
  const groups = [];
  let group = null;
  let lastTime = null;
  for (const item of items) {
    const time = Date.parse(item.sent_at);
    const gap = Number.isNaN(time) || lastTime === null || Number.isNaN(lastTime) ? 0 : time - lastTime;
    if (!group || group.author !== item.author || gap > gapMs) {
      group = {
        key: itemKey(item, ownNickname),
        author: item.author,
        own: item.author === ownNickname,
        items: [],
      };
      groups.push(group);
    }
    group.items.push(item);
    lastTime = time;
  }
  return groups;
}

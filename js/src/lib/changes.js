// Edits, deletes and reactions, as pure functions over the message list, and the room's `seq`.
//
// The server gives every new message and every change the room's next `seq` and broadcasts
// each once (`new_msg`, `msg_changed` with the message's whole new state). A rejoin sends
// `last_seen_seq` and gets every message new or changed since, each once, in seq order.

/** The reactions the server accepts, in the order the bar shows them (core/changes.py). */
export const REACTIONS = ["👍", "✅", "🎉", "👀", "❤️", "😄"];

/**
 * `messages` with each of `incoming` applied by id: a held message takes the newer state (by
 * seq), a message not held is added unless it is older than every one held (a change to a
 * message never loaded: scrolling back loads it as it is now). Sorted by id.
 */
export function applyChanges(messages, incoming) {
  if (!incoming || incoming.length === 0) return messages;
  const byId = new Map(messages.map((message) => [message.id, message]));
  const oldest = messages.length ? Math.min(...messages.map((message) => message.id)) : null;
  let changed = false;
  for (const message of incoming) {
    if (!message || !Number.isInteger(message.id)) continue;
    const held = byId.get(message.id);
    if (held) {
      if (held === message || (!held.provisional && (held.seq || 0) > (message.seq || 0))) continue;
    } else if (oldest !== null && message.id < oldest) {
      continue;
    }
    byId.set(message.id, message);
    changed = true;
  }
  if (!changed) return messages;
  return Array.from(byId.values()).sort((a, b) => a.id - b.id);
}

/**
 * The highest seq up to which every broadcast arrived. Contiguous on purpose: each seq is
 * broadcast once, so one that arrives early waits for the gap before it; a gap a crash left
 * (a broadcast never sent) is asked for again by the next rejoin's `last_seen_seq`.
 */
export class SeqTracker {
  constructor() {
    this.value = null;
    this.ahead = new Set();
  }

  /** A join reply's `seq`: everything up to it is in the reply. */
  joined(seq) {
    if (!Number.isInteger(seq)) return;
    this.value = seq;
    for (const s of this.ahead) if (s <= seq) this.ahead.delete(s);
    this.advance();
  }

  /** A broadcast's (or a push reply's) seq. */
  saw(seq) {
    if (this.value === null || !Number.isInteger(seq) || seq <= this.value) return;
    this.ahead.add(seq);
    this.advance();
  }

  advance() {
    while (this.ahead.has(this.value + 1)) {
      this.value += 1;
      this.ahead.delete(this.value);
    }
  }
}

/** [{emoji, count, names, mine}] for a message's reaction bar, in the fixed order. */
export function reactionSummary(message, nickname) {
  const reactions = (message && message.reactions) || {};
  return REACTIONS.filter((emoji) => Array.isArray(reactions[emoji]) && reactions[emoji].length).map(
    (emoji) => ({
      emoji,
      count: reactions[emoji].length,
      names: reactions[emoji],
      mine: reactions[emoji].includes(nickname),
    }),
  );
}

/** Whether the reader may edit (own text messages) or delete (own, or anyone's as moderator). */
export function mayChange(message, nickname, moderator = false) {
  if (!message || message.deleted_at || message.provisional || !Number.isInteger(message.id)) {
    return { edit: false, delete: false };
  }
  const own = message.author === nickname;
  return { edit: own && !message.kind, delete: own || moderator };
}

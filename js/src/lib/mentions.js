// Mentions: who a message names with "@", and the "@" autocomplete of the message box.
// Pure functions; the Composer and the message list call them.

/** Characters that may follow a mention: anything that cannot continue a name. */
const NAME_CHAR = /[\p{L}\p{N}_.\-]/u;

/** Whether `body` mentions `nickname` as "@nickname" (case-insensitive, whole name). */
export function mentionsName(body, nickname) {
  if (typeof body !== "string" || !nickname) return false;
  const text = body.toLowerCase();
  const needle = `@${nickname.toLowerCase()}`;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
    const before = at === 0 ? "" : text[at - 1];
    const after = text.slice(at + needle.length, at + needle.length + 2);
    const next = after.length ? String.fromCodePoint(after.codePointAt(0)) : "";
    // "a@ann" is an address, not a mention; "@anna" names someone else. A final "." or "-"
    // ends a sentence ("thanks @ann.") rather than continuing the name.
    const continues = next && NAME_CHAR.test(next) && !(/[.\-]/.test(next) && !NAME_CHAR.test(after[1] || " "));
    if (!(before && NAME_CHAR.test(before)) && !continues) return true;
  }
  return false;
}

/** A message that mentions `nickname` and was written by someone else. */
export function isMention(message, nickname) {
  return Boolean(message) && message.author !== nickname && mentionsName(message.body, nickname);
}

/**
 * The "@query" being typed just before `caret`, or null: `{start, query}` where `start` is
 * the index of the "@". The "@" must start the text or follow a space or bracket.
 */
export function mentionQuery(text, caret) {
  const upto = text.slice(0, caret);
  const at = upto.lastIndexOf("@");
  if (at === -1) return null;
  if (at > 0 && !/[\s([{"']/.test(upto[at - 1])) return null;
  const query = upto.slice(at + 1);
  if (query.length > 40 || /[\n@]/.test(query) || /\s\s/.test(query)) return null;
  return { start: at, query };
}

/**
 * People to offer for `query`: those in the room first, then recent authors (newest first),
 * each once, ourselves left out; names starting with the query before those containing it.
 */
export function mentionCandidates({ present = [], authors = [], query = "", self = "", limit = 8 }) {
  const seen = new Set([self]);
  const names = [];
  for (const name of [...present, ...authors]) {
    if (typeof name === "string" && name && !seen.has(name)) {
      seen.add(name);
      names.push(name);
    }
  }
  const q = query.toLowerCase();
  const starts = names.filter((n) => n.toLowerCase().startsWith(q));
  const contains = names.filter((n) => !n.toLowerCase().startsWith(q) && n.toLowerCase().includes(q));
  return [...starts, ...contains].slice(0, limit);
}

/** Recent authors of `messages`, newest first. */
export function recentAuthors(messages, limit = 50) {
  const authors = [];
  for (let i = messages.length - 1; i >= 0 && authors.length < limit; i -= 1) {
    const author = messages[i] && messages[i].author;
    if (typeof author === "string" && !authors.includes(author)) authors.push(author);
  }
  return authors;
}

/** `text` with the "@query" at `start`..`caret` replaced by "@name "; and the new caret. */
export function applyMention(text, start, caret, name) {
  const inserted = `@${name} `;
  const rest = text.slice(caret).replace(/^ /, "");
  return { text: text.slice(0, start) + inserted + rest, caret: start + inserted.length };
}

// Room, nickname and body rules, mirroring talkex_widget/core/rooms.py (the server is
// authoritative; these give early, friendly errors with the same wording).

export const ROOM_MAX = 64;
export const NICKNAME_MAX = 32;

/**
 * The longest message, in code points, until the server says otherwise. The server tells its
 * own limit (`talkex serve --max-body`) in every join reply (`limits.max_body`); this default
 * only covers the time before the first reply, and servers too old to say.
 */
export const DEFAULT_MAX_BODY = 4000;
export const STATUSES = ["online", "away", "busy"];

const ROOM_RE = /^[A-Za-z0-9_.-]+$/;

// Python's str.strip() whitespace (str.isspace), which differs from String.prototype.trim:
// it also strips U+001C..U+001F and U+0085, and keeps U+FEFF (a format character).
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

// Python's str.isprintable(): everything in the Unicode categories "Other" (C*) and
// "Separator" (Z*) is non-printable, except the ASCII space.
export const NONPRINTABLE_RE = /[\p{C}\p{Z}]/u;
const NONPRINTABLE_GLOBAL_RE = /[\p{C}\p{Z}]/gu;

/** Strip like Python's `str.strip()`, so the client and the server agree on a body or name. */
export function pyStrip(text) {
  return String(text).replace(PY_STRIP_RE, "");
}

/** Length in code points, as Python's `len()` counts. */
export function codePointLength(text) {
  let n = 0;
  for (const _ of String(text)) n += 1;
  return n;
}

function hasNonPrintable(text) {
  for (const match of text.matchAll(NONPRINTABLE_GLOBAL_RE)) {
    if (match[0] !== " ") return true;
  }
  return false;
}

/** The reason a room name is refused, or null when it is valid. */
export function roomError(name) {
  if (typeof name !== "string" || name === "") return "room name must not be empty";
  if (codePointLength(name) > ROOM_MAX) return `room name must be at most ${ROOM_MAX} characters`;
  if (!ROOM_RE.test(name)) return "room name may only use letters, digits, '-', '_' and '.'";
  return null;
}

/** The nickname as the server will see it (stripped). */
export function normalizeNickname(raw) {
  return typeof raw === "string" ? pyStrip(raw) : "";
}

/** The reason a nickname is refused, or null when it is valid (after stripping). */
export function nicknameError(raw) {
  if (typeof raw !== "string") return "nickname is required";
  const name = pyStrip(raw);
  if (!name) return "nickname must not be empty";
  if (codePointLength(name) > NICKNAME_MAX) return `nickname must be at most ${NICKNAME_MAX} characters`;
  if (hasNonPrintable(name)) return "nickname may not contain control or invisible formatting characters";
  return null;
}

/**
 * The message length limit a join reply announces (`limits.max_body`), or `current` when the
 * reply says nothing usable: the last limit told stays in force, not the default.
 */
export function maxBodyFrom(reply, current) {
  const value = reply?.limits?.max_body;
  return Number.isInteger(value) && value > 0 ? value : current;
}

/** The reason a message body would be refused under the server's `maxBody`, or null. */
export function bodyError(raw, maxBody) {
  const body = pyStrip(raw ?? "");
  if (!body) return "message is empty";
  const n = codePointLength(body);
  if (n > maxBody) return `message is too long (${n} characters, limit ${maxBody})`;
  return null;
}

export function isStatus(value) {
  return STATUSES.includes(value);
}

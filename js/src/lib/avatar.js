// Initials avatars: a person's initials on a colour picked from their name, the same in every
// view and on every visit (a hash, not a random pick), so a face is recognised at a glance.

/** How many avatar colours the stylesheet defines (.tx-avatar-0 … .tx-avatar-11). */
export const AVATAR_COLOURS = 12;

const WORD_START_RE = /[\p{L}\p{N}]/u;

/** "ann lee" -> "AL", "bob" -> "B", "data_team" -> "DT", "42" -> "4"; "?" when nothing fits. */
export function initials(name) {
  const words = String(name ?? "")
    .split(/[\s._\-@]+/u)
    .map((word) => Array.from(word).find((ch) => WORD_START_RE.test(ch)))
    .filter(Boolean);
  if (words.length === 0) return "?";
  return words
    .slice(0, 2)
    .map((ch) => ch.toLocaleUpperCase())
    .join("");
}

/** The colour index (0 … AVATAR_COLOURS - 1) of `name`: FNV-1a over its UTF-16 code units. */
export function avatarColour(name) {
  const text = String(name ?? "");
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % AVATAR_COLOURS;
}

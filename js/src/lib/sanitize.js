// Names are shown as text inside <bdi>; on top of that, every invisible or control character
// (bidi overrides, zero-width joiners, NBSP...) is shown as a visible escape so one person
// cannot pass for another. The server already refuses such names: this is defence in depth.

const INVISIBLE_RE = /[\p{C}\p{Z}]/gu;

function escapeChar(ch) {
  return `\\u{${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}}`;
}

/** `name` with every non-printable character (Python's sense) replaced by a `\u{XXXX}` escape. */
export function displayName(name) {
  return String(name ?? "").replace(INVISIBLE_RE, (ch) => (ch === " " ? ch : escapeChar(ch)));
}

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

// How a verified person is shown (the server checked it: talkex_widget/core/profiles.py, whose
// rules these mirror; a view checks again what it puts in the page). A colour is one of
// JupyterLab's seven collaborator colours or a hex colour, nothing else; an avatar is an
// https:// image or one on the page's own origin.

/** The colours a profile may hold (core/profiles.py COLOUR_RE). */
export const PROFILE_COLOUR_RE = /^(?:#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}|var\(--jp-collaborator-color[1-7]\))$/;
/** JupyterLab's colours for users without one of their own (its UserManager picks one). */
export const JUPYTER_COLOUR_RE = /^var\(--jp-collaborator-color[1-7]\)$/;
const AVATAR_UNSAFE_RE = /[\s"'`<>\\()\u0000-\u001f\u007f]/u;

/** `value` if it is a colour a profile may hold, else null. */
export function profileColour(value) {
  return typeof value === "string" && PROFILE_COLOUR_RE.test(value) ? value : null;
}

/**
 * The avatar's CSS background for a profile colour. JupyterLab's colours are CSS variables
 * that exist only inside JupyterLab: elsewhere (the standalone page) the name's own palette
 * colour (`--tx-avatar-bg`, from its `.tx-avatar-N` class) stands in.
 */
export function avatarBackground(colour) {
  const checked = profileColour(colour);
  if (!checked) return null;
  return checked.startsWith("var(") ? `${checked.slice(0, -1)}, var(--tx-avatar-bg))` : checked;
}

/** `url` if an avatar may be loaded from it (https, or a path on the page's origin), else null. */
export function avatarSource(url) {
  if (typeof url !== "string" || !url || url.length > 512 || AVATAR_UNSAFE_RE.test(url)) return null;
  if (url.startsWith("/")) return url.startsWith("//") ? null : url;
  // The host right after "https://", as the server reads it: the URL parser would skip extra
  // slashes ("https:///host" is https://host/ to it) and keep what the server drops.
  if (!/^https:\/\/[^/\\]/i.test(url)) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && parsed.hostname && !parsed.username && !parsed.password ? url : null;
  } catch {
    return null;
  }
}

/** [r, g, b] (0-255) of a computed CSS colour ("rgb(1, 2, 3)", "rgba(...)") or a hex colour. */
export function parseColour(text) {
  const value = String(text ?? "").trim();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value);
  if (hex) {
    const digits = hex[1].length === 3 ? [...hex[1]].map((d) => d + d) : hex[1].match(/../g);
    return digits.map((pair) => parseInt(pair, 16));
  }
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(value);
  return rgb ? rgb.slice(1, 4).map(Number) : null;
}

function luminance([r, g, b]) {
  const channel = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** The WCAG contrast ratio of two [r, g, b] colours (1 to 21). */
export function contrast(a, b) {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

/**
 * The initials' colour on `background` (as the browser computed it): black or white, whichever
 * reads better. JupyterLab's collaborator colours are pastels in its light theme and deep in its
 * dark one, so no one ink fits both. Null when the background cannot be read.
 */
export function inkFor(background) {
  const rgb = parseColour(background);
  if (!rgb) return null;
  return contrast(rgb, [0, 0, 0]) >= contrast(rgb, [255, 255, 255]) ? "#000000" : "#ffffff";
}

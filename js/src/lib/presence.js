// The presence list shown to the reader, built from Phoenix presence state.
import { avatarSource, profileColour } from "./avatar.js";
import { isStatus } from "./validate.js";

/** Longest display name shown (core/profiles.py MAX_DISPLAY_NAME); longer ones are ignored. */
export const MAX_DISPLAY_NAME = 64;

/** The `kind` a notebook kernel's own link declares in its meta: not a tab of the person. */
export const KERNEL_KIND = "kernel";

// Which of a person's connections speaks for them: a busy one (a running cell, often the
// kernel's link) says the most, then any online one (one tab in use means they are here),
// then away. Ties go to the latest meta.
const PRESENCE_RANK = { busy: 3, online: 2, away: 1 };

/**
 * One row per person from `presence.list((name, {metas}) => ({name, metas}))`:
 * [{name, displayName, color, avatarUrl, status, activity, count, self, onlineAt}], sorted
 * case-insensitively by the name shown.
 *
 * `name` is the presence key (who the person is: mentions, "you"); `displayName`, `color` and
 * `avatarUrl` say how to show them, from a meta the server filled from a verified identity (a
 * viewer token from the Jupyter extension, the hub). Each is taken from the latest meta that
 * has a valid one (a kernel's link has none); null when none has.
 *
 * `count` is the number of browser views and pages: a kernel's own link (meta `kind:
 * "kernel"`) is the same person through a notebook already shown, so it adds no "×N". The
 * status is the most present meta's (busy, then online, then away), the latest on a tie:
 * Phoenix's syncDiff appends joined metas (an update is a leave plus a join), so a later meta
 * is a more recent change.
 */
export function buildPresenceList(entries, selfName) {
  const rows = [];
  for (const entry of entries || []) {
    const metas = ((entry && entry.metas) || []).filter(Boolean);
    if (metas.length === 0) continue;
    const shown = mostPresent(metas);
    const firstOnline = metas
      .map((meta) => meta.online_at)
      .filter(Boolean)
      .sort()[0];
    const displayName = latest(metas, (meta) => shownName(meta.display_name, entry.name));
    rows.push({
      name: entry.name,
      displayName,
      color: latest(metas, (meta) => profileColour(meta.color)),
      avatarUrl: latest(metas, (meta) => avatarSource(meta.avatar_url)),
      status: statusOf(shown),
      // What a busy person is running ("fit model"), from the same meta.
      activity: typeof shown.activity === "string" && shown.activity ? shown.activity : null,
      count: metas.filter((meta) => meta.kind !== KERNEL_KIND).length,
      self: entry.name === selfName,
      onlineAt: firstOnline || null,
    });
  }
  return rows.sort(compareNames);
}

function latest(metas, pick) {
  for (let i = metas.length - 1; i >= 0; i -= 1) {
    const value = pick(metas[i]);
    if (value) return value;
  }
  return null;
}

function shownName(value, key) {
  if (typeof value !== "string") return null;
  const name = value.trim();
  return name && name.length <= MAX_DISPLAY_NAME && name !== key ? name : null;
}

/** The name a row shows: the display name when there is one, else the key. */
export function shownAs(person) {
  return person.displayName || person.name;
}

function statusOf(meta) {
  return isStatus(meta.status) ? meta.status : "online";
}

function mostPresent(metas) {
  let best = metas[0];
  for (const meta of metas) {
    if (PRESENCE_RANK[statusOf(meta)] >= PRESENCE_RANK[statusOf(best)]) best = meta;
  }
  return best;
}

function compareNames(a, b) {
  const x = shownAs(a).toLowerCase();
  const y = shownAs(b).toLowerCase();
  if (x !== y) return x < y ? -1 : 1;
  if (a.name === b.name) return 0;
  return a.name < b.name ? -1 : 1;
}

/** `[{name, metas}]` from a phoenix `Presence` (or anything with its `list(chooser)`). */
export function presenceEntries(presence) {
  return presence.list((name, { metas }) => ({ name, metas }));
}

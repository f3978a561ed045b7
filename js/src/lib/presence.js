// The presence list shown to the reader, built from Phoenix presence state.
import { isStatus } from "./validate.js";

/**
 * One row per person from `presence.list((name, {metas}) => ({name, metas}))`:
 * [{name, status, activity, count, self, onlineAt}], sorted case-insensitively.
 *
 * `count` is the number of connections (metas). The status is the one of the meta that
 * changed last: Phoenix's syncDiff appends joined metas (and an update is a leave plus a
 * join), so the last meta is the most recent.
 */
export function buildPresenceList(entries, selfName) {
  const rows = [];
  for (const entry of entries || []) {
    const metas = (entry && entry.metas) || [];
    if (metas.length === 0) continue;
    const latest = metas[metas.length - 1] || {};
    const firstOnline = metas
      .map((meta) => meta && meta.online_at)
      .filter(Boolean)
      .sort()[0];
    rows.push({
      name: entry.name,
      status: isStatus(latest.status) ? latest.status : "online",
      // What a busy person is running ("fit model"), from the same latest meta.
      activity: typeof latest.activity === "string" && latest.activity ? latest.activity : null,
      count: metas.length,
      self: entry.name === selfName,
      onlineAt: firstOnline || null,
    });
  }
  return rows.sort(compareNames);
}

function compareNames(a, b) {
  const x = a.name.toLowerCase();
  const y = b.name.toLowerCase();
  if (x !== y) return x < y ? -1 : 1;
  if (a.name === b.name) return 0;
  return a.name < b.name ? -1 : 1;
}

/** `[{name, metas}]` from a phoenix `Presence` (or anything with its `list(chooser)`). */
export function presenceEntries(presence) {
  return presence.list((name, { metas }) => ({ name, metas }));
}

// Whether the reader can see the page: reading (and so the read position) only advances
// while it is visible, and mention notifications only show while it is hidden.

/** `document.visibilityState !== "hidden"`, for useSyncExternalStore. */
export function pageVisible(doc = globalThis.document) {
  return !doc || doc.visibilityState !== "hidden";
}

/** Subscribe `listener` to visibility changes; returns the unsubscribe. */
export function onVisibilityChange(listener, doc = globalThis.document) {
  if (!doc) return () => {};
  doc.addEventListener("visibilitychange", listener);
  return () => doc.removeEventListener("visibilitychange", listener);
}

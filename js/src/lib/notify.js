// Desktop notifications for mentions, only after the reader opted in (a toggle in the
// header), only while the chat is out of sight (the page hidden, or the widget's notebook in a
// background tab), one per mention: never a toast per message.

const OPT_IN_KEY = "talkex:notify-mentions";

/** Whether this browser can show desktop notifications at all. */
export function canNotify(win = globalThis) {
  return typeof win.Notification === "function";
}

/** The reader's stored choice (off unless they turned it on and permission was granted). */
export function notifyOptedIn(win = globalThis) {
  try {
    return canNotify(win) && win.Notification.permission === "granted" && win.localStorage.getItem(OPT_IN_KEY) === "1";
  } catch {
    return false; // storage refused (private mode, sandboxed frame)
  }
}

/** Turn mention notifications on (asking the browser's permission) or off; returns the state. */
export async function setNotifyOptIn(on, win = globalThis) {
  let granted = false;
  if (on && canNotify(win)) {
    const permission = win.Notification.permission === "granted" ? "granted" : await win.Notification.requestPermission();
    granted = permission === "granted";
  }
  try {
    win.localStorage.setItem(OPT_IN_KEY, granted ? "1" : "0");
  } catch {
    // the choice lasts for this page only
  }
  return granted;
}

/** Show one notification for a message mentioning us (the caller knows we cannot see it). */
export function notifyMention(message, room, win = globalThis) {
  if (!canNotify(win) || win.Notification.permission !== "granted") return null;
  const body = String(message.body || "").slice(0, 140);
  return new win.Notification(`${message.author} mentioned you in #${room}`, { body, tag: `talkex-${room}-${message.id}` });
}

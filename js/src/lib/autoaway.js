// Auto-away: a page or widget nobody has touched for a while shows its person as away, and
// the next touch brings them back. Only "online" is ever changed: a status the person chose
// (away, busy) stays, and an away they chose is never lifted by a mouse move.

export const AWAY_AFTER_MS = 10 * 60 * 1000;

/**
 * Activity anywhere in the page counts (typing in a notebook cell is being here, not only
 * using the chat). Focus and a tab shown again count too.
 */
const ACTIVITY_EVENTS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "focus"];

/**
 * The idle clock of one view. `getStatus()` reads the current status and `setStatus(s)`
 * changes it; `activity()` is called on every sign of the person, `sync()` whenever the
 * status changed from elsewhere. Timers and `Date.now` come from the globals (fake in tests).
 */
export class AutoAway {
  constructor({ getStatus, setStatus, afterMs = AWAY_AFTER_MS }) {
    this.getStatus = getStatus;
    this.setStatus = setStatus;
    this.afterMs = afterMs;
    this.lastActivity = Date.now();
    this.idle = false;
    this.wentAway = false; // whether the current "away" is ours
    this.timer = null;
    this.schedule(afterMs);
  }

  activity() {
    this.lastActivity = Date.now();
    this.idle = false;
    if (this.wentAway) {
      this.wentAway = false;
      if (this.getStatus() === "away") this.setStatus("online");
    }
    if (this.timer === null) this.schedule(this.afterMs);
  }

  /** Go away when idle and online: on the idle deadline, and when "online" comes back later. */
  sync() {
    const status = this.getStatus();
    if (this.wentAway && status !== "away") this.wentAway = false; // changed by someone else
    if (this.idle && status === "online") {
      this.wentAway = true;
      this.setStatus("away");
    }
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  schedule(delay) {
    this.timer = setTimeout(() => this.check(), delay);
  }

  /** One timer per idle period: activity only moves `lastActivity`, the timer catches up. */
  check() {
    this.timer = null;
    const left = this.lastActivity + this.afterMs - Date.now();
    if (left > 0) {
      this.schedule(left);
      return;
    }
    this.idle = true;
    this.sync();
  }
}

/**
 * Auto-away for `session` (a ChatSession), watching `target` (the window) for activity.
 * Returns the function that stops it.
 */
export function startAutoAway(session, target) {
  const auto = new AutoAway({
    getStatus: () => session.getSnapshot().status,
    setStatus: (status) => session.setStatus(status),
  });
  const onActivity = () => auto.activity();
  const onVisible = () => {
    if (target.document.visibilityState === "visible") auto.activity();
  };
  const options = { capture: true, passive: true };
  for (const name of ACTIVITY_EVENTS) target.addEventListener(name, onActivity, options);
  target.document.addEventListener("visibilitychange", onVisible);
  const unsubscribe = session.subscribe(() => auto.sync());
  return () => {
    auto.stop();
    unsubscribe();
    for (const name of ACTIVITY_EVENTS) target.removeEventListener(name, onActivity, options);
    target.document.removeEventListener("visibilitychange", onVisible);
  };
}

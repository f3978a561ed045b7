// "ann is typing…": who is typing in the room, from the server's ephemeral `typing {names}`
// events. Nothing tells us someone stopped: a name goes TYPING_TTL after its last event, or
// as soon as their message arrives, so a lost event never leaves a name stuck.

/** Milliseconds a name is shown after its last typing event (server: TYPING_TTL). */
export const TYPING_TTL = 6000;
/** Milliseconds between two typing pushes of ours (server: TYPING_INTERVAL drops extras). */
export const TYPING_SEND_INTERVAL = 3000;

/** The line shown under the messages, or "" when nobody types. */
export function typingText(names) {
  if (!names || names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others are typing…`;
}

/**
 * The typists of one room, each until TYPING_TTL after their last event. `onChange(names)`
 * gets the sorted names (ourselves left out) whenever the list changes, expiries included.
 * `clock` and `timers` are injectable for tests.
 */
export class TypingTracker {
  constructor(selfName, onChange, { clock = () => Date.now(), timers = globalThis } = {}) {
    this.selfName = selfName;
    this.onChange = onChange;
    this.clock = clock;
    this.timers = timers;
    this.until = new Map(); // name -> when it expires (ms)
    this.timer = null;
    this.shown = [];
  }

  /** A `typing {names}` event arrived. */
  typing(names) {
    if (!Array.isArray(names)) return;
    const expires = this.clock() + TYPING_TTL;
    for (const name of names) {
      if (typeof name === "string" && name !== this.selfName) this.until.set(name, expires);
    }
    this.refresh();
  }

  /** `name` posted: their typing is over. */
  stopped(name) {
    if (this.until.delete(name)) this.refresh();
  }

  /** Forget everyone (a disconnect: we would not hear them stop). */
  clear() {
    this.until.clear();
    this.refresh();
  }

  refresh() {
    const now = this.clock();
    for (const [name, expires] of this.until) if (expires <= now) this.until.delete(name);
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (this.until.size > 0) {
      const next = Math.min(...this.until.values());
      this.timer = this.timers.setTimeout(() => this.refresh(), Math.max(0, next - now) + 5);
    }
    const names = [...this.until.keys()].sort((a, b) => a.localeCompare(b));
    if (names.join("\n") !== this.shown.join("\n")) {
      this.shown = names;
      this.onChange(names);
    }
  }

  stop() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Whether to push `typing` now, given when we last did (ms, null: never). */
export function shouldSendTyping(lastSent, now) {
  return lastSent === null || now - lastSent >= TYPING_SEND_INTERVAL;
}

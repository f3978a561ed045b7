// A server hosted by a notebook kernel (the embedded server) stops with that kernel; another
// kernel of the same user takes over on the same port, or the view gets a new config. Until
// then phoenix.js keeps retrying, and a view that only said "reconnecting" would spin forever:
// after HOST_GONE_AFTER_MS without a connection the view says plainly that the notebook
// stopped, and the message goes as soon as the socket opens again. A `talkex serve` or hub
// server gives no host, and its views keep the generic "reconnecting".

/** How long the connection stays lost before a notebook-hosted chat says its host stopped. */
export const HOST_GONE_AFTER_MS = 10_000;

/** The words for it; the same text as talkex_widget/notebook/takeover.py GONE_MESSAGE. */
export const HOST_GONE_MESSAGE =
  "the notebook hosting this chat has stopped; it will resume when a notebook opens it";

/** Hosts whose going away the view explains (the kernel's config `host`, the page's `data-hosted-by`). */
export const NOTEBOOK_HOST = "notebook";

/**
 * Tells `onChange(true)` once the connection has stayed lost for `afterMs`, measured from the
 * first loss (retries failing meanwhile do not restart the count), and `onChange(false)` when
 * it is back after that. A loss shorter than `afterMs` tells nothing.
 */
export class OutageWatch {
  constructor(onChange, afterMs = HOST_GONE_AFTER_MS) {
    this.onChange = onChange;
    this.afterMs = afterMs;
    this.timer = null;
    this.gone = false;
    this.stopped = false;
  }

  /** Not connected (a first attempt, an error, a close): start counting unless already. */
  lost() {
    if (this.timer !== null || this.gone || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.gone = true;
      this.onChange(true);
    }, this.afterMs);
  }

  /** Connected: stop counting, and take the message back if it was shown. */
  back() {
    this.clear();
    if (!this.gone || this.stopped) return;
    this.gone = false;
    this.onChange(false);
  }

  /** The session ends: no more calls, whatever its socket reports while closing. */
  stop() {
    this.clear();
    this.stopped = true;
  }

  clear() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

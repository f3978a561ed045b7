// Transports for the widget: phoenix's Socket takes a WebSocket-like class (`transport` option)
// and calls `new Transport(url)`. The widget hands it an AutoTransport that tries a direct
// WebSocket first and, when that cannot open (blocked, mixed content, no route from the
// browser to the server), the Jupyter route (`<base_url>talkex/socket/websocket` through the
// Jupyter server that serves the page, its login and port, when the server extension is there:
// `routeUrl`), and then a relay through the kernel over the widget's comm. The route does not
// wait for the kernel, so a busy cell stalls only the relay.
//
// Comm messages (all carry `view`, the id of the widget view, and `conn`, a per-view counter
// naming one relay connection; a kernel that echoes `conn` gets exact routing, otherwise
// messages go to the newest relay connection):
//   view -> kernel: {kind: "relay_open", view, conn, url}
//                   {kind: "relay_send", view, conn, data}
//                   {kind: "relay_close", view, conn, code, reason}
//   kernel -> view: {kind: "relay_opened", view}
//                   {kind: "relay_message", view, data}
//                   {kind: "relay_closed", view, code, reason}

export const READY = Object.freeze({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
export const DIRECT_OPEN_TIMEOUT_MS = 3000;

/**
 * The transports of one widget view.
 *
 * @param {object} options
 * @param {(msg: object) => void} options.send sends a comm message to the kernel (view added)
 * @param {string} options.view the view id
 * @param {Function|null} [options.WebSocketImpl] the direct transport; null forces the relay
 * @param {number} [options.openTimeoutMs] how long a direct WebSocket may take to open
 * @param {(url: string) => string | null} [options.routeUrl] the same socket through the
 *   Jupyter route (the page's query kept), or null when there is no route
 * @param {(mode: "websocket" | "route" | "relay") => void} [options.onMode] told which path is
 *   in use
 */
export function createTransports({
  send,
  view,
  WebSocketImpl = globalThis.WebSocket,
  openTimeoutMs = DIRECT_OPEN_TIMEOUT_MS,
  routeUrl = () => null,
  onMode = () => {},
}) {
  let mode = null;
  let connSeq = 0;
  const relays = new Map();

  const setMode = (next) => {
    if (mode === next) return;
    mode = next;
    onMode(next);
  };

  class RelayConnection {
    constructor(url) {
      this.url = url;
      this.conn = ++connSeq;
      this.readyState = READY.CONNECTING;
      this.binaryType = "arraybuffer";
      this.bufferedAmount = 0;
      this.onopen = null;
      this.onmessage = null;
      this.onerror = null;
      this.onclose = null;
      relays.set(this.conn, this);
      send({ kind: "relay_open", view, conn: this.conn, url });
    }

    send(data) {
      if (this.readyState !== READY.OPEN) throw new Error("relay connection is not open");
      send({ kind: "relay_send", view, conn: this.conn, data });
    }

    close(code = 1000, reason = "") {
      if (this.readyState >= READY.CLOSING) return;
      this.readyState = READY.CLOSED;
      relays.delete(this.conn);
      send({ kind: "relay_close", view, conn: this.conn, code, reason });
      // A WebSocket reports its close asynchronously; the kernel may not confirm ours.
      setTimeout(() => this.onclose?.({ code, reason, wasClean: true }), 0);
    }

    opened() {
      if (this.readyState !== READY.CONNECTING) return;
      this.readyState = READY.OPEN;
      this.onopen?.({ type: "open" });
    }

    message(data) {
      if (this.readyState === READY.OPEN) this.onmessage?.({ data });
    }

    closed(code, reason) {
      if (this.readyState === READY.CLOSED) return;
      const neverOpened = this.readyState === READY.CONNECTING;
      this.readyState = READY.CLOSED;
      relays.delete(this.conn);
      if (neverOpened) this.onerror?.({ type: "error" });
      this.onclose?.({ code: code ?? 1006, reason: reason ?? "", wasClean: false });
    }
  }

  /** The class phoenix instantiates: a direct WebSocket, else the Jupyter route, else the relay. */
  class AutoTransport {
    constructor(url) {
      this.url = url;
      this.binaryType = "arraybuffer";
      this.onopen = null;
      this.onmessage = null;
      this.onerror = null;
      this.onclose = null;
      this.inner = null;
      this.closedByUs = false;
      if (mode === "relay" || !WebSocketImpl) this.useRelay();
      else if (mode === "route") this.tryRoute();
      else this.tryDirect();
    }

    get readyState() {
      return this.inner ? this.inner.readyState : READY.CONNECTING;
    }

    get bufferedAmount() {
      return this.inner ? this.inner.bufferedAmount || 0 : 0;
    }

    tryDirect() {
      this.tryWebSocket(this.url, "websocket", () => this.tryRoute());
    }

    /** The Jupyter route, when there is one; the relay otherwise or if it cannot open. */
    tryRoute() {
      const url = routeUrl(this.url);
      if (url) this.tryWebSocket(url, "route", () => this.useRelay());
      else this.useRelay();
    }

    tryWebSocket(url, wsMode, next) {
      let ws;
      try {
        ws = new WebSocketImpl(url);
      } catch {
        // e.g. a SecurityError for ws:// from an https:// page
        next();
        return;
      }
      ws.binaryType = this.binaryType;
      this.inner = ws;
      let opened = false;
      const fallback = () => {
        clearTimeout(timer);
        if (this.inner !== ws || this.closedByUs) return;
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        try {
          ws.close();
        } catch {
          // already closed
        }
        next();
      };
      const timer = setTimeout(fallback, openTimeoutMs);
      ws.onopen = (event) => {
        clearTimeout(timer);
        opened = true;
        setMode(wsMode);
        this.onopen?.(event);
      };
      ws.onmessage = (event) => this.onmessage?.(event);
      ws.onerror = (event) => {
        if (!opened && !this.closedByUs) fallback();
        else this.onerror?.(event);
      };
      ws.onclose = (event) => {
        clearTimeout(timer);
        if (!opened && !this.closedByUs) fallback();
        else this.onclose?.(event);
      };
    }

    useRelay() {
      setMode("relay");
      const relay = new RelayConnection(this.url);
      relay.onopen = (event) => this.onopen?.(event);
      relay.onmessage = (event) => this.onmessage?.(event);
      relay.onerror = (event) => this.onerror?.(event);
      relay.onclose = (event) => this.onclose?.(event);
      this.inner = relay;
    }

    send(data) {
      this.inner.send(data);
    }

    close(code, reason) {
      this.closedByUs = true;
      if (!this.inner) return;
      if (code) this.inner.close(code, reason || "");
      else this.inner.close();
    }
  }

  /** Routes a kernel message to its relay connection; true when it was a relay message. */
  function handle(msg) {
    if (!msg || msg.view !== view) return false;
    if (msg.kind !== "relay_opened" && msg.kind !== "relay_message" && msg.kind !== "relay_closed") {
      return false;
    }
    const relay = msg.conn != null ? relays.get(msg.conn) : newestRelay();
    if (!relay) return true;
    if (msg.kind === "relay_opened") relay.opened();
    else if (msg.kind === "relay_message") relay.message(msg.data);
    else relay.closed(msg.code, msg.reason);
    return true;
  }

  function newestRelay() {
    let newest = null;
    for (const relay of relays.values()) newest = relay;
    return newest;
  }

  return {
    Transport: AutoTransport,
    handle,
    get mode() {
      return mode;
    },
  };
}

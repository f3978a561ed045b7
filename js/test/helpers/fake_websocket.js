// A WebSocket stand-in the transport tests open, close or fail by hand.
import { READY } from "../../src/lib/transport.js";

export class FakeWebSocket {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = READY.CONNECTING;
    this.sent = [];
    FakeWebSocket.instances.push(this);
  }
  send(data) {
    this.sent.push(data);
  }
  close() {
    this.readyState = READY.CLOSED;
    this.onclose?.({ code: 1000 });
  }
  open() {
    this.readyState = READY.OPEN;
    this.onopen?.({});
  }
  fail() {
    this.readyState = READY.CLOSED;
    this.onerror?.({});
    this.onclose?.({ code: 1006 });
  }
}

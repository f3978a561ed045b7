// The messages we sent that the server has not confirmed yet, and the pushes that carry them.
// No React and no socket of its own: it reads and updates its session's state (`pending`,
// `messages`, `error`) and pushes on the session's channel, so the view keeps one store.
//
// No-loss rules (the session's header has the whole list):
// - every sent message has a client_id and stays pending ("sending") until an ok reply;
//   it is pushed again, with the same client_id, after every (re)join (`resend`) and after a
//   push timeout. The server deduplicates by client_id, so a message whose reply was lost is
//   not stored twice.
// - a refusal with `retry_after` (sending too fast) keeps it "sending" and tries again then;
//   any other refusal marks it "failed" with the reason, until `retry` or `discard`.
// - only the latest push of a message counts (`inFlight`): the late answer of an older push
//   neither retries nor fails it twice.
import { randomId } from "./ids.js";
import { mergeMessages } from "./messages.js";
import { reasonOf } from "./replies.js";
import { bodyError, pyStrip } from "./validate.js";

/** The longest wait a `retry_after` may impose, in seconds: a bad value cannot park a message. */
export const MAX_RETRY_AFTER_S = 60;

export class Outbox {
  /**
   * @param {object} session what the outbox works on: `state` ({pending, messages, joined,
   *   maxBody}), `update(patch)`, `channel` (the room's phoenix Channel, or null) and `nickname`.
   */
  constructor(session) {
    this.session = session;
    this.inFlight = new Map(); // client_id -> the phoenix Push waiting for its reply
  }

  get state() {
    return this.session.state;
  }

  update(patch) {
    this.session.update(patch);
  }

  /**
   * Queue `text` for sending. Returns null when accepted, or the reason it was not
   * (empty, longer than the server's limit).
   */
  send(text) {
    const reason = bodyError(text, this.state.maxBody);
    if (reason) return reason;
    const item = {
      client_id: randomId(),
      body: pyStrip(text),
      author: this.session.nickname,
      sent_at: new Date().toISOString(),
      state: "sending",
      error: null,
    };
    this.update({ pending: this.state.pending.concat([item]) });
    if (this.state.joined) this.push(item.client_id);
    return null;
  }

  /** Push every message still "sending" (after a join: the ones written while away). */
  resend() {
    for (const item of this.state.pending) {
      if (item.state === "sending") this.push(item.client_id);
    }
  }

  push(clientId) {
    const item = this.find(clientId);
    const channel = this.session.channel;
    if (!item || !channel) return;
    const push = channel.push("new_msg", { body: item.body, client_id: clientId });
    this.inFlight.set(clientId, push);
    push
      .receive("ok", (reply) => this.sent(clientId, reply))
      .receive("error", (reply) => {
        if (this.inFlight.get(clientId) !== push) return;
        this.inFlight.delete(clientId);
        const reason = reasonOf(reply, "message was not accepted");
        const retryAfter = reply && typeof reply.retry_after === "number" ? reply.retry_after : null;
        if (retryAfter !== null && retryAfter >= 0) {
          // Refused for now (sending too fast), not for good: keep it "sending", try again.
          this.update({ error: reason });
          setTimeout(() => this.pushIfStillSending(clientId), Math.min(retryAfter, MAX_RETRY_AFTER_S) * 1000 + 10);
          return;
        }
        this.updatePending(clientId, { state: "failed", error: reason });
        this.update({ error: reason });
      })
      .receive("timeout", () => {
        if (this.inFlight.get(clientId) !== push) return;
        this.inFlight.delete(clientId);
        // Still joined: the reply is merely late or lost, try again. Otherwise the rejoin will.
        this.pushIfStillSending(clientId);
      });
  }

  pushIfStillSending(clientId) {
    if (this.state.joined && this.find(clientId)?.state === "sending") this.push(clientId);
  }

  /** The ok reply: the message leaves the outbox and shows at once with its id. */
  sent(clientId, reply) {
    this.inFlight.delete(clientId);
    const item = this.find(clientId);
    if (!item) return;
    const id = reply && Number.isInteger(reply.id) ? reply.id : null;
    const pending = this.state.pending.filter((p) => p.client_id !== clientId);
    if (id === null) {
      this.update({ pending });
      return;
    }
    // Shown at once with its id; the broadcast (with the server's sent_at) replaces it.
    const provisional = {
      id,
      body: item.body,
      author: this.session.nickname,
      sent_at: item.sent_at,
      client_id: clientId,
      provisional: true,
    };
    this.update({ pending, messages: mergeMessages(this.state.messages, [provisional]) });
  }

  find(clientId) {
    return this.state.pending.find((p) => p.client_id === clientId);
  }

  updatePending(clientId, patch) {
    this.update({
      pending: this.state.pending.map((p) => (p.client_id === clientId ? { ...p, ...patch } : p)),
    });
  }

  /** Send a failed message again (same client_id). */
  retry(clientId) {
    const item = this.find(clientId);
    if (!item || item.state !== "failed") return;
    this.updatePending(clientId, { state: "sending", error: null });
    if (this.state.joined) this.push(clientId);
  }

  /** Drop a failed message. */
  discard(clientId) {
    this.inFlight.delete(clientId);
    this.update({ pending: this.state.pending.filter((p) => p.client_id !== clientId) });
  }
}

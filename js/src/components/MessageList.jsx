import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { isMention } from "../lib/mentions.js";
import { displayItems, groupMessages, itemKey } from "../lib/messages.js";
import { firstUnreadId } from "../lib/unread.js";
import { formatFull, formatTime } from "../lib/time.js";
import { MessageBody } from "./MessageBody.jsx";
import { MessageChanges, MessageEditor } from "./MessageChanges.jsx";
import { Name } from "./Name.jsx";

const NEAR_EDGE_PX = 40;

/**
 * The conversation: groups of consecutive messages by one author. Follows new messages while
 * the reader is at the bottom; once they scrolled up, new messages raise a "New messages"
 * marker instead. Reaching the top loads older messages when the server has more.
 * A "new messages" line goes above the first of others' messages after `markerId` (where the
 * reader left off); messages that mention the reader are highlighted; `onAtBottom(bool)`
 * hears whether the reader is at the bottom (reading what is new).
 */
export function MessageList({
  messages,
  pending,
  nickname,
  hasMore,
  loadingOlder,
  canLoadOlder,
  onLoadOlder,
  onRetry,
  onDiscard,
  markerId = null,
  onAtBottom = null,
  changes = null,
}) {
  const scroller = useRef(null);
  const atBottom = useRef(true);
  const previous = useRef({ first: null, last: null, height: 0 });
  const [unseen, setUnseen] = useState(false);

  const items = useMemo(() => displayItems(messages, pending), [messages, pending]);
  const groups = useMemo(() => groupMessages(items, nickname), [items, nickname]);
  const firstUnread = useMemo(() => firstUnreadId(messages, markerId, nickname), [messages, markerId, nickname]);
  const first = items.length ? itemKey(items[0], nickname) : null;
  const lastItem = items.length ? items[items.length - 1] : null;
  const last = lastItem ? itemKey(lastItem, nickname) : null;

  const scrollToBottom = useCallback(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setUnseen(false);
    onAtBottom?.(true);
  }, [onAtBottom]);

  useLayoutEffect(() => {
    const el = scroller.current;
    const before = previous.current;
    if (el) {
      if (before.first !== null && first !== before.first && last === before.last) {
        // Older messages were prepended: keep the reader's place.
        el.scrollTop += el.scrollHeight - before.height;
      } else if (last !== before.last && last !== null) {
        const ownNew = lastItem.state === "sending";
        if (atBottom.current || ownNew) scrollToBottom();
        else setUnseen(true);
      }
      previous.current = { first, last, height: el.scrollHeight };
    }
  });

  // Stay pinned to the bottom when the list's box changes (header wraps, sidebar moves).
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_EDGE_PX;
    if (atBottom.current) setUnseen(false);
    onAtBottom?.(atBottom.current);
    if (el.scrollTop < NEAR_EDGE_PX && hasMore && canLoadOlder && !loadingOlder) onLoadOlder();
  };

  return (
    <div className="tx-messages-wrap">
      <div className="tx-messages" role="log" aria-label="Messages" ref={scroller} onScroll={onScroll}>
        {hasMore && (
          <div className="tx-older">
            {loadingOlder ? (
              <span className="tx-loading">Loading older messages…</span>
            ) : (
              <button type="button" className="tx-link" onClick={onLoadOlder} disabled={!canLoadOlder}>
                Load older messages
              </button>
            )}
          </div>
        )}
        {items.length === 0 && !hasMore && <div className="tx-empty">No messages yet. Say hello!</div>}
        {groups.map((group) => (
          <MessageGroup
            key={group.key}
            group={group}
            nickname={nickname}
            firstUnread={firstUnread}
            onRetry={onRetry}
            onDiscard={onDiscard}
            changes={changes}
          />
        ))}
      </div>
      {unseen && (
        <button type="button" className="tx-new-marker" onClick={scrollToBottom}>
          New messages ↓
        </button>
      )}
    </div>
  );
}

function MessageGroup({ group, nickname, firstUnread, onRetry, onDiscard, changes }) {
  const head = group.items[0];
  // Where the unread part starts a group, the line goes above the author's name, not between
  // the name and the first message.
  const lineAbove = head.id != null && head.id === firstUnread;
  return (
    <>
      {lineAbove && <UnreadLine />}
      <div className={group.own ? "tx-group tx-own" : "tx-group"} data-author={group.author}>
        <div className="tx-group-head">
          <Name name={group.author} className="tx-author" />
          {group.own && <span className="tx-you">you</span>}
          <time className="tx-time" dateTime={head.sent_at} title={formatFull(head.sent_at)}>
            {formatTime(head.sent_at)}
          </time>
        </div>
        {group.items.map((item, index) => (
          <MessageRow
            key={itemKey(item, nickname)}
            item={item}
            showTime={index > 0}
            mention={isMention(item, nickname)}
            lineBefore={index > 0 && item.id != null && item.id === firstUnread}
            onRetry={onRetry}
            onDiscard={onDiscard}
            nickname={nickname}
            changes={changes}
          />
        ))}
      </div>
    </>
  );
}

function UnreadLine() {
  return (
    <div className="tx-unread-line" role="separator" aria-label="New messages">
      <span>New messages</span>
    </div>
  );
}

/**
 * One message. `changes` ({moderator, onEdit, onDelete, onReact}, optional) turns on edit,
 * delete and reactions; a deleted message shows as a tombstone, an edited one says so.
 */
function MessageRow({ item, showTime, mention, lineBefore, onRetry, onDiscard, nickname, changes }) {
  const [editing, setEditing] = useState(false);
  const state = item.state || "sent";
  const deleted = Boolean(item.deleted_at);
  return (
    <>
      {lineBefore && <UnreadLine />}
      <div
        className={`tx-msg tx-msg-${state}${mention ? " tx-mention" : ""}`}
        data-mention={mention || undefined}
        data-state={state}
        data-message-id={item.id ?? undefined}
        data-client-id={item.client_id ?? undefined}
        data-deleted={deleted || undefined}
      >
        {showTime && (
          <time className="tx-msg-time" dateTime={item.sent_at} title={formatFull(item.sent_at)}>
            {formatTime(item.sent_at)}
          </time>
        )}
        {deleted ? (
          <div className="tx-body tx-tombstone">message deleted</div>
        ) : editing && changes ? (
          <MessageEditor item={item} onSave={changes.onEdit} onCancel={() => setEditing(false)} />
        ) : (
          <MessageBody body={item.body} message={item} />
        )}
        {item.edited_at && !deleted && (
          <span className="tx-edited" title={`edited ${formatFull(item.edited_at)}`}>
            (edited)
          </span>
        )}
        {changes && !editing && (
          <MessageChanges
            item={item}
            nickname={nickname}
            moderator={changes.moderator}
            onEdit={() => setEditing(true)}
            onDelete={changes.onDelete}
            onReact={changes.onReact}
          />
        )}
        {state === "sending" && <span className="tx-msg-state">sending…</span>}
        {state === "failed" && (
          <span className="tx-msg-state tx-msg-failed">
            not sent: {item.error}{" "}
            <button type="button" className="tx-link" onClick={() => onRetry(item.client_id)}>
              Retry
            </button>{" "}
            <button type="button" className="tx-link" onClick={() => onDiscard(item.client_id)}>
              Discard
            </button>
          </span>
        )}
      </div>
    </>
  );
}

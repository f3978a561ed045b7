import { useState } from "react";
import { REACTIONS, mayChange, reactionSummary } from "../lib/changes.js";

/**
 * What a sent message offers beyond its body: the reactions it has (click toggles yours,
 * hover says who), and on hover the actions the reader may take: react, edit (own text
 * messages, inline), delete (own, or anyone's for a moderator; asks first).
 */
export function MessageChanges({ item, nickname, moderator, onEdit, onDelete, onReact }) {
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  if (item.state || item.deleted_at || !Number.isInteger(item.id)) return null;
  const may = mayChange(item, nickname, moderator);
  const reactions = reactionSummary(item, nickname);
  const react = (emoji) => {
    setPicking(false);
    onReact(item.id, emoji);
  };
  return (
    <>
      {reactions.length > 0 && (
        <div className="tx-reactions" aria-label="Reactions">
          {reactions.map((r) => (
            <button
              key={r.emoji}
              type="button"
              className={r.mine ? "tx-reaction tx-reaction-mine" : "tx-reaction"}
              title={r.names.join(", ")}
              aria-pressed={r.mine}
              data-emoji={r.emoji}
              onClick={() => react(r.emoji)}
            >
              {r.emoji} <span className="tx-reaction-count">{r.count}</span>
            </button>
          ))}
        </div>
      )}
      <div className="tx-msg-actions" data-open={picking || confirming || undefined}>
        {confirming ? (
          <span className="tx-confirm" role="alertdialog" aria-label="Delete this message?">
            Delete this message?{" "}
            <button
              type="button"
              className="tx-link tx-danger"
              onClick={() => {
                setConfirming(false);
                onDelete(item.id);
              }}
            >
              Delete
            </button>{" "}
            <button type="button" className="tx-link" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </span>
        ) : (
          <>
            <button type="button" className="tx-icon-button" title="React" onClick={() => setPicking(!picking)}>
              ☺
            </button>
            {may.edit && (
              <button type="button" className="tx-icon-button" title="Edit" onClick={() => onEdit(item.id)}>
                ✎
              </button>
            )}
            {may.delete && (
              <button type="button" className="tx-icon-button" title="Delete" onClick={() => setConfirming(true)}>
                🗑
              </button>
            )}
          </>
        )}
        {picking && (
          <span className="tx-reaction-picker" role="menu" aria-label="Pick a reaction">
            {REACTIONS.map((emoji) => (
              <button key={emoji} type="button" role="menuitem" data-emoji={emoji} onClick={() => react(emoji)}>
                {emoji}
              </button>
            ))}
          </span>
        )}
      </div>
    </>
  );
}

/** The inline editor of one's own message: Enter saves, Escape cancels. */
export function MessageEditor({ item, onSave, onCancel }) {
  const [text, setText] = useState(item.body);
  const [error, setError] = useState(null);
  const save = () => {
    if (text.trim() === item.body) {
      onCancel();
      return;
    }
    const reason = onSave(item.id, text);
    if (reason) setError(reason);
    else onCancel();
  };
  return (
    <div className="tx-editor">
      <textarea
        className="tx-editor-input"
        aria-label="Edit message"
        value={text}
        autoFocus
        rows={Math.min(6, text.split("\n").length)}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey) {
            event.preventDefault();
            save();
          } else if (event.key === "Escape") {
            onCancel();
          }
        }}
      />
      <button type="button" className="tx-link" onClick={save}>
        Save
      </button>{" "}
      <button type="button" className="tx-link" onClick={onCancel}>
        Cancel
      </button>
      {error && <span className="tx-msg-state tx-msg-failed">{error}</span>}
    </div>
  );
}

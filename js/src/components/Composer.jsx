import { useId, useLayoutEffect, useRef, useState } from "react";
import { applyMention, mentionCandidates, mentionQuery } from "../lib/mentions.js";
import { codePointLength, pyStrip } from "../lib/validate.js";

/**
 * The message box. Enter sends, Shift+Enter adds a line; Enter that confirms an IME
 * composition is left alone. Enter is handled in onKeyDown (there is no form to submit:
 * JupyterLab outputs swallow form submits). `maxBody` is the server's limit, as the session
 * learnt it from the join reply. Typing "@" offers `people` ({present, authors, self}: see
 * lib/mentions.js); arrows move, Enter or Tab picks, Escape closes.
 */
export function Composer({ enabled, hint, maxBody, onSend, onTyping = null, people = null }) {
  const [text, setText] = useState("");
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(null); // the "@" position Escape closed
  const hintId = useId();
  const counterId = useId();
  const listId = useId();
  const inputRef = useRef(null);
  const nextCaret = useRef(null);
  useLayoutEffect(() => {
    if (nextCaret.current === null || !inputRef.current) return;
    inputRef.current.setSelectionRange(nextCaret.current, nextCaret.current);
    nextCaret.current = null;
  });
  const query = people && enabled ? mentionQuery(text, caret) : null;
  const options =
    query && query.start !== dismissed ? mentionCandidates({ ...people, query: query.query }) : [];
  const chosen = options.length ? Math.min(active, options.length - 1) : 0;
  const pick = (name) => {
    const next = applyMention(text, query.start, caret, name);
    setText(next.text);
    setCaret(next.caret);
    nextCaret.current = next.caret;
    setActive(0);
  };
  const track = (event) => setCaret(event.target.selectionStart ?? 0);
  const length = codePointLength(pyStrip(text));
  const tooLong = length > maxBody;
  const canSend = enabled && length > 0 && !tooLong;

  const send = () => {
    if (!canSend) return;
    const reason = onSend(text);
    if (!reason) setText("");
    inputRef.current?.focus();
  };

  const onKeyDown = (event) => {
    if (options.length && !event.nativeEvent.isComposing) {
      const moves = { ArrowDown: 1, ArrowUp: options.length - 1 };
      if (event.key in moves) {
        event.preventDefault();
        setActive((chosen + moves[event.key]) % options.length);
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        pick(options[chosen]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        setDismissed(query.start);
        return;
      }
    }
    if (event.key !== "Enter" || event.shiftKey) return;
    if (event.nativeEvent.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    send();
  };

  const note = !enabled ? hint : tooLong ? `Too long: at most ${maxBody} characters` : "";
  return (
    <div className={`tx-composer${enabled ? "" : " tx-composer-disabled"}`}>
      {options.length > 0 && (
        <ul className="tx-mention-list" id={listId} role="listbox" aria-label="People to mention">
          {options.map((name, index) => (
            <li
              key={name}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === chosen}
              className={index === chosen ? "tx-mention-option tx-active" : "tx-mention-option"}
              onMouseDown={(event) => {
                event.preventDefault(); // keep the focus in the box
                pick(name);
              }}
            >
              @<bdi>{name}</bdi>
            </li>
          ))}
        </ul>
      )}
      <textarea
        ref={inputRef}
        className="tx-input"
        aria-label="Message"
        aria-describedby={`${counterId}${note ? ` ${hintId}` : ""}`}
        aria-invalid={tooLong || undefined}
        aria-autocomplete={people ? "list" : undefined}
        aria-expanded={people ? options.length > 0 : undefined}
        aria-controls={options.length ? listId : undefined}
        aria-activedescendant={options.length ? `${listId}-${chosen}` : undefined}
        rows={2}
        value={text}
        disabled={!enabled}
        placeholder={enabled ? "Message (Enter to send, Shift+Enter for a new line)" : ""}
        onChange={(event) => {
          setText(event.target.value);
          track(event);
          setActive(0);
          if (onTyping && event.target.value.trim()) onTyping();
        }}
        onSelect={track}
        onKeyDown={onKeyDown}
      />
      <div className="tx-composer-side">
        <button type="button" className="tx-send" onClick={send} disabled={!canSend}>
          Send
        </button>
        <span id={counterId} className={`tx-counter${tooLong ? " tx-over" : ""}`}>
          {length}/{maxBody}
        </span>
      </div>
      {note && (
        <div id={hintId} className={`tx-hint${tooLong ? " tx-over" : ""}`}>
          {note}
        </div>
      )}
    </div>
  );
}

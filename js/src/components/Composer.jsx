import { useId, useRef, useState } from "react";
import { codePointLength, pyStrip } from "../lib/validate.js";

/**
 * The message box. Enter sends, Shift+Enter adds a line; Enter that confirms an IME
 * composition is left alone. Enter is handled in onKeyDown (there is no form to submit:
 * JupyterLab outputs swallow form submits). `maxBody` is the server's limit, as the session
 * learnt it from the join reply.
 */
export function Composer({ enabled, hint, maxBody, onSend, onTyping = null }) {
  const [text, setText] = useState("");
  const hintId = useId();
  const counterId = useId();
  const inputRef = useRef(null);
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
    if (event.key !== "Enter" || event.shiftKey) return;
    if (event.nativeEvent.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    send();
  };

  const note = !enabled ? hint : tooLong ? `Too long: at most ${maxBody} characters` : "";
  return (
    <div className={`tx-composer${enabled ? "" : " tx-composer-disabled"}`}>
      <textarea
        ref={inputRef}
        className="tx-input"
        aria-label="Message"
        aria-describedby={`${counterId}${note ? ` ${hintId}` : ""}`}
        aria-invalid={tooLong || undefined}
        rows={2}
        value={text}
        disabled={!enabled}
        placeholder={enabled ? "Message (Enter to send, Shift+Enter for a new line)" : ""}
        onChange={(event) => {
          setText(event.target.value);
          if (onTyping && event.target.value.trim()) onTyping();
        }}
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

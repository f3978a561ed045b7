import { useMemo } from "react";
import { renderMarkdown } from "../lib/markdown.js";
import { sharedKind } from "../lib/shared.js";
import { SharedResult } from "./SharedResult.jsx";

const CONFIRM_MS = 1500;
const resetTimers = new WeakMap();

/**
 * A message body rendered as markdown (sanitized HTML from lib/markdown.js). The copy buttons
 * of its code blocks are part of that HTML, so one click handler serves them all. A shared
 * result (`message.kind` table, figure or code) is shown as such instead (SharedResult).
 */
export function MessageBody({ body, message = null }) {
  const html = useMemo(() => (isShared(message) ? "" : renderMarkdown(body)), [body, message]);
  if (isShared(message)) return <SharedResult message={message} onCodeClick={copyCode} />;
  return (
    <div className="tx-body" dir="auto" onClick={copyCode} dangerouslySetInnerHTML={{ __html: html }} />
  );
}

function copyCode(event) {
  const button = event.target.closest(".tx-copy");
  const code = button?.closest(".tx-code")?.querySelector("code");
  if (!code) return;
  const selectInstead = () => {
    // No clipboard here (plain-http Jupyter, permission refused): select the code for Ctrl+C.
    window.getSelection()?.selectAllChildren(code);
    flash(button, "Selected");
  };
  const clipboard = globalThis.navigator?.clipboard;
  if (!clipboard?.writeText) {
    selectInstead();
    return;
  }
  clipboard.writeText(code.textContent).then(() => flash(button, "Copied"), selectInstead);
}

/** Show `label` on the button for a moment. React never re-renders inside the HTML it set. */
function flash(button, label) {
  clearTimeout(resetTimers.get(button));
  button.textContent = label;
  resetTimers.set(
    button,
    setTimeout(() => {
      button.textContent = "Copy";
    }, CONFIRM_MS),
  );
}

function isShared(message) {
  return sharedKind(message) !== "text";
}

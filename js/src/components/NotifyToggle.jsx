import { useState } from "react";
import { canNotify, notifyOptedIn, setNotifyOptIn } from "../lib/notify.js";

/** The opt-in for desktop notifications of mentions; `onChange(on)` hears the outcome. */
export function NotifyToggle({ onChange }) {
  const [on, setOn] = useState(() => notifyOptedIn());
  if (!canNotify()) return null;
  const toggle = async () => {
    const next = await setNotifyOptIn(!on);
    setOn(next);
    onChange(next);
  };
  return (
    <button
      type="button"
      className={`tx-notify${on ? " tx-notify-on" : ""}`}
      aria-pressed={on}
      aria-label="Notify me of mentions"
      title={on ? "Desktop notifications for mentions: on" : "Notify me of mentions while this page is hidden"}
      onClick={toggle}
    >
      <BellIcon off={!on} />
    </button>
  );
}

/** A bell (struck through when off): drawn, since an emoji may lack a font. */
function BellIcon({ off }) {
  return (
    <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <path
        d="M8 1.5a4 4 0 0 0-4 4v2.6L2.6 11h10.8L12 8.1V5.5a4 4 0 0 0-4-4ZM6.3 12.5a1.8 1.8 0 0 0 3.4 0"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.4"
        strokeLinejoin="round"
      />
      {off && <path d="M2 2l12 12" stroke="currentColor" strokeWidth="1.4" />}
    </svg>
  );
}

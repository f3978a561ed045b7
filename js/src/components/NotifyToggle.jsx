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
      {on ? "🔔" : "🔕"}
    </button>
  );
}

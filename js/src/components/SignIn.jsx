import { signInUrl } from "../lib/hub.js";

/**
 * What a hub viewer sees before the chat knows them: a sign-in link (the hub's OAuth in a new
 * tab), or why the hub refuses them. The view connects by itself once signed in.
 */
export function SignIn({ prefix, who }) {
  if (!who) return <div className="tx-waiting">Asking the hub who you are…</div>;
  if (who.state === "refused") {
    return (
      <div className="tx-alert">
        <div role="alert" className="tx-alert-text">
          {who.reason}
        </div>
      </div>
    );
  }
  if (who.state === "down") {
    return <div className="tx-waiting">{who.reason}; trying again…</div>;
  }
  return (
    <div className="tx-signin">
      <p>The hub has not told the chat who you are yet.</p>
      <a className="tx-button" href={signInUrl(prefix)} target="_blank" rel="noopener">
        Sign in to chat
      </a>
      <p className="tx-hint">This view connects by itself once you have signed in.</p>
    </div>
  );
}

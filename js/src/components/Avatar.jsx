import { avatarColour, initials } from "../lib/avatar.js";

/**
 * A person's initials on their colour. Decorative (the name is always beside it), so hidden
 * from screen readers; the initials are drawn by CSS from `data-initials` and so stay out of
 * the row's text.
 */
export function Avatar({ name }) {
  return <span className={`tx-avatar tx-avatar-${avatarColour(name)}`} data-initials={initials(name)} aria-hidden="true" />;
}

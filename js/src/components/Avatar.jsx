import { useLayoutEffect, useRef, useState } from "react";
import { avatarBackground, avatarColour, avatarSource, initials, inkFor } from "../lib/avatar.js";

/**
 * A person's avatar: their picture when a verified identity gives one (the hub's), else their
 * initials on their colour: the one JupyterLab shows for them when known, else one picked from
 * their name. Decorative (the name is always beside it), so hidden from screen readers; the
 * initials are drawn by CSS from `data-initials` and so stay out of the row's text.
 *
 * `name` is the presence key (it picks the fallback colour, the same in every view); `label`
 * the name shown, whose initials are drawn. A picture that fails to load leaves the initials.
 * The initials' ink is black or white, whichever contrasts more with the colour as the page
 * resolves it (JupyterLab's colours differ between its light and dark themes).
 */
export function Avatar({ name, label = name, colour = null, src = null }) {
  const ref = useRef(null);
  const [failed, setFailed] = useState(null);
  const background = avatarBackground(colour);
  const image = avatarSource(src);
  const showImage = image !== null && failed !== image;

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const ink = background ? inkFor(getComputedStyle(element).backgroundColor) : null;
    if (ink) element.style.color = ink;
    else element.style.removeProperty("color");
  });

  return (
    <span
      ref={ref}
      className={`tx-avatar tx-avatar-${avatarColour(name)}`}
      data-initials={initials(label)}
      data-colour={background ? colour : undefined}
      style={background ? { background } : undefined}
      aria-hidden="true"
    >
      {showImage && (
        <img
          className="tx-avatar-img"
          src={image}
          alt=""
          referrerPolicy="no-referrer"
          loading="lazy"
          onError={() => setFailed(image)}
        />
      )}
    </span>
  );
}

// @vitest-environment happy-dom
// The people list as JupyterLab and the hub show people: display name, colour, picture.
import { afterEach, describe, expect, it } from "vitest";
import { PresenceList } from "../src/components/PresenceList.jsx";
import { act, mount } from "./helpers/dom.js";

let view;
afterEach(() => {
  view?.unmount();
  view = null;
});

const person = (fields) => ({ status: "online", count: 1, self: false, displayName: null, color: null, avatarUrl: null, ...fields });

describe("PresenceList with verified profiles", () => {
  it("shows the display name with the key beside it, and keeps the key as the row's identity", () => {
    view = mount(<PresenceList people={[person({ name: "erin", displayName: "Erin Example", self: true })]} />);
    const row = view.container.querySelector("li");
    expect(row.dataset.nickname).toBe("erin");
    expect(row.querySelector(".tx-name").textContent).toBe("Erin Example");
    expect(row.querySelector(".tx-handle").textContent).toBe("@erin");
    expect(row.querySelector(".tx-person-name").textContent).toBe("Erin Example@erinyou");
    expect(row.title).toBe("Erin Example (@erin) · online");
    expect(row.querySelector(".tx-avatar").dataset.initials).toBe("EE");
  });

  it("paints the avatar in JupyterLab's colour, falling back to the name's, with readable ink", () => {
    view = mount(
      <PresenceList
        people={[
          person({ name: "Anonymous Io", color: "var(--jp-collaborator-color3)" }),
          person({ name: "bob", color: "#ffad8e" }),
          person({ name: "cy" }),
        ]}
      />,
    );
    const [io, bob, cy] = view.container.querySelectorAll(".tx-avatar");
    expect(io.dataset.initials).toBe("AI");
    expect(io.dataset.colour).toBe("var(--jp-collaborator-color3)");
    expect(io.style.background).toContain("var(--jp-collaborator-color3");
    expect(bob.dataset.colour).toBe("#ffad8e");
    expect(bob.style.color).toMatch(/^(#000000|rgb\(0, 0, 0\))$/); // dark ink on a pastel
    expect(cy.dataset.colour).toBeUndefined();
    expect(cy.getAttribute("style")).toBeNull();
    expect(view.container.querySelector(".tx-handle")).toBeNull();
  });

  it("loads a picture without a referrer, and shows the initials again if it fails", () => {
    view = mount(
      <PresenceList
        people={[person({ name: "erin", displayName: "Erin Example", avatarUrl: "https://avatars.example/erin.png" })]}
      />,
    );
    const img = view.container.querySelector(".tx-avatar img");
    expect(img.getAttribute("src")).toBe("https://avatars.example/erin.png");
    expect(img.getAttribute("referrerpolicy")).toBe("no-referrer");
    expect(img.getAttribute("alt")).toBe("");
    act(() => img.dispatchEvent(new Event("error")));
    expect(view.container.querySelector(".tx-avatar img")).toBeNull();
    expect(view.container.querySelector(".tx-avatar").dataset.initials).toBe("EE");
  });

  it("never loads a picture from elsewhere", () => {
    view = mount(
      <PresenceList
        people={[
          person({ name: "a", avatarUrl: "javascript:alert(1)" }),
          person({ name: "b", avatarUrl: "http://tracker.example/p.gif" }),
          person({ name: "c", avatarUrl: "//tracker.example/p.gif" }),
        ]}
      />,
    );
    expect(view.container.querySelector("img")).toBeNull();
  });
});

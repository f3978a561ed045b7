"""Emulated page visibility for browser tests: a headless page is always "visible", so a test
hides one by overriding ``document.visibilityState`` and dispatching ``visibilitychange``.

:data:`VISIBILITY_SHIM` goes in as an init script (``context.add_init_script``) so that the
override also holds from the first script of a reloaded page; the choice is kept in
``sessionStorage``, which survives the reload.
"""

from __future__ import annotations

from playwright.sync_api import Page

__all__ = ["VISIBILITY_SHIM", "set_hidden"]

VISIBILITY_SHIM = """
(() => {
  const hidden = () => sessionStorage.getItem("talkex-test-hidden") === "1";
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true,
    get: () => (hidden() ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: hidden });
})();
"""


def set_hidden(page: Page, hidden: bool) -> None:
    """Hide or show ``page`` as switching browser tabs would (needs :data:`VISIBILITY_SHIM`)."""
    page.evaluate(
        """(hidden) => {
          sessionStorage.setItem("talkex-test-hidden", hidden ? "1" : "0");
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )

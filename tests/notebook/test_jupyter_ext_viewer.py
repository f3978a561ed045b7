"""Who a Jupyter user is in the chat (talkex_widget.notebook.viewer), without Jupyter."""

from __future__ import annotations

from jupyter_server.auth import User

from talkex_widget.core.profiles import Profile
from talkex_widget.notebook.viewer import CLAIM_IDLE, Viewers, is_anonymous


def anonymous(moon: str, hex_digit: str) -> User:
    """What jupyter_server makes up for a token login."""
    return User(hex_digit * 32, f"Anonymous {moon}", f"Anonymous {moon}", f"A{moon[0]}")


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_anonymous_users_are_recognised() -> None:
    assert is_anonymous(anonymous("Io", "a"))
    assert not is_anonymous(User("ada", "Ada Lovelace"))
    assert not is_anonymous(User("a" * 32, "Ada"))


def test_alone_with_a_notebook_you_are_its_nickname_and_a_collaborator_is_told_apart() -> None:
    clock = Clock()
    viewers = Viewers(owner="root", clock=clock)
    io, europa = anonymous("Io", "a"), anonymous("Europa", "b")
    assert viewers.viewer(io, "ada").nickname == "ada"
    assert viewers.viewer(europa, "ada").nickname == "Anonymous Europa"
    assert viewers.viewer(io, "ada").nickname == "ada"  # asking again keeps it
    assert viewers.viewer(europa, None).nickname == "root"  # the owner's default, unclaimed
    clock.now += CLAIM_IDLE - 1
    assert viewers.viewer(europa, "ada").nickname == "Anonymous Europa"
    clock.now += CLAIM_IDLE  # io stopped asking long ago: the name is free again
    assert viewers.viewer(europa, "ada").nickname == "ada"
    assert viewers.viewer(io, "ada").nickname == "Anonymous Io"


def test_named_users_are_who_jupyter_says_and_the_owner_keeps_the_widgets_name() -> None:
    viewers = Viewers(owner="ada")
    owner = viewers.viewer(User("ada", "Ada Lovelace", color="#f00"), "ada-notebooks")
    assert owner.nickname == "ada-notebooks"
    assert owner.color == "#f00"
    assert viewers.viewer(User("ada", "Ada Lovelace"), None).nickname == "ada"
    bob = viewers.viewer(User("bob", "Bob", "Bobby"), "ada")  # a hub collaborator
    assert (bob.nickname, bob.display_name) == ("bob", "Bobby")


def test_viewers_are_shown_with_jupyters_name_and_colour() -> None:
    """Jupyter's colour wins; without one, the colour JupyterLab picked in the viewer's
    browser, if it is one of JupyterLab's own; a named user's display name, never an
    anonymous one's beyond their nickname."""
    viewers = Viewers(owner="ada")
    colour = "var(--jp-collaborator-color5)"
    io, europa = anonymous("Io", "a"), anonymous("Europa", "b")
    assert viewers.viewer(io, "ada", colour).profile() == Profile(None, colour)
    assert viewers.viewer(europa, "ada", colour).profile() == Profile(None, colour)
    assert viewers.viewer(europa, "ada").nickname == "Anonymous Europa"
    for asked in ("red", "#ff0000", "var(--jp-collaborator-color1);x", "var(--tx-bg)"):
        assert viewers.viewer(europa, "ada", asked).profile() == Profile()
    bob = User("bob", "Bob", "Bobby B", color="#123456", avatar_url="/hub/avatar/bob")
    assert viewers.viewer(bob, "ada", colour).profile() == Profile(
        "Bobby B", "#123456", "/hub/avatar/bob"
    )
    unsafe = User("bob", "Bob", "Bob", color="url(x)", avatar_url="javascript:alert(1)")
    assert viewers.viewer(unsafe, None, colour).profile() == Profile("Bob", colour)

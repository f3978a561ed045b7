"""How a person is shown (talkex_widget.core.profiles): only what passes the checks."""

from __future__ import annotations

import pytest

from talkex_widget.core.profiles import (
    JUPYTER_COLOURS,
    MAX_AVATAR_URL,
    MAX_DISPLAY_NAME,
    Profile,
    checked_avatar_url,
    checked_colour,
    checked_display_name,
)


@pytest.mark.parametrize("colour", ["#abc", "#A1B2C3", *JUPYTER_COLOURS])
def test_colours_on_the_allow_list_pass(colour: str) -> None:
    assert checked_colour(colour) == colour


@pytest.mark.parametrize(
    "colour",
    [
        "red",
        "#abcd",
        "#12345g",
        " #abc",
        "rgb(1,2,3)",
        "var(--jp-collaborator-color8)",
        "var(--jp-collaborator-color1);background:url(x)",
        "var(--tx-bg)",
        "url(https://evil.example/)",
        "expression(alert(1))",
        None,
        3,
    ],
)
def test_anything_else_is_no_colour(colour: object) -> None:
    assert checked_colour(colour) is None


def test_display_names_are_trimmed_visible_and_short() -> None:
    assert checked_display_name("  Ada Lovelace ") == "Ada Lovelace"
    assert checked_display_name("x" * MAX_DISPLAY_NAME) == "x" * MAX_DISPLAY_NAME
    for bad in ("", "   ", "x" * (MAX_DISPLAY_NAME + 1), "Ada\u202eecalevoL", "Ada\u200b", 7):
        assert checked_display_name(bad) is None, bad


@pytest.mark.parametrize(
    "url", ["https://avatars.example/u/1?s=64", "/hub/avatar/ada.png", "/user/ada/files/me.png"]
)
def test_avatars_come_from_https_or_the_pages_own_origin(url: str) -> None:
    assert checked_avatar_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://avatars.example/u/1",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "//evil.example/a.png",
        "/\\evil.example/a.png",
        "https://user:pw@avatars.example/a.png",
        'https://avatars.example/a.png" onerror="alert(1)',
        "https://avatars.example/a.png)",
        "https://avatars.example/a b.png",
        "https:///nohost",
        "https://a.example/" + "x" * MAX_AVATAR_URL,
        "",
        None,
    ],
)
def test_other_avatar_urls_are_dropped(url: object) -> None:
    assert checked_avatar_url(url) is None


def test_a_profile_keeps_what_passes_and_its_meta_holds_only_that() -> None:
    profile = Profile.checked("Io", "url(x)", "javascript:alert(1)")
    assert profile == Profile("Io")
    assert profile.meta() == {"display_name": "Io"}
    assert Profile.from_meta({"display_name": "Io", "color": "#fff", "other": "x"}).meta() == {
        "display_name": "Io",
        "color": "#fff",
    }
    assert not Profile()
    assert Profile("io", "#fff").without_name("io") == Profile(None, "#fff")

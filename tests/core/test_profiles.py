"""How a person is shown (talkex_widget.core.profiles): only what passes the checks.

The colour and avatar URL cases live in ``avatar_catalogue.json``, shared with the browser's
checks (js/test/avatar.test.js), so the server and the view keep and drop the same values.
"""

from __future__ import annotations

import json
from pathlib import Path

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

CATALOGUE = json.loads((Path(__file__).parent / "avatar_catalogue.json").read_text("utf-8"))


@pytest.mark.parametrize("colour", CATALOGUE["colour"]["kept"])
def test_colours_on_the_allow_list_pass(colour: str) -> None:
    assert checked_colour(colour) == colour


def test_every_jupyterlab_colour_is_in_the_catalogue() -> None:
    assert set(JUPYTER_COLOURS) <= set(CATALOGUE["colour"]["kept"])


@pytest.mark.parametrize("colour", CATALOGUE["colour"]["dropped"])
def test_anything_else_is_no_colour(colour: object) -> None:
    assert checked_colour(colour) is None


def test_display_names_are_trimmed_visible_and_short() -> None:
    assert checked_display_name("  Ada Lovelace ") == "Ada Lovelace"
    assert checked_display_name("x" * MAX_DISPLAY_NAME) == "x" * MAX_DISPLAY_NAME
    for bad in ("", "   ", "x" * (MAX_DISPLAY_NAME + 1), "Ada\u202eecalevoL", "Ada\u200b", 7):
        assert checked_display_name(bad) is None, bad


@pytest.mark.parametrize("url", CATALOGUE["avatar_url"]["kept"])
def test_avatars_come_from_https_or_the_pages_own_origin(url: str) -> None:
    assert checked_avatar_url(url) == url


@pytest.mark.parametrize("url", CATALOGUE["avatar_url"]["dropped"])
def test_other_avatar_urls_are_dropped(url: object) -> None:
    assert checked_avatar_url(url) is None


def test_the_catalogue_has_an_avatar_url_just_past_the_limit() -> None:
    """The catalogue is data; this keeps its too-long case tied to :data:`MAX_AVATAR_URL`."""
    lengths = [len(url) for url in CATALOGUE["avatar_url"]["dropped"] if isinstance(url, str)]
    assert any(MAX_AVATAR_URL < n <= MAX_AVATAR_URL + 32 for n in lengths)


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

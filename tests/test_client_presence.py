"""The status a Python client shows for a person with several connections: the browser's rule."""

from __future__ import annotations

import pytest

from talkex_widget.client.presence import shown_status


@pytest.mark.parametrize(
    ("statuses", "shown"),
    [
        (["online"], "online"),
        (["online", "away"], "online"),  # an idle tab beside one in use
        (["away", "busy"], "busy"),  # a running cell says the most
        (["busy", "online"], "busy"),
        (["away", "away"], "away"),
        (["dancing"], "online"),
    ],
)
def test_the_most_present_connection_speaks_for_the_person(statuses: list[str], shown: str) -> None:
    assert shown_status([{"status": s} for s in statuses]) == shown

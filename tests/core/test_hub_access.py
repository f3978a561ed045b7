"""Hub-mode rules over the hub's user model: access scope, group rooms, moderators."""

from __future__ import annotations

import pytest

from talkex_widget.core.hub_access import (
    MODERATE_SCOPE,
    HubUser,
    access_refusal,
    group_of_room,
    has_scope,
    may_moderate,
    room_refusal,
)
from talkex_widget.core.profiles import Profile

ACCESS = "access:services!service=talkex"


def user(**fields: object) -> HubUser:
    return HubUser.from_model({"name": "alice", **fields})


def test_the_model_gives_name_groups_scopes_and_admin() -> None:
    alice = user(groups=["data", "ops"], scopes=[ACCESS], admin=True, kind="user")
    assert alice == HubUser(
        "alice", "alice", frozenset({"data", "ops"}), frozenset({ACCESS}), True, "user"
    )


def test_fields_the_token_may_not_read_are_empty() -> None:
    assert user() == HubUser("alice", "alice")


@pytest.mark.parametrize(
    ("info", "shown"),
    [
        ({"display_name": "Alice Liddell"}, "Alice Liddell"),
        ({"display_name": "  "}, "alice"),
        ({"display_name": 3}, "alice"),
        ("not a dict", "alice"),
        (None, "alice"),
    ],
)
def test_display_name_from_user_info_else_the_login_name(info: object, shown: str) -> None:
    assert user(user_info=info).display_name == shown


def test_the_hub_gives_a_colour_and_avatar_as_jupyterlab_reads_them() -> None:
    info = {"display_name": "Alice L", "color": "#0e7490", "avatar_url": "https://a.example/1"}
    alice = user(user_info=info)
    assert alice.profile() == Profile("Alice L", "#0e7490", "https://a.example/1")
    unsafe = user(user_info={"color": "url(x)", "avatar_url": "javascript:alert(1)"})
    assert (unsafe.color, unsafe.avatar_url, unsafe.profile()) == (None, None, None)
    assert user(user_info={"display_name": "alice"}).profile() is None  # nothing beyond the name


@pytest.mark.parametrize(
    ("scopes", "granted"),
    [
        ([ACCESS], True),
        (["access:services"], True),
        (["access:services!service=other"], False),
        (["access:servers!user=alice", "self"], False),
        ([], False),
    ],
)
def test_access_needs_the_service_scope_or_its_unfiltered_form(
    scopes: list[str], granted: bool
) -> None:
    assert has_scope(scopes, ACCESS) is granted
    assert (access_refusal(user(scopes=scopes), "talkex") is None) is granted


def test_the_refusal_names_the_scope_to_ask_for() -> None:
    reason = access_refusal(user(name="carol"), "talkex")
    assert reason is not None and "carol" in reason and ACCESS in reason


@pytest.mark.parametrize(
    ("room", "group"),
    [
        ("lobby", None),
        ("groups.data", None),
        ("group.data.lobby", "data"),
        ("group.data.a.b", "data"),
        ("group.data", "data"),
        ("group..x", ""),
        ("group.", ""),
    ],
)
def test_group_rooms_belong_to_the_group_they_name(room: str, group: str | None) -> None:
    assert group_of_room(room) == group


def test_only_members_join_a_group_room() -> None:
    alice, dave = user(groups=["data"]), user(name="dave", groups=["ops"])
    assert room_refusal(alice, "group.data.lobby") is None
    assert room_refusal(dave, "group.data.lobby") == "not a member of group data"
    assert room_refusal(dave, "lobby") is None
    assert room_refusal(alice, "group..x") == "group rooms are named group.<group>.<room>"


def test_admins_and_holders_of_the_custom_scope_moderate() -> None:
    assert may_moderate(user(admin=True))
    assert may_moderate(user(scopes=[MODERATE_SCOPE]))
    assert not may_moderate(user(scopes=[ACCESS]))

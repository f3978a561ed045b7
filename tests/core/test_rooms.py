from datetime import datetime, timezone

import pytest

from talkex_widget.core.rooms import (
    DEFAULT_RULES,
    RoomError,
    RoomRules,
    iso_now,
    online_meta,
    room_from_topic,
    topic_for,
)


@pytest.mark.parametrize("name", ["lobby", "a", "data-team_2.0", "x" * 64])
def test_good_room_names(name: str) -> None:
    assert DEFAULT_RULES.room_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must not be empty"),
        ("x" * 65, "at most 64"),
        ("has space", "only use letters"),
        ("émoji", "only use letters"),
        ("a/b", "only use letters"),
        ("<script>", "only use letters"),
    ],
)
def test_bad_room_names(name: str, reason: str) -> None:
    with pytest.raises(RoomError, match=reason):
        DEFAULT_RULES.room_name(name)


def test_nickname_is_trimmed() -> None:
    assert DEFAULT_RULES.nickname("  Ada Lovelace \n") == "Ada Lovelace"
    assert DEFAULT_RULES.nickname("x" * 32) == "x" * 32
    assert DEFAULT_RULES.nickname("Zoë 🐍") == "Zoë 🐍"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "required"),
        (42, "required"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 33, "at most 32"),
        ("a\x00b", "invisible"),
        ("a\x1bb", "invisible"),
        ("evil\u202eadmin", "U\\+202E RIGHT-TO-LEFT OVERRIDE"),
        ("zero\u200bwidth", "U\\+200B ZERO WIDTH SPACE"),
        ("Ada\u034f", "U\\+034F COMBINING GRAPHEME JOINER"),
        ("\u3164", "U\\+3164 HANGUL FILLER"),
        ("\u2800", "U\\+2800 BRAILLE PATTERN BLANK"),
        ("Ada\ufe0f", "U\\+FE0F VARIATION SELECTOR-16"),
        ("Ada\U000e0100", "U\\+E0100 VARIATION SELECTOR-17"),
        ("\u0301Ada", "combining mark without a letter"),
    ],
)
def test_bad_nicknames(raw: object, reason: str) -> None:
    with pytest.raises(RoomError, match=reason):
        DEFAULT_RULES.nickname(raw)


def test_body_rules() -> None:
    assert DEFAULT_RULES.body({"body": "  hi  "}) == "hi"
    assert DEFAULT_RULES.body({"body": "x" * 4000}) == "x" * 4000
    for payload, reason in [
        ({}, "must be a string"),
        ({"body": 5}, "must be a string"),
        ({"body": "  \n "}, "empty"),
        ({"body": "x" * 4001}, "too long"),
    ]:
        with pytest.raises(RoomError, match=reason):
            DEFAULT_RULES.body(payload)


def test_limits_are_configurable() -> None:
    rules = RoomRules(max_body=5, max_nickname=3)
    with pytest.raises(RoomError, match="limit 5"):
        rules.body({"body": "abcdef"})
    with pytest.raises(RoomError, match="at most 3"):
        rules.nickname("abcd")


def test_status_values() -> None:
    for status in ("online", "away", "busy"):
        assert DEFAULT_RULES.status({"status": status}) == status
    for payload in ({"status": "sleeping"}, {"status": None}, {}, {"status": ["away"]}):
        with pytest.raises(RoomError, match="must be one of"):
            DEFAULT_RULES.status(payload)


def test_integers_and_history_limit() -> None:
    rules = DEFAULT_RULES
    assert rules.optional_int({}, "last_seen_id") is None
    assert rules.optional_int({"last_seen_id": 3}, "last_seen_id") == 3
    for bad in (True, -1, "3", 1.5):
        with pytest.raises(RoomError, match="integer"):
            rules.optional_int({"last_seen_id": bad}, "last_seen_id")
    assert rules.history_limit({}) == 50
    with pytest.raises(RoomError, match="at most 200"):
        rules.history_limit({"limit": 201})
    with pytest.raises(RoomError, match="client_id"):
        rules.client_id({"client_id": "x" * 65})


def test_topics_and_time() -> None:
    assert topic_for("lobby") == "room:lobby"
    assert room_from_topic("room:lobby") == "lobby"
    assert room_from_topic("rooms:lobby") is None
    moment = datetime(2026, 11, 29, 15, 4, 5, 123456, tzinfo=timezone.utc)
    assert iso_now(moment) == "2026-11-29T15:04:05.123Z"
    assert online_meta(now=moment) == {"status": "online", "online_at": "2026-11-29T15:04:05.123Z"}


def test_activity_is_optional_short_and_printable() -> None:
    assert DEFAULT_RULES.activity({}) is None
    assert DEFAULT_RULES.activity({"activity": "  running train.ipynb "}) == "running train.ipynb"
    assert DEFAULT_RULES.activity({"activity": "   "}) is None
    for payload, reason in [
        ({"activity": 3}, "must be a string"),
        ({"activity": "x" * 81}, "at most 80"),
        ({"activity": "fit\u202emodel"}, "control"),
    ]:
        with pytest.raises(RoomError, match=reason):
            DEFAULT_RULES.activity(payload)
    assert online_meta("busy", activity="fit")["activity"] == "fit"

from talkex_widget.core.channels import ChannelTable, Route
from talkex_widget.core.protocol import Message


def msg(event: str, topic: str = "room:a", join_ref: str | None = "1") -> Message:
    return Message(join_ref, "9", topic, event, {})


def test_heartbeat_and_other_socket_events() -> None:
    table = ChannelTable()
    assert table.route(msg("heartbeat", "phoenix", None)) is Route.HEARTBEAT
    assert table.route(msg("whatever", "phoenix", None)) is Route.SOCKET_EVENT


def test_join_then_push_then_leave() -> None:
    table = ChannelTable()
    assert table.route(msg("phx_join")) is Route.JOIN
    table.add("room:a", "1")
    assert table.route(msg("new_msg")) is Route.PUSH
    assert table.route(msg("new_msg", join_ref=None)) is Route.PUSH
    assert table.route(msg("phx_leave")) is Route.LEAVE
    table.remove("room:a")
    assert table.route(msg("new_msg")) is Route.NOT_JOINED


def test_second_join_replaces_and_old_join_ref_goes_stale() -> None:
    table = ChannelTable()
    table.add("room:a", "1")
    assert table.route(msg("phx_join", join_ref="5")) is Route.REJOIN
    table.add("room:a", "5")
    assert table.route(msg("new_msg", join_ref="1")) is Route.STALE
    assert table.route(msg("phx_leave", join_ref="1")) is Route.STALE
    assert table.route(msg("new_msg", join_ref="5")) is Route.PUSH


def test_channel_limit_counts_distinct_topics() -> None:
    table = ChannelTable(max_channels=2)
    table.add("room:a", "1")
    table.add("room:b", "2")
    assert table.route(msg("phx_join", "room:c")) is Route.CHANNEL_LIMIT
    assert table.route(msg("phx_join", "room:a")) is Route.REJOIN
    assert len(table) == 2 and table.topics() == ["room:a", "room:b"]

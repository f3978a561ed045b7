import pytest

from talkex_widget.core.protocol import (
    Message,
    ProtocolError,
    decode,
    encode,
    error_reply,
    ok_reply,
)


def test_round_trip_keeps_every_slot() -> None:
    message = Message("1", "2", "room:lobby", "new_msg", {"body": "héllo", "n": [1, None]})
    assert decode(encode(message)) == message


def test_round_trip_with_null_refs_and_bytes_input() -> None:
    message = Message(None, None, "room:lobby", "presence_diff", {"joins": {}, "leaves": {}})
    assert decode(encode(message).encode()) == message


def test_encode_is_the_v2_array_form() -> None:
    text = encode(Message(None, "7", "phoenix", "heartbeat", {}))
    assert text == '[null,"7","phoenix","heartbeat",{}]'


def test_replies_address_the_push_they_answer() -> None:
    push = Message("3", "9", "room:a", "new_msg", {"body": "x"})
    assert ok_reply(push, {"id": 4}) == Message(
        "3", "9", "room:a", "phx_reply", {"status": "ok", "response": {"id": 4}}
    )
    assert error_reply(push, "nope").payload == {
        "status": "error",
        "response": {"reason": "nope"},
    }


@pytest.mark.parametrize(
    ("frame", "reason", "topic", "ref"),
    [
        ("{not json", "not valid JSON", None, None),
        ("", "not valid JSON", None, None),
        ("\xff\xfe", "not valid JSON", None, None),
        ('{"topic": "room:a"}', "must be a JSON array", None, None),
        ('"just a string"', "must be a JSON array", None, None),
        ("[]", "5 elements", None, None),
        ('["1", "2", "room:a", "new_msg"]', "5 elements", None, None),
        ('["1", "2", "room:a", "new_msg", {}, 6]', "5 elements", None, None),
        ('[1, "2", "room:a", "new_msg", {}]', "join_ref must be a string", "room:a", "2"),
        ('["1", 2, "room:a", "new_msg", {}]', "ref must be a string", "room:a", None),
        ('["1", "2", 3, "new_msg", {}]', "topic must be a non-empty string", None, "2"),
        ('["1", "2", "", "new_msg", {}]', "topic must be a non-empty string", None, "2"),
        ('["1", "2", "room:a", null, {}]', "event must be a non-empty string", "room:a", "2"),
        ('["1", "2", "room:a", "new_msg", "body"]', "payload must be a JSON object", "room:a", "2"),
        ('["1", "2", "room:a", "new_msg", [1]]', "payload must be a JSON object", "room:a", "2"),
        ('["1", "2", "room:a", "new_msg", null]', "payload must be a JSON object", "room:a", "2"),
    ],
)
def test_malformed_frames_raise_with_reason_and_whatever_addressing_survived(
    frame: str, reason: str, topic: str | None, ref: str | None
) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(frame)
    assert reason in info.value.reason
    assert info.value.topic == topic
    assert info.value.ref == ref


def test_invalid_utf8_bytes_are_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode(b'["1","2","room:a","new_msg",{"body":"\xc3\x28"}]')

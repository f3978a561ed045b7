"""History in Redis, so that every node of a cluster serves the same rooms' history.

Keys, per room (room names hold no ``:``)::

    talkex:room:<room>:last_id     INCR counter: ids are never reused, even after trimming
    talkex:room:<room>:messages    sorted set, score = id, member = "<id> <JSON without id>"
    talkex:room:<room>:client_ids  sorted set, score = id, member = JSON [author, client_id]
    talkex:room:<room>:attachments hash, attachment id -> "<content type> <base64 bytes>"
    talkex:room:<room>:attachment_ids  sorted set, score = message id, member = attachment id
    talkex:room:<room>:reads       hash, person -> the id they have read up to
    talkex:rooms                   set of the rooms that hold messages

and the room's sequence of messages and changes (``last_seq``, ``seqs``: see
:mod:`.redis_changes`). Changes to a message rewrite its member; its JSON also holds
``edited_at``, ``deleted_at`` and ``reactions`` once it has them.

A message's ``content`` (a shared table, code, a figure's metadata) is one more field of its
JSON. A figure's image is written by the same script as its message, and trimmed with it.
The client decodes replies as text, so the image is kept base64-encoded.

An append is one Lua script (:data:`APPEND_SCRIPT`), so it is atomic however many nodes
append at once: look the ``client_id`` up, take the next id, add the message and its
``client_id``, trim the oldest messages past ``max_len`` together with their ``client_id``
entries. ``append`` returns once Redis has run the script; how durable that is, Redis decides:
configure AOF or RDB snapshots on the server for history that survives a Redis restart.

Every command goes through one :class:`~talkex_widget.backends.redis_client.OrderedPipeline`: ids
follow the order of the calls on a node, a read sees the appends made before it, and a burst
of joins reading history costs a few round trips on one connection.

Each room keeps its newest ``max_len`` messages (default :data:`DEFAULT_MAX_LEN`; set it with
``redis://HOST:PORT/DB?max_len=N``). Keep it above the service's catch-up limit, so a client
that missed more than what is kept is told to reset rather than handed a gap.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from talkex_widget.backends.history import (
    Attachment,
    HistoryError,
    HistoryStore,
    StoredMessage,
    UnknownMessage,
    check_limit,
)
from talkex_widget.backends.history.redis_changes import (
    CHANGED_AFTER_SCRIPT,
    NEXT_SEQ_LUA,
    PAGE_SCRIPT,
    UPDATE_SCRIPT,
    changed_member,
    with_changes,
)
from talkex_widget.backends.redis_client import OrderedPipeline, RedisError, address, client

__all__ = ["APPEND_SCRIPT", "DEFAULT_MAX_LEN", "MARK_READ_SCRIPT", "RedisHistory"]

DEFAULT_MAX_LEN = 10_000
"""Messages kept per room: a few megabytes of Redis memory for a busy room."""

APPEND_SCRIPT = (
    NEXT_SEQ_LUA
    + """
local last_id, messages, client_ids, rooms = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local attachments, attachment_ids = KEYS[5], KEYS[6]
local room, fields, client_key, max_len = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local attachment_id, attachment = ARGV[5], ARGV[6]
local _, seqs = seq_keys(room)
if client_key ~= '' then
  local original = redis.call('ZSCORE', client_ids, client_key)
  if original then
    local found = redis.call('ZRANGEBYSCORE', messages, original, original)
    if found[1] then
      return {0, found[1], redis.call('ZSCORE', seqs, original) or original}
    end
  end
end
local seq = next_seq(room, messages)
local id = redis.call('INCR', last_id)
local member = id .. ' ' .. fields
redis.call('ZADD', messages, id, member)
redis.call('ZADD', seqs, seq, id)
if client_key ~= '' then
  redis.call('ZADD', client_ids, id, client_key)
end
if attachment_id ~= '' then
  redis.call('HSET', attachments, attachment_id, attachment)
  redis.call('ZADD', attachment_ids, id, attachment_id)
end
local excess = redis.call('ZCARD', messages) - max_len
if excess > 0 then
  local oldest_kept = redis.call('ZRANGE', messages, excess, excess, 'WITHSCORES')[2]
  local trimmed = redis.call('ZRANGE', messages, 0, excess - 1, 'WITHSCORES')
  for i = 2, #trimmed, 2 do
    redis.call('ZREM', seqs, trimmed[i])
  end
  redis.call('ZREMRANGEBYRANK', messages, 0, excess - 1)
  redis.call('ZREMRANGEBYSCORE', client_ids, '-inf', '(' .. oldest_kept)
  local gone = redis.call('ZRANGEBYSCORE', attachment_ids, '-inf', '(' .. oldest_kept)
  if gone[1] then
    redis.call('HDEL', attachments, unpack(gone))
    redis.call('ZREMRANGEBYSCORE', attachment_ids, '-inf', '(' .. oldest_kept)
  end
end
redis.call('SADD', rooms, room)
return {1, member, seq}
"""
)
"""KEYS: the room's last_id, messages, client_ids, the rooms set, the room's attachments and
attachment_ids. ARGV: room, the message as JSON without its id, the ``client_id`` key ('' for
none), max_len, the attachment id ('' for none) and its stored value. Returns
``{created, member, seq}``; a retry gets ``{0, original member, its seq}``. Sent with
``EVAL``: Redis keeps the compiled script by its hash, and a Redis that restarted needs nothing
loaded again."""

MARK_READ_SCRIPT = """
local id = tonumber(ARGV[2])
local latest = tonumber(redis.call('GET', KEYS[2]) or '0')
if id > latest then id = latest end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if id > current then
  redis.call('HSET', KEYS[1], ARGV[1], id)
  return id
end
return current
"""
"""KEYS: the room's reads hash (person -> id) and last_id. ARGV: person, id. Moves the
position forward only, never past the room's latest id; returns where it now is."""

_ROOMS = "talkex:rooms"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class RedisHistory(HistoryStore):
    """A :class:`HistoryStore` on the Redis server at ``url``, keeping ``max_len`` per room.

    ``max_len`` defaults to the URL's ``max_len`` query parameter, then :data:`DEFAULT_MAX_LEN`.
    """

    def __init__(self, url: str, max_len: int | None = None) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        url_max_len = query.pop("max_len", None)
        if max_len is None:
            try:
                max_len = int(url_max_len) if url_max_len is not None else DEFAULT_MAX_LEN
            except ValueError:
                raise ValueError(f"history URL {url!r}: max_len must be a number") from None
        if max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {max_len}")
        self.max_len = max_len
        self._redis = client(urlunsplit(parts._replace(query=urlencode(query))))
        self._pipeline = OrderedPipeline(self._redis)
        self._address = address(self._redis)
        self._closed = False

    async def start(self) -> None:
        """Check that Redis answers, so that a wrong URL is reported at server start-up."""
        await self._call("PING")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._pipeline.close()
        await self._redis.aclose()

    async def append(
        self,
        room: str,
        author: str,
        body: str,
        sent_at: str,
        client_id: str | None = None,
        *,
        content: dict[str, Any] | None = None,
        attachment: Attachment | None = None,
    ) -> tuple[StoredMessage, bool]:
        fields: dict[str, Any] = {"author": author, "body": body, "sent_at": sent_at}
        if client_id is not None:
            fields["client_id"] = client_id
        if content is not None:
            fields["content"] = content
        client_key = b"" if client_id is None else orjson.dumps([author, client_id])
        keys = (
            _key(room, "last_id"),
            _key(room, "messages"),
            _key(room, "client_ids"),
            _ROOMS,
            _key(room, "attachments"),
            _key(room, "attachment_ids"),
        )
        stored = b"" if attachment is None else _attachment_value(attachment)
        attachment_id = "" if attachment is None else attachment.id
        args = (room, orjson.dumps(fields), client_key, self.max_len, attachment_id, stored)
        created, member, seq = await self._call("EVAL", APPEND_SCRIPT, len(keys), *keys, *args)
        return _message(room, member, seq), bool(created)

    async def after(self, room: str, after_id: int, limit: int) -> tuple[list[StoredMessage], bool]:
        check_limit(limit)
        low = f"({_clamp(after_id)}"
        messages = await self._page(room, "ZRANGEBYSCORE", low, "+inf", limit + 1)
        return messages[:limit], len(messages) > limit

    async def before(
        self, room: str, before_id: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        check_limit(limit)
        high = "+inf" if before_id is None else f"({_clamp(before_id)}"
        messages = await self._page(room, "ZREVRANGEBYSCORE", high, "-inf", limit + 1)
        return messages[:limit][::-1], len(messages) > limit

    async def _page(
        self, room: str, command: str, start: str, stop: str, count: int
    ) -> list[StoredMessage]:
        keys = (_key(room, "messages"), _key(room, "seqs"))
        flat = await self._call("EVAL", PAGE_SCRIPT, len(keys), *keys, command, start, stop, count)
        return _messages(room, flat)

    async def update(
        self, room: str, message_id: int, change: Callable[[StoredMessage], StoredMessage]
    ) -> tuple[StoredMessage, bool]:
        """Optimistic: written only if nobody changed the message since it was read."""
        messages = _key(room, "messages")
        while True:
            found = await self._call("ZRANGEBYSCORE", messages, message_id, message_id)
            if not found:
                raise UnknownMessage(room, message_id)
            current = _message(room, found[0], 0)
            changed = change(current)
            if changed == current:
                return replace(current, seq=await self._seq_of(room, message_id)), False
            member = changed_member(found[0], changed)
            args = (room, message_id, found[0], member)
            written = await self._call("EVAL", UPDATE_SCRIPT, 1, messages, *args)
            if written[0] == -1:
                raise UnknownMessage(room, message_id)
            if written[0] == 1:
                return _message(room, member, written[1]), True

    async def _seq_of(self, room: str, message_id: int) -> int:
        seq = await self._call("ZSCORE", _key(room, "seqs"), message_id)
        return message_id if seq is None else int(seq)

    async def changed_after(
        self, room: str, after_seq: int, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        check_limit(limit)
        keys = (_key(room, "messages"), _key(room, "seqs"), _key(room, "last_seq"))
        args = (_clamp(after_seq), limit + 1)
        flat = await self._call("EVAL", CHANGED_AFTER_SCRIPT, len(keys), *keys, *args)
        messages = _messages(room, flat)
        return messages[:limit], len(messages) > limit

    async def last_seq(self, room: str) -> int:
        """The counter, or for a room stored before it existed its last id (see
        :mod:`.redis_changes`)."""
        last_seq, last_id = await self._call("MGET", _key(room, "last_seq"), _key(room, "last_id"))
        return int(last_seq if last_seq is not None else last_id or 0)

    async def attachment(self, room: str, attachment_id: str) -> Attachment | None:
        value = await self._call("HGET", _key(room, "attachments"), attachment_id)
        if value is None:
            return None
        content_type, _, data = value.partition(" ")
        return Attachment(attachment_id, content_type, base64.b64decode(data))

    async def rooms(self) -> list[str]:
        return sorted(await self._call("SMEMBERS", _ROOMS))

    async def read_position(self, room: str, person: str) -> int:
        return int(await self._call("HGET", _key(room, "reads"), person) or 0)

    async def mark_read(self, room: str, person: str, message_id: int) -> int:
        keys = (_key(room, "reads"), _key(room, "last_id"))
        args = (person, _clamp(message_id))
        return int(await self._call("EVAL", MARK_READ_SCRIPT, len(keys), *keys, *args))

    async def _call(self, *command: Any) -> Any:
        self._check_open()
        try:
            return await self._pipeline.call(*command)
        except (RedisError, OSError) as exc:
            raise HistoryError(
                f"cannot use the message history in Redis at {self._address}: {exc}"
            ) from exc

    def _check_open(self) -> None:
        if self._closed:
            raise HistoryError(f"the message history in Redis at {self._address} is closed")


def _key(room: str, part: str) -> str:
    return f"talkex:room:{room}:{part}"


def _messages(room: str, flat: list[str]) -> list[StoredMessage]:
    """Messages from a script's ``member, seq, member, seq, ...`` reply."""
    return [_message(room, member, seq) for member, seq in zip(flat[::2], flat[1::2], strict=True)]


def _message(room: str, member: str, seq: int | str) -> StoredMessage:
    message_id, _, fields = member.partition(" ")
    data: dict[str, Any] = orjson.loads(fields)
    return with_changes(_plain_message(int(message_id), room, data), data, int(seq))


def _plain_message(message_id: int, room: str, data: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        message_id,
        room,
        data["author"],
        data["body"],
        data["sent_at"],
        data.get("client_id"),
        data.get("content"),
    )


def _attachment_value(attachment: Attachment) -> bytes:
    return attachment.content_type.encode() + b" " + base64.b64encode(attachment.data)


def _clamp(n: int) -> int:
    """Keep a client-supplied id a number Redis parses as a score, however large."""
    return max(_INT64_MIN, min(n, _INT64_MAX))

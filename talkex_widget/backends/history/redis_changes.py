"""The room sequence in the Redis store: Lua for ``seq``, optimistic changes, sequenced reads.

Two more keys per room::

    talkex:room:<room>:last_seq    INCR counter: the room's sequence of messages and changes
    talkex:room:<room>:seqs        sorted set, member = message id, score = its latest seq

A sorted set keyed by message id keeps exactly one entry per message: a change re-scores it,
so "everything after seq n" is one range query and yields each message once.

A room stored before the sequence existed has no ``last_seq``. The first write that needs a
``seq`` (an append or a change, see :data:`NEXT_SEQ_LUA`) gives its messages ``seq = id`` and
starts the counter at ``last_id``, inside the same script, so two nodes cannot both do it.
Reads of such a room treat ``seq`` as ``id``, which is what that write will store.

The scripts name the ``last_seq``/``seqs`` keys from the room name instead of ``KEYS``: fine
on one Redis server (what Talkex supports), not on Redis Cluster.

A change is optimistic: read the message, apply the pure rules in Python, and let
:data:`UPDATE_SCRIPT` write it only if the stored message is still the one read; otherwise
read again. The rules stay in one place (:mod:`talkex_widget.core.changes`), not in Lua.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from talkex_widget.backends.history import StoredMessage

__all__ = [
    "CHANGED_AFTER_SCRIPT",
    "NEXT_SEQ_LUA",
    "PAGE_SCRIPT",
    "UPDATE_SCRIPT",
    "changed_member",
    "with_changes",
]

NEXT_SEQ_LUA = """
local function seq_keys(room)
  local prefix = 'talkex:room:' .. room .. ':'
  return prefix .. 'last_seq', prefix .. 'seqs', prefix .. 'last_id'
end
local function next_seq(room, messages)
  local last_seq, seqs, last_id = seq_keys(room)
  if redis.call('EXISTS', last_seq) == 0 then
    local all = redis.call('ZRANGE', messages, 0, -1, 'WITHSCORES')
    for i = 2, #all, 2 do
      redis.call('ZADD', seqs, all[i], all[i])
    end
    redis.call('SET', last_seq, redis.call('GET', last_id) or 0)
  end
  return redis.call('INCR', last_seq)
end
"""
"""Lua prepended to every script that writes: ``next_seq(room, messages_key)``."""

UPDATE_SCRIPT = (
    NEXT_SEQ_LUA
    + """
local messages = KEYS[1]
local room, id, expected, member = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local found = redis.call('ZRANGEBYSCORE', messages, id, id)[1]
if not found then
  return {-1}
end
if found ~= expected then
  return {0}
end
redis.call('ZREM', messages, found)
redis.call('ZADD', messages, id, member)
local seq = next_seq(room, messages)
local _, seqs = seq_keys(room)
redis.call('ZADD', seqs, seq, id)
return {1, seq}
"""
)
"""KEYS: the room's messages. ARGV: room, id, the member read, the new member. Returns
``{1, seq}`` when written, ``{0}`` when the message changed since it was read (read again),
``{-1}`` when it is gone."""

_READ_LUA = """
local function with_seqs(found, seqs)
  local out = {}
  for _, m in ipairs(found) do
    local id = string.match(m, '^%d+')
    out[#out + 1] = m
    out[#out + 1] = redis.call('ZSCORE', seqs, id) or id
  end
  return out
end
"""

PAGE_SCRIPT = (
    _READ_LUA
    + """
local found = redis.call(ARGV[1], KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4])
return with_seqs(found, KEYS[2])
"""
)
"""KEYS: messages, seqs. ARGV: ZRANGEBYSCORE or ZREVRANGEBYSCORE, its two bounds, the count.
Returns member, seq, member, seq, ...: a page of messages with their seqs, in one round trip."""

CHANGED_AFTER_SCRIPT = (
    _READ_LUA
    + """
local messages, seqs, last_seq = KEYS[1], KEYS[2], KEYS[3]
local after, count = ARGV[1], ARGV[2]
if redis.call('EXISTS', last_seq) == 0 then
  local found = redis.call('ZRANGEBYSCORE', messages, '(' .. after, '+inf', 'LIMIT', 0, count)
  return with_seqs(found, seqs)
end
local ids = redis.call('ZRANGEBYSCORE', seqs, '(' .. after, '+inf', 'WITHSCORES', 'LIMIT', 0, count)
local out = {}
for i = 1, #ids, 2 do
  local m = redis.call('ZRANGEBYSCORE', messages, ids[i], ids[i])[1]
  if m then
    out[#out + 1] = m
    out[#out + 1] = ids[i + 1]
  end
end
return out
"""
)
"""KEYS: messages, seqs, last_seq. ARGV: after_seq, count. Returns member, seq, ... in seq
order (for a room never sequenced: by id, since its seqs will be its ids)."""


def with_changes(message: StoredMessage, data: dict[str, Any], seq: int) -> StoredMessage:
    """``message`` (its own fields read from ``data``) with its seq and latest change."""
    reactions = tuple((e, tuple(w)) for e, w in data.get("reactions", ()))
    return replace(
        message,
        seq=seq,
        edited_at=data.get("edited_at"),
        deleted_at=data.get("deleted_at"),
        reactions=reactions,
    )


def changed_member(member: str, changed: StoredMessage) -> str:
    """The stored member of ``changed``: the read member's JSON with the changed fields, so
    that fields this module does not know (a shared result's content) are kept as they were."""
    message_id, _, fields = member.partition(" ")
    data: dict[str, Any] = orjson.loads(fields)
    data["body"] = changed.body
    for name, value in (
        ("content", changed.content),
        ("edited_at", changed.edited_at),
        ("deleted_at", changed.deleted_at),
        ("reactions", [[e, list(w)] for e, w in changed.reactions] or None),
    ):
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return f"{message_id} {orjson.dumps(data).decode()}"

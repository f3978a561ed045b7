"""A ChatService with memory backends and a fake clock, driven without Tornado."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from talkex_widget.backends.history.memory import MemoryHistory
from talkex_widget.backends.pubsub.memory import MemoryPubSub
from talkex_widget.core.presence_batch import BATCH_MAX
from talkex_widget.server.members import Member
from talkex_widget.server.service import ChatService

from .fakes import FakeClock, FakePeer

MakeService = Callable[..., Awaitable[ChatService]]


@pytest.fixture
async def make_service() -> AsyncIterator[MakeService]:
    """``await make_service(limits=...)``: a started service on node ``here``, closed after."""
    services: list[ChatService] = []

    async def _make(**kwargs: Any) -> ChatService:
        kwargs = {"node": "here", "scheduler": FakeClock(), **kwargs}
        service = ChatService(MemoryHistory(), MemoryPubSub(), **kwargs)
        await service.start()
        services.append(service)
        return service

    yield _make
    for service in services:
        with contextlib.suppress(Exception):
            await service.close()


def flush(service: ChatService) -> None:
    """Let every pending presence window end (the fake clock moves past the longest one)."""
    clock = service.presence.scheduler
    assert isinstance(clock, FakeClock)
    clock.advance(BATCH_MAX)


async def join_lobby(
    service: ChatService, nickname: str, payload: dict[str, Any] | None = None
) -> tuple[Member, FakePeer, dict[str, Any]]:
    """Join the lobby as the session does it: the reply's response, then ``after_join``."""
    peer = FakePeer(nickname)
    member, response = await service.join(peer, "lobby", "1", payload or {})
    await service.after_join(member)
    return member, peer, response

"""An async Phoenix Channels V2 client on Tornado, and a chat-room client on top of it.

Two layers, as in phoenix.js: the protocol (:mod:`.socket`, :mod:`.channel`, :mod:`.presence`,
with phoenix.js's heartbeat, reconnect backoff, automatic rejoin and pending presence diffs, the
defaults in :mod:`.timing`) so the Python side of the notebook widget and the tests see the
server exactly as the browser does; and the chat (:mod:`.room`), which adds history,
de-duplication by id, catch-up after a reconnect and resending unacknowledged messages.
"""

from __future__ import annotations

from .channel import Channel, PushError
from .presence import PresenceView
from .room import RoomClient
from .socket import ConnectError, Socket, TokenExpired, socket_url
from .timing import RECONNECT_BACKOFF, REJOIN_BACKOFF

__all__ = [
    "RECONNECT_BACKOFF",
    "REJOIN_BACKOFF",
    "Channel",
    "ConnectError",
    "PresenceView",
    "PushError",
    "RoomClient",
    "Socket",
    "TokenExpired",
    "socket_url",
]

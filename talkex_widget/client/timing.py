"""phoenix.js's timing defaults, in one place, so the Python client behaves like the browser.

A server tuned for the browser (idle timeout, rate limits) then sees the same cadence from the
notebook's kernel link, tests and bots: heartbeats, push timeouts, reconnect and rejoin steps.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = [
    "HEARTBEAT_INTERVAL",
    "PUSH_TIMEOUT",
    "RECONNECT_AFTER_LAST",
    "RECONNECT_BACKOFF",
    "REJOIN_AFTER_LAST",
    "REJOIN_BACKOFF",
    "backoff",
]

HEARTBEAT_INTERVAL = 30.0
"""phoenix.js ``heartbeatIntervalMs``: seconds between heartbeats, and how long one may wait."""
PUSH_TIMEOUT = 10.0
"""phoenix.js ``timeout``: seconds a push, join or connection attempt waits for its answer."""
RECONNECT_BACKOFF = (0.01, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0, 2.0)
"""phoenix.js ``reconnectAfterMs``, in seconds; then :data:`RECONNECT_AFTER_LAST`."""
RECONNECT_AFTER_LAST = 5.0
REJOIN_BACKOFF = (1.0, 2.0, 5.0)
"""phoenix.js ``rejoinAfterMs``, in seconds; then :data:`REJOIN_AFTER_LAST`."""
REJOIN_AFTER_LAST = 10.0


def backoff(steps: Sequence[float], tries: int, last: float) -> float:
    """Seconds to wait before try number ``tries`` (1-based): ``steps`` then ``last``.

    Up to 25 % is added at random so that clients dropped together (a server restart) do not
    all come back in the same instant.
    """
    delay = steps[tries - 1] if 0 < tries <= len(steps) else last
    return delay * random.uniform(1.0, 1.25)

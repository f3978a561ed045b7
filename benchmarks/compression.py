"""What permessage-deflate would cost per delivery and per socket (in-process, no server).

Talkex leaves compression off. With it, a frame cannot be built once and shared: every socket
has its own deflate context (context takeover), so each broadcast is compressed once per
member, and each context holds its window and hash tables for the socket's whole life.
"""

from __future__ import annotations

import time
import tracemalloc

import orjson
from tornado.websocket import _PerMessageDeflateCompressor

__all__ = ["measure"]


def measure(sockets: int = 300, rounds: int = 20) -> dict[str, float]:
    frames = [
        orjson.dumps(
            [
                None,
                None,
                "room:bench",
                "new_msg",
                {
                    "id": 123456 + i,
                    "body": f"message {i} about cell {i * 7919 % 1000} of the notebook, see?",
                    "author": f"m{i * 31 % 1000}",
                    "sent_at": f"2025-01-01T12:00:{i % 60:02}.{i * 37 % 1000:03}Z",
                },
            ]
        )
        for i in range(rounds)
    ]
    tracemalloc.start()  # zlib allocates through PyMem_RawMalloc, which tracemalloc sees
    before = tracemalloc.get_traced_memory()[0]
    compressors = [
        _PerMessageDeflateCompressor(persistent=True, max_wbits=None) for _ in range(sockets)
    ]
    size = sum(len(compressor.compress(frames[0])) for compressor in compressors)
    allocated = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    start = time.perf_counter()
    for frame in frames[1:]:
        for compressor in compressors:
            size += len(compressor.compress(frame))
    elapsed = time.perf_counter() - start
    del compressors
    return {
        "compress_us_per_delivery": round(1e6 * elapsed / (sockets * (rounds - 1)), 1),
        "kb_per_socket": round(allocated / sockets / 1024, 1),
        "frame_bytes": round(sum(map(len, frames)) / rounds),
        "compressed_bytes": round(size / (sockets * rounds)),
    }

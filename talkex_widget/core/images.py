"""What an uploaded image really is, read from its bytes: PNG or JPEG, and its size in pixels.

The declared type and the file name are never trusted: a "PNG" that is an SVG (script inside),
HTML or a truncated file is refused here, before anything is stored, and the type served back
(``Content-Type`` with ``nosniff``) is the one the bytes proved. Only the header is decoded
(PNG's ``IHDR``, JPEG's start-of-frame), which is enough to refuse what no browser would
draw and cheap enough to run on every post, without an imaging library.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["MAX_PIXELS_SIDE", "ImageError", "ImageInfo", "sniff_image"]

MAX_PIXELS_SIDE = 16384
"""Longest side accepted: a small file that claims a huge canvas makes browsers allocate it."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ImageError(ValueError):
    """The bytes are not an image Talkex shows; the message says why, for the sender."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def sniff_image(data: bytes) -> ImageInfo:
    """The type and dimensions the bytes prove, or :class:`ImageError`."""
    if data.startswith(PNG_SIGNATURE):
        info = _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        info = _jpeg(data)
    else:
        raise ImageError("not a PNG or JPEG image (only PNG and JPEG are accepted; no SVG)")
    if not (1 <= info.width <= MAX_PIXELS_SIDE and 1 <= info.height <= MAX_PIXELS_SIDE):
        raise ImageError(
            f"image is {info.width}×{info.height} pixels; each side must be 1 to {MAX_PIXELS_SIDE}"
        )
    return info


def _png(data: bytes) -> ImageInfo:
    # The first chunk must be IHDR (length 13): width, height, then depth and colour type.
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise ImageError("broken PNG: it has no IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    if not data.rstrip(b"\x00").endswith(b"IEND\xae\x42\x60\x82"):
        raise ImageError("broken PNG: it is truncated (no IEND chunk)")
    return ImageInfo("image/png", width, height)


def _jpeg(data: bytes) -> ImageInfo:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageError("broken JPEG: a segment does not start with a marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            raise ImageError("broken JPEG: a segment has an impossible length")
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return ImageInfo("image/jpeg", width, height)
        if marker == 0xDA:  # start of scan before any frame header
            break
        pos += 2 + length
    raise ImageError("broken JPEG: no frame header with the image size")

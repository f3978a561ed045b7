"""Talkex: chat with presence beside your notebook code.

Importing the package stays cheap (no Tornado, no widget machinery) so ``%load_ext`` and the
CLI start fast; the heavy parts are imported where they are used.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]

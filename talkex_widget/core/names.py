"""Names people cannot pass off as someone else's: no invisible padding, no look-alikes.

With a shared token, the nickname a person types is all that says who they are, so two
kinds of names are refused (issue 12, finding 10):

* **Invisible or filler characters**, and combining marks with no letter to sit on. ``Ada``
  followed by a combining grapheme joiner, a variation selector or a tag, or a name that is
  only a Hangul filler or a blank Braille pattern, shows as ``Ada`` or as nothing at all.
  :func:`check_visible` refuses them with a reason naming the character.
* **Look-alikes of someone present.** Two names that render alike (``Adа`` with a Cyrillic
  ``а``, ``ADA``, ``Ada`` in fullwidth letters) share a skeleton (:func:`skeletons`), as Unicode
  TS #39 defines it for confusable detection; :func:`confusable_with` finds the present name
  a new one would be mistaken for, and :func:`check_not_confusable` refuses it.

The confusables map is Unicode's ``confusables.txt`` as the ``confusable_homoglyphs`` package
ships it, not a table of our own: keeping such a table current is a job of its own.

Pure: no I/O beyond the package's data, read once on first use.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "LookAlikes",
    "NameRefused",
    "check_not_confusable",
    "check_visible",
    "confusable",
    "confusable_with",
    "load",
    "skeletons",
]

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
"""Controls, format characters, unassigned code points and separators; the ASCII space, the
one separator a name may hold, is let through separately."""

_DEFAULT_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS (and the vowel separator)
    (0x2065, 0x2065),
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS 1-16
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),  # tags and VARIATION SELECTORS 17-256
)
"""The Default_Ignorable_Code_Point characters that are not format characters (``Cf``, which
the categories above already refuse): PropList.txt's Other_Default_Ignorable_Code_Point and
Variation_Selector. Python's :mod:`unicodedata` has no such property; Unicode keeps these
ranges stable, reserving whole blocks (the last range) for future ignorables."""

_BLANK_SYMBOLS = frozenset({"\u2800"})
"""Symbols that draw nothing although Unicode does not call them ignorable: the blank Braille
pattern, the usual way to post as "nobody"."""

_ROUNDS = 8
"""More than any chain needs: the map may yield a capital or a compatibility character that
NFKC and case folding change again, which may expose another mapping; :func:`skeletons`
repeats all three until nothing changes. A test checks every mapped character settles."""


class NameRefused(ValueError):
    """A name refused because it could be mistaken for another; ``reason`` is shown as is.

    A :class:`ValueError` of its own, not :class:`~talkex_widget.core.rooms.RoomError`, so
    that the room rules can call this module without an import cycle.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_visible(name: str) -> str:
    """Return ``name`` if every character in it shows; else raise :class:`NameRefused`.

    Refused: invisible characters (controls, format characters, separators other than the
    ASCII space, default-ignorable code points such as variation selectors and fillers, blank
    symbols) anywhere, and a combining mark at the start or after a space, where it has no
    letter to sit on. Accents on letters (``José``, decomposed or not) are fine.
    """
    previous = " "
    for char in name:
        if _is_invisible(char):
            raise NameRefused(
                "nickname may not contain control, invisible or filler characters "
                f"({_describe(char)})"
            )
        if unicodedata.category(char).startswith("M") and previous == " ":
            raise NameRefused(
                f"nickname may not contain a combining mark without a letter before it "
                f"({_describe(char)})"
            )
        previous = char
    return name


@functools.lru_cache(maxsize=1024)
def skeletons(name: str) -> tuple[str, str]:
    """The two forms that two look-alike names share one of, after Unicode TS #39.

    Each is NFKC (fullwidth and styled letters become plain), case folding (``ADA`` is
    ``ada``) and the confusables map over the NFD form (Cyrillic ``а`` is Latin ``a``, ``m``
    is ``rn``), repeated until stable; they differ in what comes first:

    * *folded first*: the usual order. ``Ian`` and ``ian`` match (both ``ian``).
    * *mapped first*: the map also runs before folding, so that capitals of other scripts
      match Latin ones: Cyrillic ``ВОВ`` is ``BOB``, hence ``Bob``; folded first it would be
      ``вов``, which looks like nothing Latin. Here ``I`` is ``l`` as TS #39 says, so ``Ian``
      matches ``lan``, but no longer ``ian``.

    No single key can make ``I`` equal both ``l`` and ``i``; two keys can, and
    :func:`confusable` calls names alike when either matches. For comparing only: a skeleton
    mixes scripts and is never shown.

    Every join computes one, so most names, plain ASCII, take one :meth:`str.translate` per
    skeleton (see :func:`_ascii_tables`) instead of a dozen normalizations. Cached for the
    few calls of one join (its check against the room, then its tracking);
    :class:`LookAlikes` keeps the skeletons of the names it holds, so the cache stays small
    however many people a server sees.
    """
    if name.isascii():
        folded_table, mapped_table = _ascii_tables()
        folded = name.translate(folded_table)
        if folded.isascii():  # else a character whose chain leaves ASCII: the whole way
            return folded, name.translate(mapped_table)
    return _settle(name, _fold_then_map), _settle(name, _map_then_fold)


@functools.cache
def _ascii_tables() -> tuple[dict[int, str], dict[int, str]]:
    """Each ASCII character's two skeletons, as :meth:`str.translate` tables.

    On ASCII text NFKC and NFD change nothing and case folding is per character, so while
    every step stays in ASCII a skeleton is the characters' own skeletons put together: one
    C call instead of a dozen normalizations. A character whose chain leaves ASCII (``%``
    passes through ``º/₀``, where normalization may look at neighbours) maps to a non-ASCII
    marker in both tables, sending its name the whole way. A test checks both ways agree.
    """
    tables: tuple[dict[int, str], dict[int, str]] = ({}, {})
    for point in range(128):
        chains = [_chain(chr(point), step) for step in (_fold_then_map, _map_then_fold)]
        plain = all(text.isascii() for chain in chains for text in chain)
        for table, chain in zip(tables, chains, strict=True):
            table[point] = chain[-1] if plain else _LEAVES_ASCII
    return tables


_LEAVES_ASCII = "\x80"
"""What :func:`_ascii_tables` maps a character to when its skeleton is not worked out there."""


def confusable(name: str, other: str) -> bool:
    """Whether ``name`` and ``other`` could be mistaken for each other (one skeleton shared).

    Not an equivalence: ``Ian`` is like ``ian`` and like ``lan``, which are unlike.
    """
    return any(a == b for a, b in zip(skeletons(name), skeletons(other), strict=True))


def confusable_with(name: str, present: Iterable[str]) -> str | None:
    """The present name that ``name`` would be mistaken for, or None.

    A *different* name :func:`confusable` with it. ``name`` itself being present is no
    conflict (the same person in a second tab), even beside a look-alike that joined before
    this rule existed: refusing it would protect nobody.
    """
    names = list(present)
    if name in names:
        return None
    return next((other for other in names if confusable(name, other)), None)


def check_not_confusable(name: str, present: Iterable[str]) -> str:
    """Return ``name`` unless it looks like someone present; then raise :class:`NameRefused`."""
    other = confusable_with(name, present)
    if other is not None:
        raise NameRefused(f"nickname {name!r} looks like {other}, who is here")
    return name


_Index = dict[str, tuple[str, ...]]
"""Names by one kind of skeleton."""


class LookAlikes:
    """Names indexed by their skeletons: "whom does this name look like?" without a scan.

    A room compares every joiner with everyone present; with thousands present a scan per
    join makes a join storm quadratic. Counted, so a name held twice (two tabs) stays until
    both are gone. Same answers as :func:`confusable_with`.

    Lean on purpose, as every room's presence table holds one: per name its count and
    skeletons, and per skeleton a tuple of names (rarely more than one long) in one dict per
    kind of skeleton, so that nothing is computed again when the name leaves. Tuples, not
    lists: the garbage collector stops tracking a tuple of strings, so a room of thousands
    does not add thousands of containers to every full collection.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[int, tuple[str, str]]] = {}
        """Each name: how many times it is held, and its :func:`skeletons`."""
        self._by_skeleton: tuple[_Index, _Index] = ({}, {})
        """Per kind of skeleton (folded first, mapped first): the names that have it."""

    def __contains__(self, name: object) -> bool:
        return name in self._held

    def add(self, name: str) -> None:
        held = self._held.get(name)
        if held is not None:
            self._held[name] = (held[0] + 1, held[1])
            return
        keys = skeletons(name)
        self._held[name] = (1, keys)
        for index, key in zip(self._by_skeleton, keys, strict=True):
            index[key] = (*index.get(key, ()), name)

    def discard(self, name: str) -> None:
        held = self._held.get(name)
        if held is None:
            return
        count, keys = held
        if count > 1:
            self._held[name] = (count - 1, keys)
            return
        del self._held[name]
        for index, key in zip(self._by_skeleton, keys, strict=True):
            names = tuple(other for other in index[key] if other != name)
            if names:
                index[key] = names
            else:
                del index[key]

    def look_alike(self, name: str) -> str | None:
        """A *different* name held here that ``name`` would be mistaken for, or None."""
        if name in self._held:
            return None
        for index, key in zip(self._by_skeleton, skeletons(name), strict=True):
            names = index.get(key)
            if names:
                return names[0]
        return None


def _settle(name: str, step: Callable[[str], str]) -> str:
    return _chain(name, step)[-1]


def _chain(name: str, step: Callable[[str], str]) -> list[str]:
    """``name`` and what ``step`` makes of it in turn, until it stops changing."""
    chain = [name]
    for _ in range(_ROUNDS):
        mapped = step(chain[-1])
        if mapped == chain[-1]:
            break
        chain.append(mapped)
    return chain


def _fold_then_map(text: str) -> str:
    return _map_confusables(unicodedata.normalize("NFKC", text).casefold())


def _map_then_fold(text: str) -> str:
    return _fold_then_map(_map_confusables(unicodedata.normalize("NFKC", text)))


def _map_confusables(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", decomposed.translate(_translation()))


def _is_invisible(char: str) -> bool:
    if char == " ":
        return False
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _BLANK_SYMBOLS:
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _DEFAULT_IGNORABLE_RANGES)


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


def load() -> None:
    """Read the confusables map now rather than at the first name checked.

    A server calls it as it starts, so that its first join does not wait for the file and a
    missing or broken package shows at start-up; a one-off cost, not one per person.
    """
    _translation()
    _ascii_tables()


@functools.cache
def _translation() -> dict[int, str]:
    """:func:`_prototypes` as a :meth:`str.translate` table: one C call maps a whole name.
    The one form kept in memory."""
    return {ord(char): prototype for char, prototype in _prototypes().items()}


def _prototypes() -> dict[str, str]:
    """Each confusable character mapped to its prototype, from ``confusables.txt``.

    The package keeps the file's pairs in both directions (each source lists its prototype,
    each prototype its sources). Every source has exactly one prototype, so the pairs form
    stars: the centre, or a multi-character partner (sources are single characters), is the
    prototype. Of two characters confusable only with each other, either may stand for
    both: a skeleton is compared, never shown. The package's data marks right-to-left
    characters with LEFT-TO-RIGHT MARKs for display; they are dropped.
    """
    partners: dict[str, list[str]] = defaultdict(list)  # lists: a few each, and small
    for char, glyphs in _confusable_pairs().items():
        for glyph in glyphs:
            a, b = _strip_direction_marks(char), _strip_direction_marks(glyph)
            for one, other in ((a, b), (b, a)):
                if other not in partners[one]:
                    partners[one].append(other)
    prototypes: dict[str, str] = {}
    for char, around in partners.items():
        if len(char) != 1:
            continue
        longer = sorted(other for other in around if len(other) > 1)
        if longer:
            prototype = longer[0]
        elif len(around) > 1:
            prototype = char
        else:
            (other,) = around
            prototype = other if len(partners[other]) > 1 else min(char, other, key=_plainest)
        if prototype != char:
            prototypes[char] = prototype
    return prototypes


def _confusable_pairs() -> dict[str, list[str]]:
    """The package's ``confusables.json``: each character and the characters it is
    confusable with, read without the description of each (``"n"``), which is most of the
    file. Not ``confusable_homoglyphs.confusables``: importing it keeps the whole file parsed
    in memory for good (about 11 MB), where the map built from it needs about 1 MB.
    """
    from confusable_homoglyphs.utils import path  # honours the package's CONFUSABLE_DATA

    def glyph(entry: dict[str, str]) -> Any:
        return entry["c"] if entry.keys() == {"c", "n"} else entry

    with open(path("confusables.json"), encoding="utf-8") as file:
        return json.load(file, object_hook=glyph)


def _plainest(char: str) -> tuple[bool, str]:
    return unicodedata.normalize("NFKC", char) != char, char


def _strip_direction_marks(text: str) -> str:
    return text.replace("\u200e", "").replace("\u200f", "")

"""Names nobody can pass off as someone else's: invisible characters and look-alikes."""

from __future__ import annotations

import random
import string
import unicodedata

import pytest

from talkex_widget.core.names import (
    LookAlikes,
    NameRefused,
    _fold_then_map,
    _map_then_fold,
    _prototypes,
    _settle,
    _translation,
    check_not_confusable,
    check_visible,
    confusable,
    confusable_with,
    load,
    skeletons,
)

GOOD_NAMES = [
    "Ada",
    "José",
    "Jose\u0301",  # the same, decomposed: the accent has its letter
    "Zoë",
    "山田",
    "O'Brien",
    "ann-marie",
    "Mary Ann",
    "Nguyễn",
    "Ἀριστοτέλης",
    "Дмитрий",
    "😀 fan",
]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_visible_names_pass(name: str) -> None:
    assert check_visible(name) == name


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Ada\u034f", "U+034F COMBINING GRAPHEME JOINER"),
        ("\u3164", "U+3164 HANGUL FILLER"),
        ("\u2800", "U+2800 BRAILLE PATTERN BLANK"),
        ("Ada\ufe0f", "U+FE0F VARIATION SELECTOR-16"),
        ("Ada\U000e0100", "U+E0100 VARIATION SELECTOR-17"),
        ("Ada\U000e0041", "U+E0041 TAG LATIN CAPITAL LETTER A"),
        ("\u115fAda", "U+115F HANGUL CHOSEONG FILLER"),
        ("Ada\uffa0", "U+FFA0 HALFWIDTH HANGUL FILLER"),
        ("A\u200bda", "U+200B ZERO WIDTH SPACE"),
        ("Ada\u00ad", "U+00AD SOFT HYPHEN"),
        ("Ada\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Ada\u00a0", "U+00A0 NO-BREAK SPACE"),
        ("Ada\n", "U+000A unnamed character"),
    ],
)
def test_invisible_and_filler_characters_are_refused(name: str, shown: str) -> None:
    with pytest.raises(NameRefused, match="invisible or filler") as refused:
        check_visible(name)
    assert shown in refused.value.reason
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize("name", ["\u0301", "\u0301Ada", "Ada \u0308", "\u20dd"])
def test_combining_marks_without_a_base_are_refused(name: str) -> None:
    with pytest.raises(NameRefused, match="combining mark without a letter before it"):
        check_visible(name)


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Adа", "Ada"),  # Cyrillic а
        ("ADA", "Ada"),
        ("ada", "Ada"),
        ("Ａｄａ", "Ada"),  # fullwidth
        ("𝐀𝐝𝐚", "Ada"),  # mathematical bold
        ("Αda", "Ada"),  # Greek Alpha
        ("B0b", "Bob"),  # digit zero
        ("Tim", "Tirn"),  # m and rn: a prototype of two characters
        ("ΒОВ", "Bob"),  # Greek Beta, Cyrillic O and Ve: capitals of other scripts
        ("НАТ", "hat"),  # Cyrillic En, A, Te
        ("Ian", "lan"),  # capital I and small L
        ("Ian", "ian"),  # and capital I and small i: the other skeleton
        ("ВОВ", "Bob"),  # Cyrillic capitals: the map before folding
        ("Adа", "ADA"),
    ],
)
def test_look_alikes_share_a_skeleton(name: str, other: str) -> None:
    assert confusable(name, other) and confusable(other, name)
    assert confusable_with(name, ["zed", other]) == other
    index = LookAlikes()
    for present in ("zed", other):
        index.add(present)
    assert index.look_alike(name) == other


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Zoë", "Zoe"),
        ("José", "Jose"),
        ("山田", "山由"),
        ("ann-marie", "annmarie"),
        ("Ada", "Ida"),
        ("Ann", "Anna"),
        ("Bob", "Rob"),
        ("ian", "lan"),  # each is like "Ian", not like each other
    ],
)
def test_names_that_look_different_do_not(name: str, other: str) -> None:
    assert not confusable(name, other)
    assert confusable_with(name, [other]) is None
    index = LookAlikes()
    index.add(other)
    assert index.look_alike(name) is None


def test_the_same_name_is_the_same_person_not_a_look_alike() -> None:
    assert confusable_with("Ada", ["Ada"]) is None
    # a second tab of someone already here, even beside a look-alike that came earlier
    assert confusable_with("Ada", iter(["ADA", "Ada"])) is None
    assert confusable_with("Ada", []) is None


def test_the_refusal_names_who_is_here() -> None:
    with pytest.raises(NameRefused) as refused:
        check_not_confusable("Adа", ["bob", "Ada"])
    assert refused.value.reason == "nickname 'Adа' looks like Ada, who is here"
    assert check_not_confusable("Ada", ["bob", "Ada"]) == "Ada"


def test_a_composed_and_a_decomposed_accent_are_one_name() -> None:
    assert skeletons("José") == skeletons("Jose\u0301")


def test_skeleton_is_stable_for_every_mapped_character() -> None:
    """Mapping, NFKC and case folding may feed each other: the loop must settle."""
    characters = [*_prototypes(), *_prototypes().values()]
    assert len(characters) > 5000  # the package's map is loaded, not an empty fallback
    for char in characters:
        for i, key in enumerate(skeletons(char)):
            assert skeletons(key)[i] == key, (char, i, key)
            assert unicodedata.is_normalized("NFD", key)


def test_the_index_counts_a_name_held_twice_and_forgets_it_after_the_last() -> None:
    index = LookAlikes()
    index.add("Ada")
    index.add("Ada")  # two tabs
    assert index.look_alike("ADA") == "Ada"
    assert index.look_alike("Ada") is None  # the same person
    index.discard("Ada")
    assert index.look_alike("ADA") == "Ada"
    index.discard("Ada")
    assert index.look_alike("ADA") is None and "Ada" not in index
    index.discard("Ada")  # nothing held: no error


def test_the_index_keeps_every_name_that_shares_a_skeleton() -> None:
    index = LookAlikes()
    index.add("ADA")  # look-alikes of each other, both present (joined before the rule)
    index.add("Ada")
    assert index.look_alike("Adа") in ("ADA", "Ada")
    index.discard("ADA")
    assert index.look_alike("Adа") == "Ada"
    index.discard("Ada")
    assert index.look_alike("Adа") is None


def test_load_reads_the_map_ahead_of_the_first_name() -> None:
    _translation.cache_clear()
    load()
    assert _translation.cache_info().currsize == 1  # read now, not at the first join
    assert len(_translation()) == len(_prototypes())
    assert skeletons.__wrapped__("ВОВ")[1] == skeletons.__wrapped__("BOB")[1]


def _the_whole_way(name: str) -> tuple[str, str]:
    return _settle(name, _fold_then_map), _settle(name, _map_then_fold)


def test_ascii_names_get_the_skeletons_of_the_whole_way() -> None:
    """The one-translate shortcut for ASCII names agrees with normalizing, folding and
    mapping until stable: for every ASCII character and for many mixed names."""
    for point in range(128):
        assert skeletons.__wrapped__(chr(point)) == _the_whole_way(chr(point)), point
    rng = random.Random(12)
    for _ in range(5000):
        name = "".join(rng.choices(string.printable, k=rng.randint(1, 12)))
        assert skeletons.__wrapped__(name) == _the_whole_way(name), name
    assert skeletons("50%") == _the_whole_way("50%") == ("5oo/o", "5oo/o")  # leaves ASCII

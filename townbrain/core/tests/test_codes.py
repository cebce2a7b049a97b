"""Division codes: every way an office writes one normalises to the short stored form."""

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from townbrain.core import codes
from townbrain.core.codes import InvalidCode, normalize

LENGTHS = [2, 4, 6, 9, 12]
FULLWIDTH_OF = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture(autouse=True)
def _english():
    # Messages are checked for their English words; the Chinese catalogue is tested elsewhere.
    with translation.override("en"):
        yield


@st.composite
def division_codes(draw):
    """A well-formed code: first digit 1–9 (no province starts with 0) and a deepest segment
    that is not all zeros (otherwise the 12-digit padded form names the parent instead)."""
    length = draw(st.sampled_from(LENGTHS))
    first = draw(st.sampled_from("123456789"))
    rest = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    code = first + rest
    start = ([0] + LENGTHS)[LENGTHS.index(length)]
    if not code[start:].strip("0"):
        code = code[:-1] + draw(st.sampled_from("123456789"))
    return code


# -- property tests ----------------------------------------------------------------------------

@given(division_codes())
def test_valid_code_round_trips(code):
    assert normalize(code) == code
    assert normalize(normalize(code)) == code


@given(division_codes())
def test_zero_padded_12_digit_form_gives_short_code(code):
    assert normalize(code.ljust(12, "0")) == code


@given(division_codes())
def test_int_and_whole_float_give_the_code(code):
    assert normalize(int(code)) == code
    assert normalize(float(int(code))) == code  # Excel hands numbers over as floats


@given(division_codes(), st.sampled_from(["", " ", "  ", "\t", "\u3000"]), st.sampled_from(["", " ", "\n"]))
def test_full_width_digits_and_stray_spaces(code, before, after):
    assert normalize(before + code.translate(FULLWIDTH_OF) + after) == code


@given(division_codes())
def test_level_parent_and_ancestors_follow_the_prefix(code):
    level = codes.level_of(code)
    assert codes.LEVEL_LENGTHS[level] == len(code)
    ancestors = codes.ancestors_of(code)
    assert [len(a) for a in ancestors] == LENGTHS[: LENGTHS.index(len(code))]
    assert all(code.startswith(a) for a in ancestors)
    parent = codes.parent_of(code)
    assert parent == (ancestors[-1] if ancestors else None)


@given(st.from_regex(r"[1-9][0-9]{0,19}", fullmatch=True).filter(lambda s: len(s) not in LENGTHS))
def test_wrong_length_is_invalid_and_says_so(text):
    with pytest.raises(InvalidCode) as exc:
        normalize(text)
    assert str(len(text)) in str(exc.value)
    assert text in str(exc.value)


@given(division_codes(), st.sampled_from(list("abcXYZ-./_,;#") + ["一", "٣", "²", "Ⅳ"]), st.data())
def test_any_non_digit_character_is_invalid(code, bad, data):
    pos = data.draw(st.integers(min_value=0, max_value=len(code)))
    text = code[:pos] + bad + code[pos:]
    with pytest.raises(InvalidCode) as exc:
        normalize(text)
    assert str(exc.value)


# -- examples ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, expected",
    [
        ("330109113", "330109113"),
        ("330109113000", "330109113"),
        ("330109000000", "330109"),
        ("330100000000", "3301"),
        ("330000000000", "33"),
        ("330109113201", "330109113201"),
        (330109113000, "330109113"),
        (330109113, "330109113"),
        (330109113.0, "330109113"),
        (33, "33"),
        ("３３０１０９１１３", "330109113"),
        ("３３０１０９１１３０００", "330109113"),
        (" 3301 ", "3301"),
        ("33 01 09", "330109"),
    ],
)
def test_examples(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw, words",
    [
        (None, ["empty"]),
        ("", ["empty"]),
        ("   ", ["empty"]),
        ("\u3000", ["empty"]),
        ("3", ["3", "1 digits"]),
        ("33010", ["33010", "5 digits"]),
        ("3301091130", ["10 digits"]),
        ("3301091130001", ["13 digits"]),
        ("33a1", ["33a1", "digits only"]),
        ("33-01", ["digits only"]),
        ("-33", ["digits only"]),
        ("3.3", ["digits only"]),
        ("瓜沥镇", ["瓜沥镇", "digits only"]),
        (330109.5, ["330109.5", "whole number"]),
        (float("nan"), ["whole number"]),
        (float("inf"), ["whole number"]),
        (-33, ["digits only"]),
        ([33], ["digits only"]),
    ],
)
def test_malformed_input_gives_invalid_code_with_a_message(raw, words):
    with pytest.raises(InvalidCode) as exc:
        normalize(raw)
    message = str(exc.value)
    for word in words:
        assert word in message, message


def test_message_in_the_default_language_names_the_code():
    with translation.override("zh-hans"), pytest.raises(InvalidCode) as exc:
        normalize("33a1")
    assert "33a1" in str(exc.value)
    assert "digits" not in str(exc.value)  # translated, not the English source


def test_invalid_code_is_a_value_error():
    # Callers that only know ValueError (forms, parsers) still catch it.
    assert issubclass(InvalidCode, ValueError)


@pytest.mark.parametrize("raw", ["000000000000", "00", "0000", "033", "0330109113"])
def test_codes_starting_with_zero_name_nothing(raw):
    # Province codes run from 11 to 82: an all-zero code must not become a "village".
    with pytest.raises(InvalidCode) as exc:
        normalize(raw)
    assert raw in str(exc.value)


# -- town kind -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "segment, kind",
    [(1, "subdistrict"), (50, "subdistrict"), (99, "subdistrict"),
     (100, "town"), (113, "town"), (199, "town"),
     (200, "township"), (301, "township"), (399, "township"),
     (0, "other"), (400, "other"), (999, "other")],
)
def test_town_kind_from_segment(segment, kind):
    assert codes.town_kind(f"330109{segment:03d}") == kind


@given(st.integers(min_value=1, max_value=399), division_codes().filter(lambda c: len(c) == 6))
def test_town_kind_ranges(segment, county):
    expected = "subdistrict" if segment < 100 else "town" if segment < 200 else "township"
    assert codes.town_kind(f"{county}{segment:03d}") == expected


@pytest.mark.parametrize("code", ["33", "3301", "330109", "330109113201"])
def test_town_kind_is_blank_above_and_below_town_level(code):
    assert codes.town_kind(code) == ""


def test_real_towns():
    assert codes.town_kind("330109113") == "town"  # 瓜沥镇
    assert codes.town_kind("330109001") == "subdistrict"  # 城厢街道
    assert codes.town_kind("330182107") == "town"  # 大洋镇

"""Statistical division codes (统计用区划代码): the prefix IS the hierarchy.

province 2 digits, city 4, county 6, town 9, village 12. Offices also write the full
12-digit form padded with zeros (330109113000) or type codes as numbers; both are
normalised to the short form we store.
"""

from django.utils.translation import gettext as _

# Code length of each level, top down.
LEVEL_LENGTHS = {"province": 2, "city": 4, "county": 6, "town": 9, "village": 12}
LENGTH_LEVELS = {n: level for level, n in LEVEL_LENGTHS.items()}
LEVELS = list(LEVEL_LENGTHS)

FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


class InvalidCode(ValueError):
    """A division code that is malformed; the message says why, in the user's language."""


def normalize(raw) -> str:
    """Return the short division code for ``raw`` or raise InvalidCode.

    Accepts ints, floats that are whole numbers (Excel), full-width digits, stray spaces
    and the 12-digit zero-padded form.
    """
    if raw is None:
        raise InvalidCode(_("The division code is empty."))
    if isinstance(raw, float):
        if not raw.is_integer():
            raise InvalidCode(_("Division code %(code)s is not a whole number.") % {"code": raw})
        raw = int(raw)
    text = str(raw).translate(FULLWIDTH).strip().replace(" ", "")
    if not text:
        raise InvalidCode(_("The division code is empty."))
    if not text.isdigit() or not text.isascii():
        raise InvalidCode(_("Division code “%(code)s” may contain digits only.") % {"code": raw})
    if text[0] == "0":
        # Province codes run from 11 to 82; a leading zero (or an all-zero code) names nothing.
        raise InvalidCode(_("Division code “%(code)s” cannot start with 0.") % {"code": raw})
    if len(text) == 12:
        # Strip the zero padding down to the deepest level that is not all zeros.
        for level in reversed(LEVELS):
            n = LEVEL_LENGTHS[level]
            prev = LEVELS.index(level) - 1
            start = LEVEL_LENGTHS[LEVELS[prev]] if prev >= 0 else 0
            if text[start:n].strip("0"):
                text = text[:n]
                break
    if len(text) not in LENGTH_LEVELS:
        raise InvalidCode(
            _("Division code “%(code)s” has %(n)d digits; expected 2, 4, 6, 9 or 12.")
            % {"code": raw, "n": len(text)}
        )
    return text


def level_of(code: str) -> str:
    return LENGTH_LEVELS[len(code)]


def parent_of(code: str) -> str | None:
    """The parent's code: the code cut to the next shorter level length."""
    idx = LEVELS.index(level_of(code))
    return code[: LEVEL_LENGTHS[LEVELS[idx - 1]]] if idx > 0 else None


def ancestors_of(code: str) -> list[str]:
    """Codes of all ancestors, top first (province … parent)."""
    return [code[:n] for n in LEVEL_LENGTHS.values() if n < len(code)]


def town_kind(code: str) -> str:
    """街道 / 镇 / 乡 from digits 7–9 of a town code (NBS coding rule); '' for other levels."""
    if len(code) != LEVEL_LENGTHS["town"]:
        return ""
    segment = int(code[6:9])
    if 1 <= segment <= 99:
        return "subdistrict"
    if 100 <= segment <= 199:
        return "town"
    if 200 <= segment <= 399:
        return "township"
    return "other"

"""Numbers as people read them: thousands separators in every language."""

from django.utils import numberformat
from django.utils.formats import get_format


def group_digits(value) -> str:
    """A number with thousands separators in the active language: 181,234 and 1,234.50.

    Django's zh_Hans formats name no thousands separator (and would group by four), so Chinese
    pages showed 181234. Chinese statistics write 181,234 (CLDR zh: "," every three digits); we
    use that whenever the active locale names no separator. USE_THOUSAND_SEPARATOR stays off: it
    would group every number a template prints, ids in form fields and periods (202404) included.
    """
    separator = get_format("THOUSAND_SEPARATOR")
    grouping = get_format("NUMBER_GROUPING")
    if not separator or not grouping:
        separator, grouping = ",", 3
    return numberformat.format(value, get_format("DECIMAL_SEPARATOR"), grouping=grouping,
                               thousand_sep=separator, force_grouping=True)


def percent(value) -> str:
    """A rate as the cockpit and every briefing write it: one decimal and a percent sign (97.0%); "—" for none."""
    if value is None:
        return "—"
    return f"{float(value):.1f}%"


def amount(value) -> str:
    """A whole amount (万元, 个, 人次) with thousands separators; "—" for none."""
    if value is None:
        return "—"
    return group_digits(int(round(float(value))))

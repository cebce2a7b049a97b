"""The one reading of numbers and dates (core/parse.py), and that imports, the entry form's service and
the API read a value the same way."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from townbrain.core.parse import BadValue, parse_date, parse_number
from townbrain.exchange import normalize
from townbrain.indicators.models import DataElement, ValueType
from townbrain.indicators.services import parse_value

FULL = str.maketrans("0123456789,.()-", "０１２３４５６７８９，．（）－")


def grouped(n: int) -> str:
    return f"{n:,}"


@pytest.mark.parametrize(("text", "number"), [
    ("1,234.5", Decimal("1234.5")), ("１２３４", Decimal("1234")), ("(1,234)", Decimal("-1234")),
    ("（１，２３４）", Decimal("-1234")), ("  12.5 ", Decimal("12.5")), ("- 5", Decimal("-5")), ("6 0 0", Decimal("600")),
    ("1,234,567", Decimal("1234567")), (".5", Decimal("0.5")), ("−3", Decimal("-3")), (12, Decimal("12")),
    (2.5, Decimal("2.5")), ("", None), (None, None),
])
def test_numbers_people_type(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["12,50", "1,2", "12,3456", "1,23.4", "一千二", "1.2.3", "(-5)", "abc", "nan",
                                  "inf", "1e999999999", "()", True])
def test_what_is_ambiguous_or_wrong_is_refused(text):
    with pytest.raises(BadValue):
        parse_number(text)


def test_twelve_comma_fifty_says_why():
    with translation.override("en"), pytest.raises(BadValue, match="ambiguous"):
        parse_number("12,50")


def test_units_and_yuan():
    assert parse_number("300万元", units=("万元", "万")) == 300
    assert parse_number("45 %", units=("%",)) == 45
    with pytest.raises(BadValue, match="1200元"):
        parse_number("1200元", units=("万元", "万"))
    with pytest.raises(BadValue):
        parse_number("3万", units=("%",))  # 万 is not a unit of this value: not silently dropped


def test_negatives_where_refused():
    with translation.override("en"), pytest.raises(BadValue, match="negative"):
        parse_number("(12)", allow_negative=False)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99),
       st.booleans(), st.booleans(), st.booleans())
def test_any_grouped_number_reads_as_itself(whole, cents, full_width, bracketed, spaced):
    """Every way of writing the same amount — grouped, full-width, in accounting brackets, with stray
    spaces — is read as that amount."""
    text = f"{grouped(whole)}.{cents:02d}"
    expected = Decimal(f"{whole}.{cents:02d}")
    if bracketed:
        text, expected = f"({text})", -expected
    if full_width:
        text = text.translate(FULL)
    if spaced:
        text = f"  {text} "
    assert parse_number(text) == expected
    assert normalize.parse_decimal(text, allow_negative=True) == expected


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=99).filter(lambda n: n % 10))
def test_a_comma_before_fewer_or_more_than_three_digits_is_never_guessed(whole, tail):
    """12,50 / 3,5 / 7,05: a decimal comma or a thousands separator with a digit lost — neither is chosen."""
    text = f"{whole},{tail}"
    with pytest.raises(BadValue):
        parse_number(text)


@pytest.mark.parametrize(("text", "day"), [
    ("2020年9月30日", date(2020, 9, 30)), ("2020.9.30", date(2020, 9, 30)), ("2020/9/30", date(2020, 9, 30)),
    ("2020-09-30", date(2020, 9, 30)), ("20200930", date(2020, 9, 30)), ("2020/9/30 0:00", date(2020, 9, 30)),
    ("２０２０年９月３０日", date(2020, 9, 30)), (44104, date(2020, 9, 30)), ("44104", date(2020, 9, 30)),
    (44104.5, date(2020, 9, 30)), ("2020年9月30号", date(2020, 9, 30)), ("", None),
])
def test_dates_people_type(text, day):
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["2020-02-30", "30/9/2020", "9月30日", "12345", "next week"])
def test_dates_refused(text):
    with pytest.raises(BadValue):
        parse_date(text)


@given(st.dates(min_value=date(1955, 1, 1), max_value=date(2100, 12, 31)))
def test_every_way_of_writing_a_date_and_its_excel_serial_agree(day):
    serial = (day - date(1899, 12, 30)).days
    for text in (day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}.{day.month}.{day.day}",
                 f"{day.year}年{day.month}月{day.day}日", serial, str(serial)):
        assert parse_date(text) == day


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["1,234.5", "１２３４", "12,50", "(1,234)", " 7 ", "12,3"])
def test_imports_and_the_entry_service_read_numbers_alike(text):
    """The entry form and the API store indicator values through parse_value; imports read the standard's
    figures with normalize.parse_decimal: both are core's parse_number, so they agree or both refuse."""
    element = DataElement(code="x", name="x", value_type=ValueType.NUMBER)
    try:
        imported = normalize.parse_decimal(text, allow_negative=True)
    except BadValue:
        imported = "refused"
    try:
        entered = parse_value(element, text)[0]
    except ValidationError:
        entered = "refused"
    assert imported == entered


@pytest.mark.parametrize(("typed", "number"), [("1,234.5", Decimal("1234.5")), ("１２３４", Decimal("1234")),
                                               ("(12)", Decimal("-12")), ("300万元", Decimal("300"))])
def test_the_form_field_reads_numbers_like_an_import(typed, number):
    from townbrain.core.parse import NumberField

    field = NumberField(units=("万元", "万"), max_digits=14, decimal_places=2)
    assert field.clean(typed) == number


def test_the_form_field_refuses_what_an_import_refuses():
    from townbrain.core.parse import NumberField

    with pytest.raises(ValidationError):
        NumberField().clean("12,50")
    with pytest.raises(ValidationError):
        NumberField(allow_negative=False).clean("(12)")
    assert NumberField(required=False).clean("") is None

"""Parity with DHIS2's expression language (issue 16, item 5): the ``null`` literal and what every
operator and function does with it, ``/* … */`` comments, the functions DHIS2 may call with no
argument, and the further functions a pass over DHIS2's grammar and tests turned up
(``removeZeros``, ``contains``, ``containsItems``, ``normDistCum``, ``normDistDen``).

The examples marked "DHIS2" are the cases of DHIS2's own test suite (dhis2/expression-parser,
``CommentExpressionTest``, ``FirstNonNullTest``, ``GreatestTest``, ``RemoveZerosTest``,
``ContainsTest``, ``ContainsItemsTest``) with the same expected value; where TownBrain answers
differently on purpose, docs/formulas.md ("DHIS2 features") says why and the test names it.
"""

import json
import math
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townbrain.indicators.expressions import (
    FUNCTIONS,
    EvaluationError,
    FormulaSyntaxError,
    evaluate,
    parse,
    to_text,
)
from townbrain.indicators.expressions import nodes as n
from townbrain.indicators.expressions.cli import formula_eval_command
from townbrain.indicators.expressions.lexer import tokenize
from townbrain.indicators.tests.test_expressions_properties import trees

PROPERTY = settings(deadline=None, max_examples=200)


def cli(text, *pairs):
    code, output = formula_eval_command(text, pairs)
    return code, json.loads(output)


# -- the acceptance interface ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("null", None),
    ("/*a*/ 1 /*b*/", 1),
    ("greatest()", None),
    ("least()", None),
    ("firstNonNull()", None),
])
def test_cli_prints_the_dhis2_values(text, value):
    assert cli(text) == (0, {"value": value})


# -- the null literal ------------------------------------------------------------------------------

def test_null_is_a_literal_and_prints_back():
    tree = parse("null").tree
    assert tree == n.Null()
    assert to_text(tree) == "null"
    assert parse("if(#{a}, null, 1)").canonical() == "if(#{a}, null, 1)"
    assert parse("null").references() == frozenset()


@pytest.mark.parametrize(("text", "expected"), [
    # arithmetic, signs and powers spread null (DHIS2 refuses a null operand with an error)
    ("null + 1", None), ("1 - null", None), ("null * 0", None), ("null / 1", None), ("1 % null", None),
    ("null ^ 0", None), ("-null", None), ("+null", None),
    # comparisons are null whatever the other side (DHIS2: null == null is true)
    ("null == null", None), ("null != 1", None), ("null < 1", None), ("'a' >= null", None),
    # three-valued logic: false settles &&, true settles ||
    ("null && false", False), ("false && null", False), ("null || true", True), ("true || null", True),
    ("null && true", None), ("null || false", None), ("!null", None), ("not null", None),
    # if: a null condition is null (DHIS2 takes the else branch); a branch may be null
    ("if(null, 1, 2)", None), ("if(true, null, 2)", None), ("if(0, null, 42)", D(42)),
    # the null tests
    ("isNull(null)", True), ("isNotNull(null)", False),
    # DHIS2 FirstNonNullTest
    ("firstNonNull(null, 42, 23)", D(42)), ("firstNonNull(null, null, '42', '23')", "42"),
    ("firstNonNull(true, null, false)", True), ("firstNonNull(null)", None), ("firstNonNull( 2 , 3 )", D(2)),
    # greatest / least: none → null (DHIS2); a null argument → null (DHIS2 skips it; see docs)
    ("greatest(3, 2.2, 5.0, 0.4)", D(5)), ("least(3, 2.2, 5.0, 0.4)", D("0.4")),
    ("greatest(null, 4, 5.0)", None), ("least(10, null)", None),
    # the maths functions spread null
    ("abs(null)", None), ("ceil(null)", None), ("floor(null)", None), ("round(null)", None), ("round(1.5, null)", None),
    ("log(null)", None), ("log(8, null)", None), ("log10(null)", None), ("removeZeros(null)", None),
    ("normDistCum(null, 0, 1)", None), ("normDistDen(0, null, 1)", None),
    # text functions: a null text is null, a null part is never contained (DHIS2 ContainsTest)
    ("contains(null, 'a')", None), ("contains('abcdef', null)", False), ("containsItems(null, 'a')", None),
    ("containsItems('a,b', null)", False),
])
def test_what_each_operator_and_function_does_with_null(text, expected):
    result = evaluate(text)
    assert result == expected
    assert type(result) is type(expected)


def test_null_literal_and_missing_element_are_the_same_null():
    for text in ("#{x} + 1", "isNull(#{x})", "firstNonNull(#{x}, 7)", "greatest(#{x}, 1)", "#{x} || true"):
        assert evaluate(text) == evaluate(text.replace("#{x}", "null"))


def test_missing_zero_does_not_touch_the_null_literal():
    # missing="zero" reads absent *elements* as 0; a null written in the formula stays null
    assert evaluate("#{x} + 1", {}, missing="zero") == D(1)
    assert evaluate("null + 1", {}, missing="zero") is None
    assert evaluate("firstNonNull(null, #{x})", {}, missing="zero") == D(0)


def test_type_checks_do_not_depend_on_nulls():
    with pytest.raises(EvaluationError, match="'\\+' needs numbers"):
        evaluate("null + 'a'")
    with pytest.raises(EvaluationError, match="greatest\\(\\) needs numbers"):
        evaluate("greatest(null, 'a')")
    with pytest.raises(EvaluationError, match="contains\\(\\) needs text, got number 1"):
        evaluate("contains(null, 1)")


@pytest.mark.parametrize(("text", "message"), [
    ("NULL", "unknown name 'NULL' (did you mean 'null'?) at position 0"),
    ("Null + 1", "unknown name 'Null' (did you mean 'null'?) at position 0"),
    ("null(1)", "unexpected '(' (missing an operator?) at position 4"),
    ("#{null}", None),  # an element may be called null: it is a code, not the literal
])
def test_null_spelling(text, message):
    if message is None:
        assert parse(text).references() == {"null"}
        return
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert str(info.value) == message


# -- comments --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [  # DHIS2 CommentExpressionTest: every one is 1
    "/* a comment */1",
    "/* a comment */ 1",
    "/* a comment *//* another */ 1",
    "/* a comment */  /**/1",
    "/*before*/1/*after*/",
    "/*before*/ 1 /*after*/",
    "/*before*//*before2*/ 1 /*after*//*after2*/",
    "/*before/  /**/1/**/ /*after*/",
])
def test_dhis2_comment_cases(text):
    assert evaluate(text) == D(1)


@pytest.mark.parametrize(("text", "expected"), [
    ("1 /* plus */ + /* two */ 2", D(3)),
    ("if(/* 达标 */ #{rate} >= 90, 10, 0)", D(10)),
    ("2*/*times*/3", D(6)),            # '*' then a comment
    ("1//*over*/2", D("0.5")),         # '/' then a comment
    ("'/* kept */'", "/* kept */"),    # inside quotes it is text
    ("1 /* a\nmulti-line\ncomment */ + 1", D(2)),
    ("／＊全角＊／ 1", D(1)),            # typed with a Chinese input method
])
def test_comments_anywhere_between_tokens(text, expected):
    assert evaluate(text, {"rate": 95}) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("1 /* never closed", "comment is never closed (comments are written /* ... */) at position 2"),
    ("/*/ 1", "comment is never closed (comments are written /* ... */) at position 0"),
    ("/* only a comment */", "empty formula at position 0"),
    ("#{a/**/}", "invalid character '/' in element code (allowed: letters, digits, _ . -) at position 3"),
])
def test_comment_errors(text, message):
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert str(info.value) == message


def test_comments_leave_positions_of_later_errors_as_typed():
    with pytest.raises(FormulaSyntaxError) as info:
        parse("/* 一二三 */ 1 +")
    assert info.value.position == len("/* 一二三 */ 1 +")


# A comment stands wherever a space may: never "" here, since "1" "2" without a gap would read 12.
comments = st.sampled_from([" ", "/**/", "/* 注释 */", " /* a * b / c */ ", "\n/*\n*/\n", "/*/*/"])


@PROPERTY
@given(trees, st.data())
def test_comments_between_any_tokens_change_nothing(tree, data):
    text = to_text(tree)
    pieces = [data.draw(comments)]
    for token in tokenize(text)[:-1]:  # a printed tree has no full-width forms: token.text is the source
        pieces += [token.text, data.draw(comments)]
    assert parse("".join(pieces)).tree == tree


# -- greatest, least, firstNonNull and the others --------------------------------------------------

numbers = st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**9, max_value=10**9, places=3)


@PROPERTY
@given(st.lists(numbers, max_size=6))
def test_greatest_and_least_of_any_list(values):
    args = ", ".join(f"({v})" for v in values)
    expected_max = max(values) if values else None
    expected_min = min(values) if values else None
    assert evaluate(f"greatest({args})") == expected_max
    assert evaluate(f"least({args})") == expected_min


@PROPERTY
@given(st.lists(st.one_of(st.none(), numbers, st.text(max_size=3), st.booleans()), max_size=6))
def test_first_non_null_is_the_first_value_that_is_there(values):
    codes = [f"v{i}" for i in range(len(values))]
    result = evaluate(f"firstNonNull({', '.join('#{' + c + '}' for c in codes)})", dict(zip(codes, values, strict=True)))
    present = [v for v in values if v is not None]
    expected = present[0] if present else None
    if isinstance(expected, D):
        assert result == expected
    else:
        assert result == expected and type(result) is type(expected)


@PROPERTY
@given(st.lists(numbers, min_size=1, max_size=5), st.integers(0, 4))
def test_one_null_argument_makes_greatest_and_least_null(values, where):
    args = [f"({v})" for v in values]
    args.insert(min(where, len(args)), "null")
    assert evaluate(f"greatest({', '.join(args)})") is None
    assert evaluate(f"least({', '.join(args)})") is None


@PROPERTY
@given(numbers)
def test_remove_zeros(value):
    result = evaluate("removeZeros(#{x})", {"x": value})
    assert result == (None if value == 0 else value)


@PROPERTY
@given(st.lists(st.text(alphabet="ABC_", min_size=1, max_size=4), min_size=1, max_size=4),
       st.lists(st.text(alphabet="ABC_", max_size=4), min_size=1, max_size=3))
def test_contains_items_against_python(entries, wanted):
    text = ",".join(entries)
    values = {"t": text} | {f"w{i}": w for i, w in enumerate(wanted)}
    parts = ", ".join(f"#{{w{i}}}" for i in range(len(wanted)))
    assert evaluate(f"containsItems(#{{t}}, {parts})", values) is all(w in entries for w in wanted)
    assert evaluate(f"contains(#{{t}}, {parts})", values) is all(w in text for w in wanted)


def test_contains_items_with_only_the_list_is_true():  # DHIS2 ContainsItemsTest
    assert evaluate("containsItems('abcdef')") is True


@PROPERTY
@given(st.floats(-8, 8), st.floats(-100, 100), st.floats(0.01, 100))
def test_normal_distribution_against_math(x, mean, stddev):
    values = {"x": x, "m": mean, "s": stddev}
    cum = evaluate("normDistCum(#{x}, #{m}, #{s})", values)
    den = evaluate("normDistDen(#{x}, #{m}, #{s})", values)
    x, mean, stddev = (float(D(repr(v))) for v in (x, mean, stddev))
    z = (x - mean) / stddev
    assert math.isclose(float(cum), 0.5 * math.erfc(-z / math.sqrt(2)), rel_tol=1e-9, abs_tol=1e-300)
    assert math.isclose(float(den), math.exp(-z * z / 2) / (stddev * math.sqrt(2 * math.pi)),
                        rel_tol=1e-9, abs_tol=1e-300)


def test_normal_distribution_fixed_points():
    assert evaluate("normDistCum(0, 0, 1)") == D("0.5")
    assert round(evaluate("normDistCum(1.96, 0, 1)"), 4) == D("0.9750")
    assert evaluate("normDistDen(0, 0, 1)") == D("0.3989422804014326779399460599")  # 1/sqrt(2π), 28 digits
    assert evaluate("normDistCum(1e9, 0, 1)") == D(1)
    assert evaluate("normDistDen(1e9, 0, 1)") == D(0)
    assert evaluate("normDistCum(1, 0, 0)") is None  # no distribution, like a division by zero
    assert evaluate("normDistDen(1, 0, -1)") is None


def test_every_function_is_in_the_parity_table():
    docs = (__import__("pathlib").Path(__file__).resolve().parents[3] / "docs" / "formulas.md").read_text()
    table = docs.split("## DHIS2 features", 1)[1]
    for name in FUNCTIONS:
        assert f"`{name}(" in table, name

"""The formula engine: every operator, function and precedence rule; null, division by zero,
errors with positions; limits; the `townbrain formula eval` command body. No database."""

import ast
import json
import pathlib
from decimal import Decimal

import pytest

from townbrain.indicators.expressions import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    EvaluationError,
    Expression,
    FormulaError,
    FormulaSyntaxError,
    evaluate,
    parse,
)
from townbrain.indicators.expressions.cli import formula_eval_command, json_value, parse_vars
from townbrain.indicators.expressions.nodes import Arithmetic, Number, Power, Reference, Unary

D = Decimal


def ev(text, **values):
    return evaluate(text, values)


# -- numbers, literals, precedence -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("1", D(1)),
    ("1.5", D("1.5")),
    (".5", D("0.5")),
    ("5.", D(5)),
    ("1e3", D(1000)),
    ("1E+3", D(1000)),
    ("2.5e-2", D("0.025")),
    ("1+2*3", D(7)),
    ("(1+2)*3", D(9)),
    ("10-4-3", D(3)),  # left-associative
    ("100/10/5", D(2)),
    ("2*3%4", D(2)),  # (2*3) % 4
    ("7%4*2", D(6)),  # (7%4) * 2
    ("-3^2", D(-9)),  # ^ binds tighter than unary minus
    ("(-3)^2", D(9)),
    ("2^3^2", D(512)),  # right-associative
    ("(2^3)^2", D(64)),
    ("2^-1", D("0.5")),
    ("-2^-2", D("-0.25")),
    ("2*3^2", D(18)),
    ("-2*3", D(-6)),
    ("--2", D(2)),
    ("+-+2", D(-2)),
    ("1 - -1", D(2)),
    ("2^0.5", D("1.414213562373095048801688724")),
    ("1 + 2 * 3 ^ 2 - 4 / 2", D(17)),
    ("0.1 + 0.2", D("0.3")),  # exact, unlike floats
    ("10 / 3", D("3.333333333333333333333333333")),  # 28 significant digits
    ("2 / 3", D("0.6666666666666666666666666667")),  # rounded half up
    ("1.005 * 1000", D("1005")),
    ("7 % 3", D(1)),
    ("-7 % 3", D(-1)),  # sign of the dividend (truncated), as in Java/DHIS2
    ("7 % -3", D(1)),
    ("5.5 % 2", D("1.5")),
    ("1e30 % 7", D(1)),  # 10^30 mod 7 = 1, exact even beyond 28 digits
    ("0 % 5", D(0)),
    ("0^0", D(1)),
    ("(-8)^3", D(-512)),
    ("1234567890123456789012345678901", D("1.234567890123456789012345679E+30")),
])
def test_arithmetic_and_precedence(text, expected):
    value = ev(text)
    assert isinstance(value, Decimal)
    assert value == expected


def test_decimal_keeps_money_exact():
    assert ev("#{a} + #{b}", a=D("0.10"), b=D("0.20")) == D("0.30")
    assert ev("#{a} * 3", a=D("33.33")) == D("99.99")
    assert ev("#{a} + 1", a=0.1) == D("1.1")  # floats are read through their shortest repr


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True),
    ("false", False),
    ("!true", False),
    ("!false", True),
    ("!!true", True),
    ("not true", False),
    ("not 1 > 2", True),  # not binds looser than comparisons
    ("!1 > 2", True),  # ... and so does !
    ("!(1 > 2)", True),
    ("true && false", False),
    ("true and true", True),
    ("false || true", True),
    ("false or false", False),
    ("true || false && false", True),  # && binds tighter than ||
    ("(true || false) && false", False),
    ("!false && false", False),  # ! binds tighter than &&
    ("not false and false", False),
    ("1 && 2", True),  # numbers count as true unless 0
    ("0 || 0", False),
    ("!0", True),
    ("1 < 2", True),
    ("2 <= 2", True),
    ("3 > 4", False),
    ("4 >= 4", True),
    ("1 == 1.0", True),
    ("1 != 1", False),
    ("1 + 1 == 2", True),  # arithmetic before comparison
    ("1 < 2 == true", True),  # relations before equality
    ("2 > 1 && 3 > 2", True),
    ("true == 1", True),  # true counts as 1 next to a number
    ("false < true", True),
    ("true == true", True),
    ("'a' == \"a\"", True),
    ("'a' < 'b'", True),
    ("'abc' != 'abd'", True),
    ("'污水' == '污水'", True),
])
def test_logic_and_comparisons(text, expected):
    assert ev(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ('"hello"', "hello"),
    ("'it\\'s'", "it's"),
    (r'"a\"b\\c"', 'a"b\\c'),
    (r'"tab\there"', "tab\there"),
    (r'"\u6c61\u6c34"', "污水"),
    (r'"\ud83d\ude00"', "\U0001F600"),
    ('"（全角）"', "（全角）"),  # full-width characters inside text are kept
    ("''", ""),
])
def test_strings(text, expected):
    assert ev(text) == expected


# -- functions ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "values", "expected"), [
    ("if(true, 1, 2)", {}, D(1)),
    ("if(false, 1, 2)", {}, D(2)),
    ("if(1 > 2, 'yes', 'no')", {}, "no"),
    ("if(#{flag}, 5, 0)", {"flag": 1}, D(5)),  # a yes/no element stored as 1/0
    ("if(#{flag}, 5, 0)", {"flag": 0}, D(0)),
    ("if(#{x}, 1, 2)", {}, None),  # a null condition gives null
    ("if(true, 1, 'a' + 1)", {}, D(1)),  # only the chosen branch is evaluated
    ("isNull(#{x})", {}, True),
    ("isNull(#{x})", {"x": 0}, False),
    ("isNotNull(#{x})", {"x": 3}, True),
    ("isNotNull(1 / 0)", {}, False),
    ("firstNonNull(#{a}, #{b}, 7)", {"b": 2}, D(2)),
    ("firstNonNull(#{a}, #{b})", {}, None),
    ("firstNonNull(#{a}, 'none')", {}, "none"),
    ("greatest(1, 5, 3)", {}, D(5)),
    ("greatest(-1)", {}, D(-1)),
    ("least(4, 2.5, 3)", {}, D("2.5")),
    ("greatest(1, #{x})", {}, None),  # null, like arithmetic; use firstNonNull to default
    ("greatest(1, firstNonNull(#{x}, 0))", {}, D(1)),
    ("log(1)", {}, D(0)),
    ("log(8, 2)", {}, D(3)),
    ("log(1000, 10)", {}, D(3)),
    ("log(0.5, 2)", {}, D(-1)),
    ("log10(1000)", {}, D(3)),
    ("log10(0.01)", {}, D(-2)),
    ("abs(-2.5)", {}, D("2.5")),
    ("abs(3)", {}, D(3)),
    ("ceil(1.2)", {}, D(2)),
    ("ceil(-1.2)", {}, D(-1)),
    ("floor(1.8)", {}, D(1)),
    ("floor(-1.2)", {}, D(-2)),
    ("round(2.5)", {}, D(3)),  # half away from zero, like Excel
    ("round(-2.5)", {}, D(-3)),
    ("round(2.4)", {}, D(2)),
    ("round(1.005, 2)", {}, D("1.01")),
    ("round(3.14159, 3)", {}, D("3.142")),
    ("round(1234.5, -2)", {}, D(1200)),
    ("round(1250, -2)", {}, D(1300)),
    ("round(5, -1)", {}, D(10)),
    ("round(4, -1)", {}, D(0)),
    ("round(0.004, -5)", {}, D(0)),
    ("round(2, 5)", {}, D(2)),
    ("round(#{x}, 2)", {}, None),
    ("round(1.25, #{d})", {}, None),
    ("removeZeros(0)", {}, None),
    ("removeZeros(#{x})", {"x": 42}, D(42)),
    ("contains('MOLD_ALLERGY,LATEX_ALLERGY', 'RGY,LAT')", {}, True),
    ("containsItems('MOLD_ALLERGY,LATEX_ALLERGY', 'ALLERGY')", {}, False),
    ("normDistCum(0, 0, 1)", {}, D("0.5")),
    ("normDistDen(#{x}, 0, 1)", {}, None),
])
def test_functions(text, values, expected):
    result = evaluate(text, values)
    assert result == expected
    assert type(result) is type(expected)


def test_natural_log():
    assert ev("log(2.718281828459045235360287471)").quantize(D("1E-20")) == D(1)
    assert ev("log(100) / log(10)") == D(2)


def test_every_whitelisted_function_is_covered():
    covered = {"if", "isNull", "isNotNull", "firstNonNull", "greatest", "least", "log", "log10", "abs", "ceil",
               "floor", "round", "removeZeros", "contains", "containsItems", "normDistCum", "normDistDen"}
    assert set(FUNCTIONS) == covered


def test_functions_are_case_sensitive_with_a_hint():
    with pytest.raises(FormulaSyntaxError, match=r"unknown function 'isnull' \(did you mean 'isNull'\?\) at position 0"):
        parse("isnull(1)")


@pytest.mark.parametrize(("text", "message"), [
    ("if(1, 2)", "if() takes 3 arguments, got 2 at position 0"),
    ("abs()", "abs() takes 1 argument, got 0 at position 0"),
    ("1 + abs(1, 2)", "abs() takes 1 argument, got 2 at position 4"),
    ("log()", "log() takes 1 or 2 arguments, got 0 at position 0"),
    ("log(1, 2, 3)", "log() takes 1 or 2 arguments, got 3 at position 0"),
    ("round(1, 2, 3)", "round() takes 1 or 2 arguments, got 3 at position 0"),
    ("contains('a')", "contains() takes at least 2 arguments, got 1 at position 0"),
    ("containsItems()", "containsItems() takes at least 1 argument, got 0 at position 0"),
    ("normDistCum(1)", "normDistCum() takes 3 arguments, got 1 at position 0"),
    ("isNull(1, 2)", "isNull() takes 1 argument, got 2 at position 0"),
    ("eval(1)", "unknown function 'eval' at position 0"),
    ("__import__('os')", "unknown function '__import__' at position 0"),
    ("sqrt(4)", "unknown function 'sqrt' at position 0"),
])
def test_unknown_functions_and_wrong_arity_are_syntax_errors(text, message):
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert str(info.value) == message


def test_more_arguments_for_variadic_functions():
    assert ev("greatest(" + ", ".join(str(i) for i in range(100)) + ")") == D(99)


# -- references and missing values ---------------------------------------------------------------

def test_references():
    expr = parse("#{sewage_treated} / #{sewage_total} * 100 + #{sewage_total}")
    assert expr.references() == {"sewage_treated", "sewage_total"}
    assert parse("#{a.b} + #{A1_x} + #{with-dash}").references() == {"a.b", "A1_x", "with-dash"}
    assert parse("1 + 2").references() == set()
    assert parse("if(isNull(#{a}), #{b}, least(#{c}, 1))").references() == {"a", "b", "c"}


def test_domain_examples():
    rate = "#{sewage_treated} / #{sewage_total} * 100"
    assert evaluate(rate, {"sewage_treated": 45, "sewage_total": 50}) == D(90)
    score = "if(#{sewage_rate} >= 90, 10, if(#{sewage_rate} >= 70, 5, 0))"
    assert [evaluate(score, {"sewage_rate": r}) for r in (95, 90, 89.9, 70, 69.99)] == [10, 10, 5, 5, 0]
    assert evaluate(score, {}) is None
    assert evaluate(score, {}, missing="zero") == 0
    gap = "greatest(0, 100 - #{invest} / 10000)"  # 亿元 target vs 万元 figures
    assert evaluate(gap, {"invest": D("875000")}) == D("12.5")


@pytest.mark.parametrize("text", [
    "#{x} + 1", "1 - #{x}", "#{x} * 2", "#{x} / 2", "2 / #{x}", "#{x} % 2", "#{x} ^ 2", "2 ^ #{x}", "-#{x}",
    "+#{x}", "#{x} == 1", "#{x} != 1", "#{x} < 1", "1 >= #{x}", "#{x} == #{x}", "abs(#{x})", "ceil(#{x})",
    "floor(#{x})", "round(#{x})", "log(#{x})", "log(2, #{x})", "log10(#{x})", "least(#{x}, 1)",
    "!#{x}", "#{x} && true", "#{x} || false", "if(#{x}, 1, 2)", "firstNonNull(#{x})",
])
def test_null_propagates(text):
    assert evaluate(text, {}) is None
    assert evaluate(text, {"x": None}) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("#{x} && false", False),  # three-valued logic: false settles &&
    ("false && #{x}", False),
    ("#{x} || true", True),  # true settles ||
    ("true || #{x}", True),
    ("#{x} && true", None),
    ("#{x} || false", None),
    ("isNull(#{x}) || #{x} > 5", True),
    ("isNotNull(#{x}) && #{x} > 5", False),
    ("true || 'a'", True),  # short-circuit: the right side is not evaluated
    ("false && 'a'", False),
])
def test_three_valued_logic(text, expected):
    assert evaluate(text, {}) is expected


def test_missing_zero_strategy():
    assert evaluate("#{a} + #{b}", {"a": 2}) is None
    assert evaluate("#{a} + #{b}", {"a": 2}, missing="zero") == D(2)
    assert evaluate("#{a} + #{b}", {"a": 2, "b": None}, missing="zero") == D(2)
    assert evaluate("isNull(#{b})", {}, missing="zero") is False
    assert evaluate("#{a} / #{b}", {"a": 2}, missing="zero") is None  # then a division by zero
    with pytest.raises(ValueError, match="missing must be one of null, zero"):
        evaluate("1", {}, missing="skip")


def test_value_types_of_elements():
    assert evaluate("#{a} + 1", {"a": 2}) == D(3)
    assert evaluate("#{a} + 1", {"a": D("2.50")}) == D("3.50")
    assert evaluate("#{a} + 1", {"a": True}) == D(2)  # true counts as 1 in arithmetic
    assert evaluate("#{a}", {"a": "文本"}) == "文本"
    assert evaluate("#{a} == 'yes'", {"a": "yes"}) is True
    for bad in (float("nan"), float("inf"), D("NaN"), D("-Infinity")):
        with pytest.raises(EvaluationError, match="not a finite number"):
            evaluate("#{a}", {"a": bad})
    with pytest.raises(EvaluationError, match=r"unsupported type \(list\)"):
        evaluate("#{a}", {"a": [1]})


# -- division by zero and other no-value results -----------------------------------------------------

@pytest.mark.parametrize("text", [
    "1 / 0", "0 / 0", "1 % 0", "5.5 % 0", "1 / (2 - 2)", "(1 / 0) + 1", "1 / 0 > 2", "0 ^ -1",
    "(-8) ^ 0.5", "log(0)", "log(-1)", "log(8, 1)", "log(8, 0)", "log(8, -2)", "log10(0)", "log10(-5)",
    "1 / #{zero}",
])
def test_no_value_results_are_null(text):
    assert evaluate(text, {"zero": 0}) is None


def test_division_by_zero_can_be_caught():
    assert ev("firstNonNull(#{a} / #{b}, 0)", a=1, b=0) == 0
    assert ev("if(isNull(#{a} / #{b}), -1, #{a} / #{b})", a=1, b=0) == -1


# -- type errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ('"a" + 1', "'+' needs numbers, got text \"a\" at position 4"),
    ('1 + "a"', "'+' needs numbers, got text \"a\" at position 2"),
    ('"a" * "b"', "'*' needs numbers, got text \"a\" at position 4"),
    ("-'x'", "'-' needs numbers, got text \"x\" at position 0"),
    ("'x' ^ 2", "'^' needs numbers, got text \"x\" at position 4"),
    ("'a' < 1", "'<' cannot compare text \"a\" with number 1 at position 4"),
    ("1 == 'a'", "'==' cannot compare number 1 with text \"a\" at position 2"),
    ("!'a'", "'!' needs true/false (or a number), got text \"a\" at position 0"),
    ("'a' && true", "'&&' needs true/false (or a number), got text \"a\" at position 4"),
    ("false || 'a'", "'||' needs true/false (or a number), got text \"a\" at position 6"),
    ("if('a', 1, 2)", "if() needs true/false (or a number), got text \"a\" at position 0"),
    ("abs('a')", "abs() needs numbers, got text \"a\" at position 0"),
    ("greatest(1, 'a')", "greatest() needs numbers, got text \"a\" at position 0"),
    ("round(1.5, 0.5)", "round() needs a whole number of digits, got 0.5 at position 0"),
    ("#{x} + 'a'", "'+' needs numbers, got text \"a\" at position 5"),  # checked even next to a null
])
def test_type_errors(text, message):
    with pytest.raises(EvaluationError) as info:
        evaluate(text, {})
    assert str(info.value) == message
    assert isinstance(info.value, FormulaError)


def test_results_too_large_are_errors():
    with pytest.raises(EvaluationError, match=r"too large \(beyond 1E\+999999\) at position 2"):
        ev("10^1000000")
    with pytest.raises(EvaluationError, match="too large"):
        ev("1e999999 * 10")
    with pytest.raises(EvaluationError, match="too large"):
        ev("1e1000000")
    with pytest.raises(EvaluationError, match="differ by more than 10000 orders of magnitude"):
        ev("1e20000 % 7")
    assert ev("0.5 ^ 1e30") == 0  # underflow is zero, not an error


# -- syntax errors and positions ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message", "position"), [
    ("", "empty formula", 0),
    ("   ", "empty formula", 0),
    ("(1 + 2))", "unexpected ')'", 7),
    ("1 +", "unexpected end of formula", 3),
    ("1 + * 2", "unexpected '*'", 4),
    ("(1 + 2", "'(' is never closed", 0),
    ("abs(1", "'(' of abs() is never closed", 3),
    ("abs(1 2)", "unexpected number 2 (expected ',' or ')')", 6),
    ("abs(1,)", "unexpected ')'", 6),
    ("1 2", "unexpected number 2 (missing an operator?)", 2),
    ("1 (2)", "unexpected '(' (missing an operator?)", 2),
    ("#{a} #{b}", "unexpected #{b} (missing an operator?)", 5),
    ("x + 1", "unknown name 'x' (element references are written #{x}, text in quotes)", 0),
    ("1 + TRUE", "unknown name 'TRUE' (did you mean 'true'?)", 4),
    ("abs + 1", "expected '(' after function name 'abs'", 4),
    ("1 = 1", "unexpected character '=' (compare with '==')", 2),
    ("1 & 1", "unexpected character '&' (use '&&' or 'and')", 2),
    ("1 | 1", "unexpected character '|' (use '||' or 'or')", 2),
    ("1 < 2 < 3", "comparisons cannot be chained; join them with && (e.g. a < b && b < c), found '<'", 6),
    ("1 == 1 != 0", "comparisons cannot be chained; join them with && (e.g. a < b && b < c), found '!='", 7),
    ("1 + !true", "'!' after an arithmetic or comparison operator needs parentheses, e.g. a == (!b)", 4),
    ("1 == not true", "'not' after an arithmetic or comparison operator needs parentheses, e.g. a == (not b)", 5),
    ("#a", "expected '{' after '#' (element references are written #{code})", 0),
    ("#{}", "empty element reference '#{}'", 0),
    ("#{a b}", "invalid character ' ' in element code (allowed: letters, digits, _ . -)", 3),
    ("#{污水}", "invalid character '污' in element code (allowed: letters, digits, _ . -)", 2),
    ("1 + #{abc", "'#{' is never closed", 4),
    ("'abc", "string is never closed", 0),
    ('1 + "abc', "string is never closed", 4),
    (r'"a\qb"', "invalid escape '\\q' in string", 2),
    (r'"\u12"', "invalid escape: \\u needs four hex digits", 1),
    (r'"\ud800"', "invalid escape: a lone surrogate is not a character", 1),
    ("1e", "malformed number '1e': the exponent has no digits", 0),
    ("2 + 3e+", "malformed number '3e+': the exponent has no digits", 4),
    ("1.2.3", "unexpected number .3 (missing an operator?)", 3),
    ("1e99999999999999999999", "number 1e99999999999999999999 is out of range", 0),
    ("1 + 污水", "unexpected character '污'", 4),
    ("{1}", "unexpected character '{' (element references are written #{code})", 0),
    ("“a”", "unexpected character '“' (use straight quotes \" or ')", 0),
    ("1 and", "unexpected end of formula", 5),
    ("and 1", "unexpected 'and'", 0),
    (",", "unexpected ','", 0),
    ("()", "unexpected ')'", 1),
    ("1 +\n)", "unexpected ')'", 4),
])
def test_syntax_errors_point_at_the_position(text, message, position):
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert info.value.message == message
    assert info.value.position == position
    assert str(info.value) == f"{message} at position {position}"
    assert isinstance(info.value, FormulaError)


def test_positions_are_zero_based_characters():
    # Chinese text counts one position per character, not per UTF-8 byte.
    with pytest.raises(FormulaSyntaxError) as info:
        parse("'污水处理' + )")
    assert info.value.position == 9
    assert info.value.caret("'污水处理' + )").splitlines()[1] == " " * 9 + "^"


def test_full_width_punctuation_from_chinese_input_methods():
    assert ev("（１＋２）＊３") == D(9)
    assert ev("greatest（1，2）") == D(2)
    assert ev("#｛a｝\u3000＞＝\u30001", a=1) is True


# -- the tree, printing, caching -------------------------------------------------------------------

def test_tree_shape():
    assert parse("-3^2").tree == Unary("-", Power(Number(D(3)), Number(D(2))))
    assert parse("1 - 2 + #{a}").tree == Arithmetic(Number(D(1)), (("-", Number(D(2))), ("+", Reference("a"))))
    assert parse("2^3^2").tree == Power(Number(D(2)), Power(Number(D(3)), Number(D(2))))
    assert parse("(1 - 2) + 3").tree != parse("1 - 2 + 3").tree  # parentheses keep their grouping
    assert parse("true and false").tree == parse("true && false").tree


@pytest.mark.parametrize(("text", "canonical"), [
    ("1+2*3", "1 + 2 * 3"),
    ("(1+2)*3", "(1 + 2) * 3"),
    ("((1))", "1"),
    ("-3^2", "-3^2"),
    ("(-3)^2", "(-3)^2"),
    ("(2^3)^2", "(2^3)^2"),
    ("2^(3^2)", "2^3^2"),
    ("2^-1", "2^-1"),
    ("1-(2-3)", "1 - (2 - 3)"),
    ("(1-2)-3", "(1 - 2) - 3"),
    ("not 1>2", "!(1 > 2)"),
    ("true or false and true", "true || false && true"),
    ("(true or false) and true", "(true || false) && true"),
    ("!!true", "!!true"),
    ("1 < 2 == true", "1 < 2 == true"),
    ("(1 == 1) == true", "(1 == 1) == true"),
    ("-(1+2)", "-(1 + 2)"),
    ("-(-1)", "--1"),
    ("'it\\'s'", '"it\'s"'),
    ("if(#{a}>=90,10,0)", "if(#{a} >= 90, 10, 0)"),
    ("1e3", "1E+3"),
])
def test_canonical_text(text, canonical):
    expr = parse(text)
    assert expr.canonical() == canonical
    assert parse(canonical) == expr


def test_parse_is_cached_and_expressions_are_values():
    assert parse("1 + #{a}") is parse("1 + #{a}")
    assert parse("1+#{a}") == parse("1 + #{a}")
    assert hash(parse("1+#{a}")) == hash(parse("1 + #{a}"))
    assert str(parse("1+#{a}")) == "1+#{a}"
    assert repr(parse("1+#{a}")) == "Expression('1+#{a}')"
    expr = parse("#{a} * 2")
    assert isinstance(expr, Expression)
    assert expr.evaluate({"a": 4}) == evaluate(expr, {"a": 4}) == D(8)
    with pytest.raises(TypeError):
        evaluate(3, {})
    with pytest.raises(TypeError):
        parse(3)


# -- limits ----------------------------------------------------------------------------------------

def test_length_limit():
    assert ev("1" + "+1" * ((MAX_LENGTH - 1) // 2)) == D((MAX_LENGTH + 1) // 2)
    with pytest.raises(FormulaSyntaxError, match=r"formula is too long \(10001 characters; at most 10000\) "
                                                  r"at position 10000"):
        parse("1" * (MAX_LENGTH + 1))


def test_long_flat_chains_need_no_deep_recursion():
    n = (MAX_LENGTH + 3) // 7  # "#{a} + " is 7 characters
    text = " + ".join(["#{a}"] * n)
    assert len(text) <= MAX_LENGTH
    assert evaluate(text, {"a": 1}) == n
    assert ev(" && ".join(["true"] * 1000)) is True
    assert ev("2" + " * 1" * 2000) == 2


@pytest.mark.parametrize("make", [
    lambda n: "(" * n + "1" + ")" * n,
    lambda n: "-" * n + "1",
    lambda n: "abs(" * n + "1" + ")" * n,
    lambda n: "1^" * n + "1",
    lambda n: "!" * n + "true",
    lambda n: "not " * n + "true",
    lambda n: "if(true, " * n + "1" + ", 0)" * n,
])
def test_nesting_limit(make):
    assert evaluate(make(MAX_DEPTH), {}) in (D(1), D(-1), True, False)  # 200 levels are fine
    with pytest.raises(FormulaSyntaxError, match=f"nested too deeply \\(more than {MAX_DEPTH} levels\\)"):
        parse(make(MAX_DEPTH + 1))
    with pytest.raises(FormulaSyntaxError, match="nested too deeply"):  # never a RecursionError
        parse(make(5000)[:MAX_LENGTH])


def test_nesting_error_points_at_the_opening_parenthesis():
    with pytest.raises(FormulaSyntaxError) as info:
        parse("(" * 300 + "1" + ")" * 300)
    assert info.value.position == MAX_DEPTH


# -- nothing is ever eval'ed ---------------------------------------------------------------------------

def test_the_engine_never_uses_eval_exec_or_compile():
    package = pathlib.Path(__file__).resolve().parents[1] / "expressions"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "__import__", "getattr"}, path
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [getattr(node, "module", None) or ""] + [alias.name for alias in node.names]
                assert not any(name.startswith("django") for name in names), path


def test_python_looking_text_is_not_code():
    for text in ("__import__('os').system('true')", "().__class__", "open('x')", "[1][0]", "lambda: 1", "a.b"):
        with pytest.raises(FormulaSyntaxError):
            parse(text)


# -- the `townbrain formula eval` command body ------------------------------------------------------

@pytest.mark.parametrize(("expr", "pairs", "output"), [
    ("1+2*3", [], '{"value": 7}'),
    ("7.0", [], '{"value": 7}'),
    ("3.50 * 2", [], '{"value": 7}'),
    ("10/4", [], '{"value": 2.5}'),
    ("-3^2", [], '{"value": -9}'),
    ("1/3", [], '{"value": 0.3333333333333333333333333333}'),
    ("10^30", [], '{"value": 1E+30}'),
    ("1e-7", [], '{"value": 1E-7}'),
    ("-0.0", [], '{"value": 0}'),
    ("1/0", [], '{"value": null}'),
    ("1 < 2", [], '{"value": true}'),
    ("!true", [], '{"value": false}'),
    ("'污水'", [], '{"value": "污水"}'),
    ("#{sewage_treated} / #{sewage_total} * 100", ["sewage_treated=45", "sewage_total=50"], '{"value": 90}'),
    ("if(#{sewage_rate} >= 90, 10, if(#{sewage_rate} >= 70, 5, 0))", ["sewage_rate=75.5"], '{"value": 5}'),
    ("#{x}", ["x=true"], '{"value": true}'),
    ("#{x}", ["x=false"], '{"value": false}'),
    ("#{x}", ["x=null"], '{"value": null}'),
    ("#{x}", ["x=hello world"], '{"value": "hello world"}'),
    ("#{x}", ['x="true"'], '{"value": "true"}'),
    ("#{x}", ["x="], '{"value": ""}'),
    ("#{x} + 1", ["x=-2.5e1"], '{"value": -24}'),
    ("#{x}", ["x=1", "x=2"], '{"value": 2}'),
    ("#{a.b}", ["a.b=3"], '{"value": 3}'),
    ("#{x} + 1", [], '{"value": null}'),
    ("isNull(#{x})", [], '{"value": true}'),
])
def test_formula_eval_values(expr, pairs, output):
    assert formula_eval_command(expr, pairs) == (0, output)
    assert set(json.loads(output)) == {"value"}


@pytest.mark.parametrize(("expr", "pairs", "error"), [
    ("(1 + 2))", [], "unexpected ')' at position 7"),
    ("1 +", [], "unexpected end of formula at position 3"),
    ("foo(1)", [], "unknown function 'foo' at position 0"),
    ('"a" + 1', [], "'+' needs numbers, got text \"a\" at position 4"),
    ("#{x} + 1", ["x=abc"], "'+' needs numbers, got text \"abc\" at position 5"),
    ("1", ["novalue"], "--var 'novalue' is not code=value"),
    ("1", ["=3"], "--var '=3' is not code=value"),
    ("1", ["a b=3"], "--var 'a b=3': invalid character ' ' in element code"),
])
def test_formula_eval_errors(expr, pairs, error):
    code, output = formula_eval_command(expr, pairs)
    assert code == 1
    assert json.loads(output) == {"error": error}


def test_formula_eval_missing_zero_option():
    assert formula_eval_command("#{x} + 1", [], missing="zero") == (0, '{"value": 1}')
    assert formula_eval_command("1", [], missing="bogus")[0] == 1


def test_var_values_and_json_values():
    assert parse_vars(["n=12", "d=1.50", "e=1e3", "t=true", "f=false", "z=null", "s=污水", "q=True"]) == {
        "n": D(12), "d": D("1.50"), "e": D(1000), "t": True, "f": False, "z": None, "s": "污水", "q": "True"}
    assert parse_vars(["x=NaN", "y=Infinity"]) == {"x": "NaN", "y": "Infinity"}  # never a non-finite number
    assert json_value(D("2.50")) == "2.5"
    assert json_value(D("1.2E+3")) == "1200"
    assert json_value(D("-0")) == "0"
    assert json_value("say \"hi\"") == '"say \\"hi\\""'
    for number in ("0.1", "-2.25", "1E-7", "1.5E+30", "123456789012345678901234567", "0.0000123"):
        assert D(json.loads(json_value(D(number)), parse_float=str, parse_int=str)) == D(number)

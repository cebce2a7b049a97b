"""Property-based tests and a bounded fuzz run for the formula engine (hypothesis; no database).

- random trees printed to text parse back to the same tree (and so the same value);
- arithmetic agrees with Python's Decimal (28 digits, half up) computed independently;
- the parser raises nothing but FormulaSyntaxError on any text, evaluation nothing but
  EvaluationError, and the CLI body always prints one JSON object.
The fuzz tests run a few thousand examples with no deadline: a few seconds in CI.
"""

import json
import os
import sys
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from townbrain.indicators.expressions import (
    FUNCTIONS,
    MAX_LENGTH,
    EvaluationError,
    FormulaError,
    FormulaSyntaxError,
    evaluate,
    parse,
    to_text,
)
from townbrain.indicators.expressions import nodes as n
from townbrain.indicators.expressions.cli import formula_eval_command
from townbrain.indicators.expressions.interpreter import evaluate_tree
from townbrain.indicators.expressions.parser import parse_tree

PROPERTY = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
# A longer fuzz run on demand: TOWNBRAIN_FUZZ_EXAMPLES=100000 pytest -k fuzz ...
FUZZ_EXAMPLES = int(os.environ.get("TOWNBRAIN_FUZZ_EXAMPLES", "2000"))
FUZZ = settings(deadline=None, max_examples=FUZZ_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])

# The documented arithmetic: 28 significant digits, half away from zero (an independent copy).
CTX = Context(prec=28, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999,
              traps=[InvalidOperation, DivisionByZero, Overflow])
EXACT = Context(prec=2000, Emax=999_999, Emin=-999_999, traps=[InvalidOperation, DivisionByZero, Overflow])

# -- random syntax trees -------------------------------------------------------------------------------

numbers = st.builds(lambda c, e: Decimal(c).scaleb(e, Context(prec=40)), st.integers(0, 10**30), st.integers(-40, 40))
codes = st.text(alphabet="abcxyzABC019_.-", min_size=1, max_size=8)
leaves = st.one_of(
    st.builds(n.Number, numbers),
    st.builds(n.String, st.text(max_size=8)),
    st.builds(n.Boolean, st.booleans()),
    st.builds(n.Reference, codes),
    st.just(n.Null()),
)
NAMES = sorted(FUNCTIONS)


def _extend(children):
    @st.composite
    def arithmetic(draw):
        ops = draw(st.sampled_from([n.ADDITIVE_OPS, n.MULTIPLICATIVE_OPS]))
        steps = draw(st.lists(st.tuples(st.sampled_from(ops), children), min_size=1, max_size=3))
        return n.Arithmetic(draw(children), tuple(steps))

    @st.composite
    def call(draw):
        name = draw(st.sampled_from(NAMES))
        least, most = FUNCTIONS[name]
        return n.Call(name, tuple(draw(st.lists(children, min_size=least, max_size=most or least + 3))))

    return st.one_of(
        st.builds(n.Unary, st.sampled_from(["-", "+", "!"]), children),
        st.builds(n.Power, children, children),
        arithmetic(),
        st.builds(n.Comparison, st.sampled_from(n.EQUALITY_OPS + n.RELATION_OPS), children, children),
        st.builds(n.Logical, st.sampled_from(["&&", "||"]), st.lists(children, min_size=2, max_size=4).map(tuple)),
        call(),
    )


trees = st.recursive(leaves, _extend, max_leaves=20)


def outcome(fn):
    """A value, or the kind of error: so two evaluations can be compared."""
    try:
        return ("value", fn())
    except EvaluationError as exc:
        return ("error", str(exc))


def same(a, b) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    return type(a) is type(b) and a == b


@PROPERTY
@given(trees)
def test_printed_trees_parse_back_to_the_same_tree(tree):
    text = to_text(tree)
    assume(len(text) <= MAX_LENGTH)
    parsed = parse_tree(text)
    assert parsed == tree
    assert n.shape(parsed) == n.shape(tree)
    assert to_text(parsed) == text  # printing is stable


@PROPERTY
@given(trees, st.dictionaries(codes, st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3)),
                              max_size=5), st.sampled_from(["null", "zero"]))
def test_printed_trees_give_the_same_value(tree, values, missing):
    text = to_text(tree)
    assume(len(text) <= MAX_LENGTH)
    expected = outcome(lambda: evaluate(parse(text), values, missing))
    direct = outcome(lambda: evaluate_tree(tree, values, missing))  # the tree as built, without positions
    assert expected[0] == direct[0]
    if expected[0] == "value":
        assert same(expected[1], direct[1])


@PROPERTY
@given(trees)
def test_references_are_every_reference_in_the_tree(tree):
    text = to_text(tree)
    assume(len(text) <= MAX_LENGTH)
    wanted = {node.code for node in n.walk(tree) if isinstance(node, n.Reference)}
    assert parse(text).references() == wanted


# -- arithmetic agrees with Decimal ---------------------------------------------------------------------

small = st.builds(lambda c, e: Decimal(c).scaleb(e), st.integers(-10**6, 10**6), st.integers(-6, 0))


def _literal(d: Decimal):
    """(fully parenthesised text, tree, expected value) for a literal, negative ones as a sign."""
    tree = n.Number(abs(d)) if not d.is_signed() else n.Unary("-", n.Number(abs(d)))
    return (f"({to_text(tree)})", tree, CTX.plus(d))


def _oracle(op: str, a, b):
    if a is None or b is None:
        return None
    if op == "+":
        return CTX.add(a, b)
    if op == "-":
        return CTX.subtract(a, b)
    if op == "*":
        return CTX.multiply(a, b)
    if op in "/%" and b == 0:
        return None
    if op == "/":
        return CTX.divide(a, b)
    if op == "%":  # exact: a - b * trunc(a / b), in a very wide context
        q = EXACT.divide(a, b).to_integral_value(rounding=ROUND_DOWN)
        return CTX.plus(EXACT.subtract(a, EXACT.multiply(b, q)))
    if a == 0 and b == 0:
        return Decimal(1)
    return CTX.power(a, b)


def _combine(children):
    def build(op, left, right):
        text = f"({left[0]} {op} {right[0]})"
        if op == "^":
            tree = n.Power(left[1], right[1])  # the printer adds the parentheses a base needs
        else:
            tree = n.Arithmetic(left[1], ((op, right[1]),))
        try:
            value = _oracle(op, left[2], right[2])
        except Overflow:
            value = OverflowError
        if left[2] is OverflowError or right[2] is OverflowError:
            value = OverflowError
        return (text, tree, value)

    exponents = st.integers(0, 3).map(lambda k: (f"({k})", n.Number(Decimal(k)), Decimal(k)))
    return st.one_of(
        st.builds(build, st.sampled_from(["+", "-", "*", "/", "%"]), children, children),
        st.builds(build, st.just("^"), children, exponents),
    )


arithmetic = st.recursive(small.map(_literal), _combine, max_leaves=12)


@PROPERTY
@given(arithmetic)
def test_arithmetic_agrees_with_decimal(case):
    text, tree, expected = case
    for formula in (text, to_text(tree)):  # fully parenthesised, and with only the needed parentheses
        if expected is OverflowError:
            try:
                evaluate(formula)
            except EvaluationError as exc:
                assert "too large" in str(exc)
            continue
        got = evaluate(formula)
        if expected is None:
            assert got is None, formula
        else:
            assert isinstance(got, Decimal) and got == expected, formula


@PROPERTY
@given(small, small, small)
def test_precedence_matches_the_written_grouping(a, b, c):
    def lit(d):
        return f"({d})" if d.is_signed() else str(d)

    x, y, z = lit(a), lit(b), lit(c)
    assert evaluate(f"{x} + {y} * {z}") == evaluate(f"{x} + ({y} * {z})")
    assert evaluate(f"{x} - {y} - {z}") == evaluate(f"({x} - {y}) - {z}")
    assert evaluate(f"{x} * {y} / 7") == evaluate(f"({x} * {y}) / 7")
    assert evaluate(f"-{x}^2") == evaluate(f"-({x}^2)")
    assert evaluate(f"2^2^{abs(c) % 3}") == evaluate(f"2^(2^{abs(c) % 3})")
    assert evaluate(f"{x} < {y} || {y} < {z} && {x} == {z}") == evaluate(f"({x} < {y}) || (({y} < {z}) && ({x} == {z}))")
    assert evaluate(f"not {x} > {y}") == (not a > b)


@PROPERTY
@given(small, st.integers(-8, 8))
def test_round_is_half_away_from_zero(x, digits):
    expected = x.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=Context(prec=100))
    assert evaluate(f"round({x}, {digits})") == expected


# -- robustness: nothing but FormulaSyntaxError / EvaluationError, ever -------------------------------

def _check_text(text: str, values: dict):
    try:
        expr = parse(text)
    except FormulaSyntaxError as exc:
        assert 0 <= exc.position <= max(len(text), 1) or exc.position == MAX_LENGTH
        assert str(exc).endswith(f" at position {exc.position}")
        return
    canonical = expr.canonical()
    if len(canonical) <= MAX_LENGTH:
        assert parse(canonical) == expr
    for missing in ("null", "zero"):
        try:
            value = evaluate(expr, values, missing)
        except EvaluationError as exc:
            assert str(exc)
            continue
        assert value is None or isinstance(value, bool | str | Decimal)
        if isinstance(value, Decimal):
            assert value.is_finite()


@settings(deadline=None, max_examples=1000)
@given(st.text())
def test_the_parser_survives_any_text(text):
    _check_text(text, {})


TOKENS = [
    "0", "1", "2", "7", "0.5", ".5", "1e3", "2E-2", "1e999999", "9" * 30, "#{a}", "#{b}", "#{a.b}", "#{}", "#{",
    "'s'", '"t"', "'", '"', "\\", "'\\u6c61'", "true", "false", "null", "/*", "*/", "/**/", "+", "-", "*", "/", "%", "^", "==", "!=", "<",
    "<=", ">", ">=", "&&", "||", "!", "=", "&", "|", " and ", " or ", "not ", "(", ")", ",", " ", "\t", "\n",
    "if(", "isNull(", "isNotNull(", "firstNonNull(", "greatest(", "least(", "log(", "log10(", "abs(", "ceil(",
    "floor(", "round(", "removeZeros(", "contains(", "containsItems(", "normDistCum(", "normDistDen(", "foo(", "x", "e", "#", "{", "}", "（", "）", "，", "＋", "１", "\u3000", "污", "😀", "\x00",
]
soup = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)
element_values = st.dictionaries(
    st.sampled_from(["a", "b", "a.b"]),
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.decimals(allow_nan=False, allow_infinity=False),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4)),
)


@FUZZ
@given(soup, element_values)
def test_fuzz_token_soup(text, values):
    _check_text(text, values)


@settings(FUZZ, max_examples=max(1, FUZZ_EXAMPLES // 2))
@given(trees.map(to_text), element_values)
def test_fuzz_well_formed_formulas_evaluate_or_fail_cleanly(text, values):
    assume(len(text) <= MAX_LENGTH)
    _check_text(text, values)


@settings(deadline=None, max_examples=500)
@given(st.one_of(soup, st.text(max_size=40)), st.lists(st.from_regex(r"[a-b]=.{0,4}", fullmatch=True), max_size=3))
def test_fuzz_cli_prints_one_json_object(text, pairs):
    code, output = formula_eval_command(text, pairs)
    data = json.loads(output)
    assert code in (0, 1)
    assert list(data) == (["value"] if code == 0 else ["error"])
    if code == 1:
        assert isinstance(data["error"], str) and data["error"]


def test_no_recursion_error_near_the_limit():
    """The deepest formulas still evaluate with only 450 frames to spare above the caller."""
    import inspect

    deep = [
        "(" * 200 + "1" + ")" * 200,
        "-" * 200 + "1",
        "abs(" * 200 + "1" + ")" * 200,
        "1^" * 200 + "1",
        "!" * 200 + "true",
        "if(true, " * 200 + "1" + ", 0)" * 200,
        "firstNonNull(" * 200 + "1" + ")" * 200,
        "-(" * 100 + "1" + ")" * 100,
    ]
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 450)
    try:
        for text in deep:
            expr = parse.__wrapped__(text)  # not from the cache: parse it under the tight limit
            evaluate(expr)
            assert expr == parse.__wrapped__(expr.canonical())
            assert hash(expr) == hash(parse.__wrapped__(expr.canonical()))
    finally:
        sys.setrecursionlimit(old)


def test_formula_error_is_the_common_base():
    assert issubclass(FormulaSyntaxError, FormulaError)
    assert issubclass(EvaluationError, FormulaError)

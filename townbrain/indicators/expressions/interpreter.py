"""Evaluates a syntax tree over a dict of element values. Nothing here calls eval, exec or compile:
every node type and every whitelisted function has its own small handler.

Values
    Numbers are ``decimal.Decimal`` and all arithmetic runs in CONTEXT: 28 significant digits,
    ROUND_HALF_UP (half away from zero, like Excel). Literals and element values are rounded to
    28 digits when read. Booleans are ``True``/``False``, text is ``str``, null is ``None``.

Null (a missing value)
    The literal ``null`` is null. A missing ``#{x}`` (absent from the dict, or ``None``) is null,
    or 0 with ``missing="zero"``.
    Arithmetic, signs, comparisons and the maths functions give null when an operand is null;
    ``&&``, ``||``, ``!`` and ``if`` follow three-valued logic (``null && false`` is false,
    ``null || true`` is true, ``!null`` and ``if(null, a, b)`` are null). ``isNull``,
    ``isNotNull`` and ``firstNonNull`` are the ways to catch a null; ``greatest()``, ``least()`` and
    ``firstNonNull()`` with no argument are null, as in DHIS2.

No value (null) rather than an error
    ``x / 0``, ``x % 0``, ``0 ^ negative``, a negative number to a fractional power, ``log`` or
    ``log10`` of a number <= 0, ``log`` to a base <= 0 or 1: like DHIS2, which yields no value.

Errors (EvaluationError)
    An operand of the wrong type (``"a" + 1``, ``"a" < 1``, ``if("a", 1, 2)``), a result beyond
    1E+999999, an element value of an unsupported type. Type checks apply to every operand
    that is evaluated, whether or not another operand is null.

Types mix in two documented ways only: true/false count as 1/0 where a number is needed, and a
number counts as true when it is not 0 where a condition is needed (DHIS2 does the same).
"""

import math
from collections.abc import Mapping
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from . import nodes
from .errors import EvaluationError

PRECISION = 28
EMAX = 999_999
CONTEXT = Context(prec=PRECISION, rounding=ROUND_HALF_UP, Emax=EMAX, Emin=-EMAX,
                  traps=[InvalidOperation, DivisionByZero, Overflow])
MISSING = ("null", "zero")
MAX_REMAINDER_DIGITS = 10_000
ZERO = Decimal(0)
ONE = Decimal(1)
TOO_LARGE = f"the result is too large (beyond 1E+{EMAX})"


def evaluate_tree(tree, values: Mapping | None = None, missing: str = "null"):
    """The value of the tree: Decimal, bool, str or None. Raises EvaluationError."""
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {', '.join(MISSING)}, not {missing!r}")
    return _Evaluator({} if values is None else values, missing == "zero").eval(tree)


def describe(value) -> str:
    """A value as messages show it: ``number 1.5``, ``true``, ``text "abc"``, ``null``."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"number {value}"
    shown = value if len(value) <= 20 else value[:20] + "…"
    return f'text "{shown}"'


class _Evaluator:
    __slots__ = ("values", "zero_missing", "ctx")

    def __init__(self, values: Mapping, zero_missing: bool):
        self.values = values
        self.zero_missing = zero_missing
        self.ctx = CONTEXT.copy()  # flags are per evaluation; the settings are CONTEXT's

    def eval(self, node):
        # Recursion costs at most two Python frames per level of the tree (eval → handler → eval),
        # so the parser's MAX_DEPTH keeps every evaluation far from the recursion limit.
        kind = type(node)
        try:
            if kind is nodes.Call:
                name = node.name
                if name in _STRICT:  # the maths functions: arguments first, right here
                    values = []
                    for arg in node.args:
                        values.append(self.eval(arg))
                    return _STRICT[name](self, values, node.pos)
                if name in _LAZY:
                    return _LAZY[name](self, node)
                raise TypeError(f"not a whitelisted function: {name!r}")
            handler = _HANDLERS.get(kind)
            if handler is None:
                raise TypeError(f"not a formula node: {node!r}")
            return handler(self, node)
        except Overflow:
            raise EvaluationError(TOO_LARGE, _pos(node)) from None
        except ArithmeticError as exc:  # any other decimal condition: never expected, never a crash
            raise EvaluationError(f"cannot compute this value ({type(exc).__name__})", _pos(node)) from None


def _pos(node) -> int:
    if type(node) in (nodes.Arithmetic, nodes.Logical):
        return node.positions[0] if node.positions else -1
    return node.pos


def _number(value, what: str, pos: int) -> Decimal:
    if value is True or value is False:
        return ONE if value else ZERO
    if isinstance(value, Decimal):
        return value
    raise EvaluationError(f"{what} needs numbers, got {describe(value)}", pos)


def _truth(value, what: str, pos: int):
    if value is None or value is True or value is False:
        return value
    if isinstance(value, Decimal):
        return not value.is_zero()
    raise EvaluationError(f"{what} needs true/false (or a number), got {describe(value)}", pos)


def _load(ev: _Evaluator, code: str, value, pos: int):
    if value is True or value is False or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")
    else:
        raise EvaluationError(f"the value of #{{{code}}} has an unsupported type ({type(value).__name__})", pos)
    if not number.is_finite():
        raise EvaluationError(f"the value of #{{{code}}} is not a finite number ({value})", pos)
    return ev.ctx.plus(number)


# -- handlers, one per node type -------------------------------------------------------------------

def _number_literal(ev, node):
    return ev.ctx.plus(node.value)


def _string_literal(ev, node):
    return node.value


def _boolean_literal(ev, node):
    return node.value


def _null_literal(ev, node):
    return None


def _reference(ev, node):
    value = ev.values.get(node.code)
    if value is None:
        return ZERO if ev.zero_missing else None
    return _load(ev, node.code, value, node.pos)


def _unary(ev, node):
    value = ev.eval(node.operand)
    if node.op == "!":
        truth = _truth(value, "'!'", node.pos)
        return None if truth is None else not truth
    if value is None:
        return None
    number = _number(value, f"'{node.op}'", node.pos)
    return ev.ctx.minus(number) if node.op == "-" else ev.ctx.plus(number)


def _power(ev, node):
    base, exponent = ev.eval(node.base), ev.eval(node.exponent)
    if base is not None:
        base = _number(base, "'^'", node.pos)
    if exponent is not None:
        exponent = _number(exponent, "'^'", node.pos)
    if base is None or exponent is None:
        return None
    if base.is_zero():
        if exponent.is_zero():
            return ONE  # 0^0 = 1, as in Java (DHIS2) and Python
        if exponent < 0:
            return None  # a division by zero
    if base < 0 and exponent != exponent.to_integral_value():
        return None  # not a real number
    try:
        return ev.ctx.power(base, exponent)
    except Overflow:
        raise EvaluationError(TOO_LARGE, node.pos) from None
    except InvalidOperation:
        return None


def _arithmetic(ev, node):
    ctx = ev.ctx
    positions = node.positions or (-1,) * len(node.rest)
    acc = ev.eval(node.first)
    if acc is not None:
        acc = _number(acc, f"'{node.rest[0][0]}'", positions[0])
    for (op, operand), pos in zip(node.rest, positions, strict=True):
        value = ev.eval(operand)
        if value is not None:
            value = _number(value, f"'{op}'", pos)
        if acc is None or value is None:
            acc = None
            continue
        try:
            if op == "+":
                acc = ctx.add(acc, value)
            elif op == "-":
                acc = ctx.subtract(acc, value)
            elif op == "*":
                acc = ctx.multiply(acc, value)
            elif value.is_zero():  # x / 0 and x % 0 have no value
                acc = None
            elif op == "/":
                acc = ctx.divide(acc, value)
            else:
                acc = _remainder(ctx, acc, value, pos)
        except Overflow:
            raise EvaluationError(TOO_LARGE, pos) from None
    return acc


def _remainder(ctx: Context, a: Decimal, b: Decimal, pos: int) -> Decimal:
    """a % b with the sign of a (truncated division, as in Java and DHIS2): -7 % 3 = -1."""
    if a.is_zero():
        return ctx.plus(a)
    # The integer quotient must fit in the precision: widen it when a is much larger than b.
    needed = a.adjusted() - b.adjusted() + 3
    if needed <= ctx.prec:
        return ctx.remainder(a, b)
    if needed > MAX_REMAINDER_DIGITS:
        raise EvaluationError(f"'%' cannot be computed: the operands differ by more than "
                              f"{MAX_REMAINDER_DIGITS} orders of magnitude", pos)
    wide = ctx.copy()
    wide.prec = needed + ctx.prec
    return ctx.plus(wide.remainder(a, b))


def _comparison(ev, node):
    left, right = ev.eval(node.left), ev.eval(node.right)
    if left is None or right is None:
        return None
    left_text, right_text = isinstance(left, str), isinstance(right, str)
    if left_text != right_text:
        raise EvaluationError(f"'{node.op}' cannot compare {describe(left)} with {describe(right)}", node.pos)
    if not left_text and (type(left) is not type(right)):  # a number with true/false: true counts as 1
        left, right = _number(left, "", node.pos), _number(right, "", node.pos)
    op = node.op
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def _logical(ev, node):
    what = f"'{node.op}'"
    positions = node.positions or (-1,) * (len(node.operands) - 1)
    decisive = node.op == "||"  # the value that settles the result: true for ||, false for &&
    result = not decisive
    for index, operand in enumerate(node.operands):
        truth = _truth(ev.eval(operand), what, positions[max(0, index - 1)])
        if truth is decisive:
            return decisive
        if truth is None:
            result = None
    return result


# -- functions -------------------------------------------------------------------------------------
# Lazy functions get the node and evaluate only the arguments they need; strict ones get the
# values of all their arguments (already evaluated, so type errors never depend on nulls).


def _if(ev, node):
    args = node.args
    truth = _truth(ev.eval(args[0]), "if()", node.pos)
    if truth is None:
        return None
    return ev.eval(args[1] if truth else args[2])


def _is_null(ev, node):
    return ev.eval(node.args[0]) is None


def _is_not_null(ev, node):
    return ev.eval(node.args[0]) is not None


def _first_non_null(ev, node):
    for arg in node.args:
        value = ev.eval(arg)
        if value is not None:
            return value
    return None


def _numbers(values: list, name: str, pos: int) -> list | None:
    """The argument values as numbers (each type-checked), or None when one is null."""
    numbers = []
    for value in values:
        numbers.append(None if value is None else _number(value, f"{name}()", pos))
    return None if None in numbers else numbers


# greatest() and least() of nothing are null (DHIS2); of a list holding a null they are null too.
# DHIS2 skips the nulls instead, but then least(10, #{missing}) would be 10: full points for a
# figure nobody reported. A scheme that wants DHIS2's reading writes firstNonNull(#{x}, 0).
def _greatest(ev, values, pos):
    numbers = _numbers(values, "greatest", pos)
    return None if not numbers else max(numbers)


def _least(ev, values, pos):
    numbers = _numbers(values, "least", pos)
    return None if not numbers else min(numbers)


def _remove_zeros(ev, values, pos):
    """removeZeros(x): null when x is 0, else x (DHIS2: keeps zeros out of averages and counts)."""
    numbers = _numbers(values, "removeZeros", pos)
    if numbers is None or numbers[0].is_zero():
        return None
    return numbers[0]


def _texts(values: list, name: str, pos: int) -> list:
    for value in values:
        if value is not None and not isinstance(value, str):
            raise EvaluationError(f"{name}() needs text, got {describe(value)}", pos)
    return values


def _contains(ev, values, pos):
    """contains(text, part, ...): every part occurs somewhere in the text (a null part does not)."""
    text, *parts = _texts(values, "contains", pos)
    if text is None:
        return None
    return all(part is not None and part in text for part in parts)


def _contains_items(ev, values, pos):
    """containsItems(list, item, ...): every item is one of the comma-separated entries of the list
    (a multi-select value such as 'MOLD_ALLERGY,LATEX_ALLERGY'); exact matches, not substrings."""
    text, *items = _texts(values, "containsItems", pos)
    if text is None:
        return None
    entries = text.split(",")
    return all(item is not None and item in entries for item in items)


# sqrt(2 * pi) to 50 digits, so the density is computed in Decimal like everything else.
SQRT_2PI = Decimal("2.5066282746310005024157652848110452530069867406099")
FAR_OUT = Decimal(1000)  # beyond this many standard deviations the density is 0 at 28 digits


def _standard_score(ev, values, name, pos):
    numbers = _numbers(values, name, pos)
    if numbers is None:
        return None
    x, mean, stddev = numbers
    if stddev <= 0:
        return None  # no distribution: no value, like a division by zero
    return ev.ctx.divide(ev.ctx.subtract(x, mean), stddev), stddev


def _norm_dist_cum(ev, values, pos):
    """normDistCum(x, mean, stddev): P(X <= x) for a normal distribution. Python has no decimal erf,
    so this one function is computed in binary floating point (about 15 correct digits)."""
    scored = _standard_score(ev, values, "normDistCum", pos)
    if scored is None:
        return None
    z = scored[0]
    if abs(z) > FAR_OUT:
        return ZERO if z < 0 else ONE
    probability = 0.5 * math.erfc(-float(z) / math.sqrt(2))
    return ev.ctx.plus(Decimal(repr(probability)))


def _norm_dist_den(ev, values, pos):
    """normDistDen(x, mean, stddev): the normal density at x, exp(-z²/2) / (stddev * sqrt(2π))."""
    scored = _standard_score(ev, values, "normDistDen", pos)
    if scored is None:
        return None
    z, stddev = scored
    if abs(z) > FAR_OUT:
        return ZERO
    ctx = ev.ctx
    return ctx.divide(ctx.exp(ctx.minus(ctx.divide(ctx.multiply(z, z), 2))), ctx.multiply(stddev, SQRT_2PI))


def _log(ev, values, pos):
    numbers = _numbers(values, "log", pos)
    if numbers is None or numbers[0] <= 0:
        return None
    if len(numbers) == 1:
        return ev.ctx.ln(numbers[0])
    x, base = numbers
    if base <= 0 or base == 1:
        return None
    wide = ev.ctx.copy()
    wide.prec += 10  # so that log(8, 2) is exactly 3 after rounding to 28 digits
    return ev.ctx.plus(wide.divide(wide.ln(x), wide.ln(base)))


def _log10(ev, values, pos):
    numbers = _numbers(values, "log10", pos)
    if numbers is None or numbers[0] <= 0:
        return None
    return ev.ctx.log10(numbers[0])


def _abs(ev, values, pos):
    numbers = _numbers(values, "abs", pos)
    return None if numbers is None else ev.ctx.abs(numbers[0])


def _ceil(ev, values, pos):
    numbers = _numbers(values, "ceil", pos)
    return None if numbers is None else numbers[0].to_integral_value(rounding=ROUND_CEILING, context=ev.ctx)


def _floor(ev, values, pos):
    numbers = _numbers(values, "floor", pos)
    return None if numbers is None else numbers[0].to_integral_value(rounding=ROUND_FLOOR, context=ev.ctx)


def _round(ev, values, pos):
    """round(x) and round(x, digits), half away from zero like Excel's ROUND; digits may be < 0."""
    numbers = _numbers(values, "round", pos)
    if numbers is None:
        return None
    x = numbers[0]
    digits = numbers[1] if len(numbers) == 2 else ZERO
    if digits != digits.to_integral_value():
        raise EvaluationError(f"round() needs a whole number of digits, got {digits}", pos)
    digits = int(digits)
    if x.as_tuple().exponent >= -digits:
        return x  # no finer than asked already
    if digits < -(x.adjusted() + 1):
        return ZERO  # |x| is under a tenth of the unit asked for
    return x.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=ev.ctx)


_LAZY = {
    "if": _if,
    "isNull": _is_null,
    "isNotNull": _is_not_null,
    "firstNonNull": _first_non_null,
}
_STRICT = {
    "greatest": _greatest,
    "least": _least,
    "log": _log,
    "log10": _log10,
    "abs": _abs,
    "ceil": _ceil,
    "floor": _floor,
    "round": _round,
    "removeZeros": _remove_zeros,
    "contains": _contains,
    "containsItems": _contains_items,
    "normDistCum": _norm_dist_cum,
    "normDistDen": _norm_dist_den,
}

_HANDLERS = {
    nodes.Number: _number_literal,
    nodes.String: _string_literal,
    nodes.Boolean: _boolean_literal,
    nodes.Null: _null_literal,
    nodes.Reference: _reference,
    nodes.Unary: _unary,
    nodes.Power: _power,
    nodes.Arithmetic: _arithmetic,
    nodes.Comparison: _comparison,
    nodes.Logical: _logical,
}

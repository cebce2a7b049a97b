"""The body of ``townbrain formula eval "EXPR" [--var code=value ...]`` (wired in townbrain/cli.py).

Prints exactly one JSON object: ``{"value": <number|true|false|null|"text">}`` with exit code 0,
or ``{"error": "<message ... at position N>"}`` with exit code 1.
"""

import json
import re
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal

from .engine import evaluate
from .errors import FormulaError
from .lexer import CODE_CHARS

NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def formula_eval_command(expr: str, var_pairs: list[str] | tuple[str, ...] = (), missing: str = "null") -> tuple[int, str]:
    """(exit code, JSON text) for the formula and its ``code=value`` variables."""
    try:
        values = parse_vars(var_pairs)
        value = evaluate(expr, values, missing=missing)
    except FormulaError as exc:
        return 1, _dumps({"error": str(exc)})
    except ValueError as exc:  # a bad --missing
        return 1, _dumps({"error": str(exc)})
    return 0, '{"value": ' + json_value(value) + "}"


def parse_vars(pairs) -> dict:
    """``code=value`` → {code: value}: a number (Decimal), true, false, null, or else the text.

    A value in double quotes is JSON text (``note="true"`` gives the text ``true``). The last
    pair wins when a code repeats.
    """
    values = {}
    for pair in pairs:
        code, sep, raw = pair.partition("=")
        code = code.strip()
        if not sep or not code:
            raise FormulaError(f"--var {pair!r} is not code=value")
        bad = next((c for c in code if c not in CODE_CHARS), None)
        if bad is not None:
            raise FormulaError(f"--var {pair!r}: invalid character {bad!r} in element code")
        values[code] = var_value(raw)
    return values


def var_value(raw: str):
    text = raw.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    if text == "null":
        return None
    if NUMBER.fullmatch(text):
        try:
            return Decimal(text)
        except ArithmeticError:  # an exponent beyond what Decimal holds: keep it as text
            return raw
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            decoded = json.loads(text)
        except ValueError:
            return raw
        if isinstance(decoded, str):
            return decoded
    return raw


def json_value(value) -> str:
    """A result as a JSON value; whole numbers without a decimal point (7, not 7.0 or 7.00)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return number_json(value)
    return _dumps(value)


def number_json(value: Decimal) -> str:
    if not value.is_finite():  # cannot come out of evaluate(); JSON has no NaN or Infinity
        return "null"
    if value.is_zero():
        return "0"
    if value == value.to_integral_value() and value.adjusted() < 28:
        return str(int(value))
    exact = Context(prec=max(1, len(value.as_tuple().digits)), Emax=MAX_EMAX, Emin=MIN_EMIN)
    return str(value.normalize(exact))  # e.g. 0.5, 1E-7, -2.25, 1.5E+30: all JSON numbers


def _dumps(obj) -> str:
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from undecodable argv bytes): escape it
        text = json.dumps(obj)
    return text

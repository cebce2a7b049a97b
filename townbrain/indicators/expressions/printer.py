"""Prints a syntax tree as canonical formula text that parses back to the same tree.

Canonical form: ``&&``/``||``/``!`` rather than the words, spaces around binary operators,
double-quoted strings, and parentheses only where the tree needs them.
"""

from decimal import Decimal

from . import nodes
from .nodes import ATOM, POWER, SIGN, level

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def to_text(node) -> str:
    kind = type(node)
    if kind is nodes.Number:
        return number_text(node.value)
    if kind is nodes.String:
        return string_text(node.value)
    if kind is nodes.Boolean:
        return "true" if node.value else "false"
    if kind is nodes.Null:
        return "null"
    if kind is nodes.Reference:
        return f"#{{{node.code}}}"
    if kind is nodes.Call:
        args = []
        for arg in node.args:  # a loop, not a generator: one Python frame less per level
            args.append(to_text(arg))
        return f"{node.name}({', '.join(args)})"
    own = level(node)
    if kind is nodes.Unary:
        if node.op == "!":  # "!(a > b)", not "!a > b" (which reads as C's "(!a) > b" but is not)
            operand = node.operand
            nested = type(operand) is nodes.Unary and operand.op == "!"
            return "!" + (to_text(operand) if nested else _child(operand, ATOM))
        return node.op + _child(node.operand, SIGN)  # a sign's operand: another sign, a power, an atom
    if kind is nodes.Power:
        return f"{_child(node.base, POWER + 1)}^{_child(node.exponent, SIGN)}"
    if kind is nodes.Comparison:
        return f"{_child(node.left, own + 1)} {node.op} {_child(node.right, own + 1)}"
    if kind is nodes.Logical:
        return f" {node.op} ".join(_child(operand, own + 1) for operand in node.operands)
    if kind is nodes.Arithmetic:
        parts = [_child(node.first, own + 1)]
        for op, operand in node.rest:
            parts.append(f"{op} {_child(operand, own + 1)}")
        return " ".join(parts)
    raise TypeError(f"not a formula node: {node!r}")


def _child(node, least: int) -> str:
    """The child's text, in parentheses when it binds looser than ``least``."""
    text = to_text(node)
    return text if level(node) >= least else f"({text})"


def number_text(value: Decimal) -> str:
    """A literal the lexer reads back as the same number (``1E+3`` stays exact)."""
    if not value.is_finite() or value.is_signed():
        raise ValueError(f"a number literal is finite and not negative, not {value}")
    return str(value)


def string_text(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


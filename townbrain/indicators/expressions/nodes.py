"""The syntax tree: small immutable dataclasses, compared by structure (positions are ignored).

``pos`` (and ``positions`` for n-ary nodes) are 0-based offsets of the node's operator or first
character in the parsed text, or -1 for trees built by hand; they serve error messages only.

Left-associative chains are n-ary (``a - b + c`` is one ``Arithmetic`` node with two steps), so the
depth of the tree follows the nesting of the text and a long flat sum never needs deep recursion.
"""

from dataclasses import dataclass, field
from decimal import Decimal

# Precedence levels, loosest first. The parser and the printer share them.
OR, AND, NOT, EQUALITY, RELATION, ADDITIVE, MULTIPLICATIVE, SIGN, POWER, ATOM = (
    10, 20, 30, 40, 50, 60, 70, 80, 90, 100)

ADDITIVE_OPS = ("+", "-")
MULTIPLICATIVE_OPS = ("*", "/", "%")
EQUALITY_OPS = ("==", "!=")
RELATION_OPS = ("<", "<=", ">", ">=")


def _pos():
    return field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Number:
    value: Decimal  # never negative: "-1" is Unary("-", Number(1))
    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class String:
    value: str
    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class Null:
    """The literal ``null``: no value, as a missing element is (DHIS2 writes it the same way)."""

    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class Reference:
    """``#{code}``; DHIS2's ``#{element.combo}`` is kept whole as the code ``element.combo``."""

    code: str
    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+" or "!" (``not`` is read as "!")
    operand: object
    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class Power:
    base: object
    exponent: object
    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """``first op1 x1 op2 x2 ...``; all ops from ADDITIVE_OPS or all from MULTIPLICATIVE_OPS."""

    first: object
    rest: tuple  # ((op, node), ...), at least one step
    positions: tuple = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Comparison:
    op: str
    left: object
    right: object
    pos: int = _pos()


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # "&&" or "||" (``and`` / ``or`` are read as these)
    operands: tuple  # at least two
    positions: tuple = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple
    pos: int = _pos()


def level(node) -> int:
    """How tightly the node holds together when printed (see the precedence table)."""
    kind = type(node)
    if kind is Logical:
        return OR if node.op == "||" else AND
    if kind is Unary:
        return NOT if node.op == "!" else SIGN
    if kind is Comparison:
        return EQUALITY if node.op in EQUALITY_OPS else RELATION
    if kind is Arithmetic:
        return ADDITIVE if node.rest[0][0] in ADDITIVE_OPS else MULTIPLICATIVE
    if kind is Power:
        return POWER
    return ATOM


def children(node) -> tuple:
    kind = type(node)
    if kind is Unary:
        return (node.operand,)
    if kind is Power:
        return (node.base, node.exponent)
    if kind is Arithmetic:
        return (node.first, *(operand for _op, operand in node.rest))
    if kind is Comparison:
        return (node.left, node.right)
    if kind is Logical:
        return node.operands
    if kind is Call:
        return node.args
    return ()


def walk(node):
    """Every node of the tree, parents before children (iterative: no recursion limit)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def shape(node) -> tuple:
    """A flat tuple that is equal for two trees exactly when the trees are equal (positions aside).

    Built without recursion, so comparing or hashing the deepest allowed trees is cheap and safe;
    the dataclasses' own ``==`` and ``hash`` recurse (fine for small trees, e.g. in tests).
    """
    out = []
    for current in walk(node):
        kind = type(current)
        if kind in (Number, String, Boolean):
            out.append((kind.__name__, type(current.value).__name__, current.value))
        elif kind is Reference:
            out.append(("Reference", current.code))
        elif kind in (Unary, Comparison, Logical):
            out.append((kind.__name__, current.op, len(children(current))))
        elif kind is Arithmetic:
            out.append(("Arithmetic", tuple(op for op, _operand in current.rest)))
        elif kind is Call:
            out.append(("Call", current.name, len(current.args)))
        else:
            out.append((kind.__name__,))
    return tuple(out)

"""The public face of the engine: parse once, evaluate many times."""

from collections.abc import Mapping
from functools import lru_cache

from .interpreter import evaluate_tree
from .nodes import Reference, shape, walk
from .parser import parse_tree
from .printer import to_text


class Expression:
    """A parsed formula: the text as written, its syntax tree and the element codes it uses."""

    __slots__ = ("text", "tree", "_references", "_shape")

    def __init__(self, text: str, tree):
        self.text = text
        self.tree = tree
        self._references = frozenset(node.code for node in walk(tree) if type(node) is Reference)
        self._shape = shape(tree)  # equality and hashing without recursion

    def references(self) -> frozenset[str]:
        """The element codes the formula reads, e.g. {"sewage_treated", "sewage_total"}."""
        return self._references

    def evaluate(self, values: Mapping | None = None, missing: str = "null"):
        return evaluate_tree(self.tree, values, missing)

    def canonical(self) -> str:
        """The formula in canonical form (``and`` → ``&&``, spaces around binary operators, only the
        parentheses the tree needs). It parses back to the same tree, provided it stays within
        MAX_LENGTH: the added spaces can make a very long formula longer than that."""
        return to_text(self.tree)

    def __eq__(self, other):
        return isinstance(other, Expression) and self._shape == other._shape

    def __hash__(self):
        return hash(self._shape)

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"Expression({self.text!r})"


@lru_cache(maxsize=4096)
def parse(text: str) -> Expression:
    """Parse formula text; raises FormulaSyntaxError. Results are cached (an Expression is immutable)."""
    return Expression(text, parse_tree(text))


def evaluate(expr_or_text: "Expression | str", values: Mapping | None = None, missing: str = "null"):
    """The formula's value over ``values`` (element code → Decimal/int/float/bool/str/None).

    ``missing="null"`` (default): a missing or None element is null. ``missing="zero"``: it is 0.
    Returns Decimal, bool, str or None; raises FormulaSyntaxError or EvaluationError (both
    FormulaError).
    """
    expression = parse(expr_or_text) if isinstance(expr_or_text, str) else expr_or_text
    if not isinstance(expression, Expression):
        raise TypeError(f"evaluate() takes an Expression or formula text, not {type(expr_or_text).__name__}")
    return evaluate_tree(expression.tree, values, missing)

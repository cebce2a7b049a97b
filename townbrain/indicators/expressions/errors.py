"""Errors raised by the formula engine.

Positions are **0-based character offsets** into the formula text (the number of characters
before the offending one, counting each Unicode character once), and every message ends with
``at position N`` so it can be shown as it is.
"""


class FormulaError(Exception):
    """Base class: anything wrong with a formula or with evaluating it."""

    def __init__(self, message: str, position: int | None = None):
        self.message = message
        self.position = position
        super().__init__(message if position is None or position < 0 else f"{message} at position {position}")


class FormulaSyntaxError(FormulaError):
    """The text is not a valid formula (unknown function, wrong arity, bad token, too deep ...)."""

    def __init__(self, message: str, position: int):
        super().__init__(message, position)

    def caret(self, text: str) -> str:
        """The formula on one line and a ``^`` under the offending character on the next."""
        line = text.replace("\n", " ").replace("\t", " ")
        return f"{line}\n{' ' * min(self.position, len(line))}^"


class EvaluationError(FormulaError):
    """A valid formula met values it cannot work with (e.g. ``"a" + 1``, a number too large)."""

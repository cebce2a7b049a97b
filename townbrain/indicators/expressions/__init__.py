"""TownBrain's formula engine: DHIS2-style expressions, parsed by a grammar, interpreted over a
whitelist. Pure Python (no Django): ``parse``, ``evaluate``, ``Expression``, the errors.

    >>> evaluate("#{sewage_treated} / #{sewage_total} * 100", {"sewage_treated": 45, "sewage_total": 50})
    Decimal('90')

The syntax, the precedence table, numbers, the missing-value strategy and division by zero are
documented in docs/formulas.md; the short version is in interpreter.py and parser.py.
"""

from .engine import Expression, evaluate, parse
from .errors import EvaluationError, FormulaError, FormulaSyntaxError
from .functions import FUNCTIONS
from .interpreter import CONTEXT, MISSING, PRECISION
from .parser import MAX_DEPTH, MAX_LENGTH
from .printer import to_text

__all__ = [
    "CONTEXT",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MISSING",
    "PRECISION",
    "EvaluationError",
    "Expression",
    "FormulaError",
    "FormulaSyntaxError",
    "evaluate",
    "parse",
    "to_text",
]

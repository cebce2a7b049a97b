"""A hand-written precedence-climbing (Pratt) parser from tokens to the syntax tree.

Precedence, loosest first (see docs/formulas.md):

    ||  or            left, n-ary
    &&  and           left, n-ary
    !   not           prefix
    ==  !=            not chainable
    <  <=  >  >=      not chainable
    +  -              left
    *  /  %           left
    -  +              prefix (unary)
    ^                 right; binds tighter than a unary minus on its left: -3^2 = -(3^2)
    literals, #{code}, f(...), ( ... )

Limits: the text has at most MAX_LENGTH characters and at most MAX_DEPTH nested levels (every
parenthesis, function argument, prefix operator and operator operand opens one), so a hostile
formula gets a FormulaSyntaxError, never a RecursionError.
"""

from . import nodes
from .errors import FormulaSyntaxError
from .functions import FUNCTIONS, arity_text, suggestion
from .lexer import Token, tokenize
from .nodes import (
    ADDITIVE,
    AND,
    EQUALITY,
    MULTIPLICATIVE,
    NOT,
    OR,
    POWER,
    RELATION,
    SIGN,
)

MAX_LENGTH = 10_000
MAX_DEPTH = 200

INFIX = {"||": OR, "&&": AND, "==": EQUALITY, "!=": EQUALITY, "<": RELATION, "<=": RELATION, ">": RELATION,
         ">=": RELATION, "+": ADDITIVE, "-": ADDITIVE, "*": MULTIPLICATIVE, "/": MULTIPLICATIVE,
         "%": MULTIPLICATIVE, "^": POWER}
WORD_OPS = {"or": "||", "and": "&&"}
KEYWORDS = ("true", "false", "null", "and", "or", "not")


def parse_tree(text: str):
    """The syntax tree of ``text``; raises FormulaSyntaxError."""
    if not isinstance(text, str):
        raise TypeError(f"a formula is text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaSyntaxError(f"formula is too long ({len(text)} characters; at most {MAX_LENGTH})", MAX_LENGTH)
    return _Parser(tokenize(text)).formula()


class _Parser:
    __slots__ = ("tokens", "i", "depth")

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = -1

    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    @staticmethod
    def infix(tok: Token) -> str | None:
        if tok.kind == "op":
            return tok.text if tok.text in INFIX else None
        if tok.kind == "name":
            return WORD_OPS.get(tok.text)
        return None

    def formula(self):
        if self.peek().kind == "end":
            raise FormulaSyntaxError("empty formula", 0)
        root = self.expression(0)
        tok = self.peek()
        if tok.kind != "end":
            raise self.unexpected(tok, after_value=True)
        return root

    def unexpected(self, tok: Token, after_value: bool = False) -> FormulaSyntaxError:
        hint = ""
        if after_value and (tok.kind in ("number", "string", "ref", "name") or tok.text == "("):
            hint = " (missing an operator?)"
        return FormulaSyntaxError(f"unexpected {tok.describe()}{hint}", tok.pos)

    def expression(self, min_level: int):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            opener = self.tokens[self.i - 1]  # the parenthesis, comma or operator that opened this level
            raise FormulaSyntaxError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)", opener.pos)
        left = self.prefix(min_level)
        while True:
            tok = self.peek()
            op = self.infix(tok)
            if op is None or INFIX[op] <= min_level:
                break
            level = INFIX[op]
            self.advance()
            if level == POWER:  # right-associative: the exponent may itself hold a ^
                left = nodes.Power(left, self.expression(POWER - 1), tok.pos)
            elif level in (EQUALITY, RELATION):
                left = nodes.Comparison(op, left, self.expression(level), tok.pos)
                nxt = self.peek()
                nop = self.infix(nxt)
                if nop is not None and INFIX[nop] == level:
                    raise FormulaSyntaxError(
                        f"comparisons cannot be chained; join them with && (e.g. a < b && b < c), found '{nxt.text}'",
                        nxt.pos)
            elif level in (OR, AND):
                operands, positions = [left, self.expression(level)], [tok.pos]
                while (nop := self.infix(self.peek())) == op:
                    positions.append(self.advance().pos)
                    operands.append(self.expression(level))
                left = nodes.Logical(op, tuple(operands), tuple(positions))
            else:  # + - or * / %: one n-ary node for the whole left-associative run
                steps, positions = [(op, self.expression(level))], [tok.pos]
                while (nop := self.infix(self.peek())) is not None and INFIX[nop] == level:
                    positions.append(self.advance().pos)
                    steps.append((nop, self.expression(level)))
                left = nodes.Arithmetic(left, tuple(steps), tuple(positions))
        self.depth -= 1
        return left

    def prefix(self, min_level: int):
        tok = self.advance()
        kind, text = tok.kind, tok.text
        if kind == "number":
            return nodes.Number(tok.value, tok.pos)
        if kind == "string":
            return nodes.String(tok.value, tok.pos)
        if kind == "ref":
            return nodes.Reference(tok.value, tok.pos)
        if kind == "op":
            if text == "(":
                inner = self.expression(0)
                close = self.advance()
                if close.text == ")" and close.kind == "op":
                    return inner
                if close.kind == "end":
                    raise FormulaSyntaxError("'(' is never closed", tok.pos)
                raise self.unexpected(close, after_value=True)
            if text in ("-", "+"):
                return nodes.Unary(text, self.expression(SIGN), tok.pos)
        if (kind == "op" and text == "!") or (kind == "name" and text == "not"):
            if min_level > NOT:
                example = "a == (not b)" if text == "not" else "a == (!b)"
                raise FormulaSyntaxError(
                    f"'{text}' after an arithmetic or comparison operator needs parentheses, e.g. {example}", tok.pos)
            return nodes.Unary("!", self.expression(NOT), tok.pos)
        if kind == "name":
            if text in ("true", "false"):
                return nodes.Boolean(text == "true", tok.pos)
            if text == "null":
                return nodes.Null(tok.pos)
            # A function call; its arguments are parsed here, not in a helper, so that a level of
            # nesting costs two Python frames (expression → prefix → expression) whatever it is.
            opening = self.call_start(tok)
            args = []
            if self.peek().kind == "op" and self.peek().text == ")":
                self.advance()
            else:
                while True:
                    args.append(self.expression(0))
                    sep = self.advance()
                    if sep.kind == "op" and sep.text == ",":
                        continue
                    if sep.kind == "op" and sep.text == ")":
                        break
                    if sep.kind == "end":
                        raise FormulaSyntaxError(f"'(' of {text}() is never closed", opening.pos)
                    raise FormulaSyntaxError(f"unexpected {sep.describe()} (expected ',' or ')')", sep.pos)
            least, most = FUNCTIONS[text]
            if len(args) < least or (most is not None and len(args) > most):
                raise FormulaSyntaxError(f"{text}() takes {arity_text(text)}, got {len(args)}", tok.pos)
            return nodes.Call(text, tuple(args), tok.pos)
        if kind == "end":
            raise FormulaSyntaxError("unexpected end of formula", tok.pos)
        raise self.unexpected(tok)

    def call_start(self, tok: Token) -> Token:
        """Checks the name is a whitelisted function followed by '(' and consumes the '('."""
        name = tok.text
        if name in WORD_OPS:
            raise self.unexpected(tok)
        opening = self.peek()
        if opening.kind != "op" or opening.text != "(":
            if name in FUNCTIONS:
                raise FormulaSyntaxError(f"expected '(' after function name '{name}'", opening.pos)
            raise FormulaSyntaxError(_unknown_name(name), tok.pos)
        if name not in FUNCTIONS:
            hint = f" (did you mean '{suggestion(name)}'?)" if suggestion(name) else ""
            raise FormulaSyntaxError(f"unknown function '{name}'{hint}", tok.pos)
        return self.advance()


def _unknown_name(name: str) -> str:
    lower = name.lower()
    if lower in KEYWORDS:
        return f"unknown name '{name}' (did you mean '{lower}'?)"
    if suggestion(name):
        return f"unknown name '{name}' (did you mean the function '{suggestion(name)}(...)'?)"
    return f"unknown name '{name}' (element references are written #{{{name}}}, text in quotes)"

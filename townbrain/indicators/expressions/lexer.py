"""Turns formula text into tokens.

Comments are written ``/* … */`` (as in DHIS2) and count as a space wherever a space may stand;
a comment that is never closed is an error (DHIS2 silently drops the rest of the text, which
would hide a half-deleted formula).

Outside string literals, full-width ASCII variants typed with a Chinese input method
(``（ ） ， ＋ ＞＝ ０-９`` …, U+FF01–U+FF5E) count as their ASCII forms and the ideographic space
U+3000 as a space. One character always stays one character, so positions are unaffected.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import FormulaSyntaxError

TWO_CHAR_OPS = ("==", "!=", "<=", ">=", "&&", "||")
ONE_CHAR_OPS = "+-*/%^<>!(),"
CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
NAME_CHARS = NAME_START | frozenset("0123456789")
DIGITS = frozenset("0123456789")
ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
HINTS = {
    "=": " (compare with '==')",
    "&": " (use '&&' or 'and')",
    "|": " (use '||' or 'or')",
    "{": " (element references are written #{code})",
    "}": " (element references are written #{code})",
    "[": " (use parentheses)",
    "]": " (use parentheses)",
    "\u201c": " (use straight quotes \" or ')",
    "\u201d": " (use straight quotes \" or ')",
    "\u2018": " (use straight quotes \" or ')",
    "\u2019": " (use straight quotes \" or ')",
}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "number", "string", "ref", "name", "op", "end"
    text: str  # the operator, name or literal as written (after full-width folding)
    pos: int
    value: object = None  # Decimal for numbers, str for strings and references

    def describe(self) -> str:
        if self.kind == "end":
            return "end of formula"
        if self.kind == "number":
            return f"number {self.text}"
        if self.kind == "string":
            shown = self.value if len(self.value) <= 20 else self.value[:20] + "…"
            return f'text "{shown}"'
        if self.kind == "ref":
            return f"#{{{self.value}}}"
        return f"'{self.text}'"


def fold(ch: str) -> str:
    """Full-width ASCII variants and the ideographic space as their ASCII forms."""
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    if code == 0x3000:
        return " "
    return ch


def _show(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"


def tokenize(text: str) -> list[Token]:
    chars = [fold(c) for c in text]
    n = len(chars)
    tokens: list[Token] = []
    i = 0
    while i < n:
        c = chars[i]
        if c.isspace():
            i += 1
            continue
        if c == "/" and i + 1 < n and chars[i + 1] == "*":
            i = _comment_end(chars, i)
            continue
        start = i
        if c in DIGITS or (c == "." and i + 1 < n and chars[i + 1] in DIGITS):
            i = _number_end(chars, start)
            literal = "".join(chars[start:i])
            try:
                value = Decimal(literal)
            except InvalidOperation:
                raise FormulaSyntaxError(f"number {literal} is out of range", start) from None
            tokens.append(Token("number", literal, start, value))
            continue
        if c in NAME_START:
            while i < n and chars[i] in NAME_CHARS:
                i += 1
            tokens.append(Token("name", "".join(chars[start:i]), start))
            continue
        if c == "#":
            code, i = _reference(chars, i)
            tokens.append(Token("ref", f"#{{{code}}}", start, code))
            continue
        if text[i] in "'\"":  # quotes are not folded: a full-width ＂ is an error
            value, i = _string(text, i)
            tokens.append(Token("string", text[start:i], start, value))
            continue
        pair = "".join(chars[i:i + 2])
        if pair in TWO_CHAR_OPS:
            tokens.append(Token("op", pair, start))
            i += 2
            continue
        if c in ONE_CHAR_OPS:
            tokens.append(Token("op", c, start))
            i += 1
            continue
        raise FormulaSyntaxError(f"unexpected character {_show(text[i])}{HINTS.get(c, '')}", start)
    tokens.append(Token("end", "", n))
    return tokens


def _comment_end(chars: list[str], start: int) -> int:
    """The index just after the ``*/`` that closes the comment opened at ``start``."""
    n = len(chars)
    i = start + 2
    while i + 1 < n:
        if chars[i] == "*" and chars[i + 1] == "/":
            return i + 2
        i += 1
    raise FormulaSyntaxError("comment is never closed (comments are written /* ... */)", start)


def _number_end(chars: list[str], start: int) -> int:
    n = len(chars)
    i = start
    while i < n and chars[i] in DIGITS:
        i += 1
    if i < n and chars[i] == ".":
        i += 1
        while i < n and chars[i] in DIGITS:
            i += 1
    if i < n and chars[i] in "eE":
        j = i + 1
        if j < n and chars[j] in "+-":
            j += 1
        if j < n and chars[j] in DIGITS:
            while j < n and chars[j] in DIGITS:
                j += 1
            return j
        raise FormulaSyntaxError(f"malformed number '{''.join(chars[start:j])}': the exponent has no digits", start)
    return i


def _reference(chars: list[str], i: int) -> tuple[str, int]:
    start = i
    n = len(chars)
    if i + 1 >= n or chars[i + 1] != "{":
        raise FormulaSyntaxError("expected '{' after '#' (element references are written #{code})", start)
    i += 2
    while i < n and chars[i] != "}":
        if chars[i] not in CODE_CHARS:
            raise FormulaSyntaxError(
                f"invalid character {_show(chars[i])} in element code (allowed: letters, digits, _ . -)", i)
        i += 1
    if i >= n:
        raise FormulaSyntaxError("'#{' is never closed", start)
    code = "".join(chars[start + 2:i])
    if not code:
        raise FormulaSyntaxError("empty element reference '#{}'", start)
    return code, i + 1


def _string(text: str, i: int) -> tuple[str, int]:
    quote = text[i]
    start = i
    n = len(text)
    i += 1
    out = []
    while i < n:
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= n:
                break
            e = text[i + 1]
            if e in ESCAPES:
                out.append(ESCAPES[e])
                i += 2
                continue
            if e == "u":
                code = _hex4(text, i)
                if 0xD800 <= code <= 0xDBFF and text[i + 6:i + 8] == "\\u":  # a surrogate pair
                    low = _hex4(text, i + 6)
                    if 0xDC00 <= low <= 0xDFFF:
                        out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                        i += 12
                        continue
                if 0xD800 <= code <= 0xDFFF:
                    raise FormulaSyntaxError("invalid escape: a lone surrogate is not a character", i)
                out.append(chr(code))
                i += 6
                continue
            raise FormulaSyntaxError(f"invalid escape '\\{e}' in string", i)
        out.append(c)
        i += 1
    raise FormulaSyntaxError("string is never closed", start)


def _hex4(text: str, i: int) -> int:
    """The value of the four hex digits after the backslash-u at ``i``."""
    digits = text[i + 2:i + 6]
    if len(digits) == 4 and all(d in "0123456789abcdefABCDEF" for d in digits):
        return int(digits, 16)
    raise FormulaSyntaxError("invalid escape: \\u needs four hex digits", i)

"""The whitelist of functions: name → (least, most) number of arguments (None = no upper bound).

Only these names can be called; the parser rejects any other name and any other arity, so an
evaluation never meets an unknown function.
"""

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "if": (3, 3),
    "isNull": (1, 1),
    "isNotNull": (1, 1),
    "firstNonNull": (1, None),
    "greatest": (1, None),
    "least": (1, None),
    "log": (1, 2),
    "log10": (1, 1),
    "abs": (1, 1),
    "ceil": (1, 1),
    "floor": (1, 1),
    "round": (1, 2),
}

_BY_LOWER = {name.lower(): name for name in FUNCTIONS}


def arity_text(name: str) -> str:
    least, most = FUNCTIONS[name]
    noun = "argument" if (most or least) == 1 else "arguments"
    if most is None:
        return f"at least {least} {noun}"
    if least == most:
        return f"{least} {noun}"
    return f"{least} or {most} arguments" if most == least + 1 else f"{least} to {most} arguments"


def suggestion(name: str) -> str | None:
    """The whitelisted spelling of a name typed in another case (``isnull`` → ``isNull``)."""
    return _BY_LOWER.get(name.lower())

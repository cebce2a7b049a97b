"""The whitelist of functions: name → (least, most) number of arguments (None = no upper bound).

Only these names can be called; the parser rejects any other name and any other arity, so an
evaluation never meets an unknown function. The names and arities follow DHIS2's expression
language where DHIS2 has the function (``firstNonNull()``, ``greatest()`` and ``least()`` may be
called with no argument at all and are then null); ``abs``, ``ceil``, ``floor`` and ``round`` are
TownBrain's own (DHIS2 has them only as ``d2:`` program-rule functions). docs/formulas.md lists
every DHIS2 feature and whether it is supported.
"""

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "if": (3, 3),
    "isNull": (1, 1),
    "isNotNull": (1, 1),
    "firstNonNull": (0, None),
    "greatest": (0, None),
    "least": (0, None),
    "removeZeros": (1, 1),
    "contains": (2, None),
    "containsItems": (1, None),
    "normDistCum": (3, 3),
    "normDistDen": (3, 3),
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
    noun = "argument" if (most if most is not None else least) == 1 else "arguments"
    if most is None:
        return f"at least {least} {noun}"
    if least == most:
        return f"{least} {noun}"
    return f"{least} or {most} arguments" if most == least + 1 else f"{least} to {most} arguments"


def suggestion(name: str) -> str | None:
    """The whitelisted spelling of a name typed in another case (``isnull`` → ``isNull``)."""
    return _BY_LOWER.get(name.lower())

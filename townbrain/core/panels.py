"""The cockpit's panel registry: each app adds what a leader should see of it, in one shape.

The cockpit (and the briefings that print its figures) sit near the roof; the apps that own
the figures sit below them. So the registry lives here on the ground floor: an app registers
its panels in its AppConfig.ready(), and the cockpit reads `panels()` without importing any app.

A panel answers `build(ctx)` with a `PanelData` of cards (KPI figures), charts and tables, or
None when it has nothing for that area and period (the panel is then left out, never shown
empty). One shape serves every place that shows it: the cockpit page draws the charts with
ECharts in the browser, the briefings draw the same `Chart` server-side, and tables become
sheets (xlsx), Word tables (docx) and paged tables (PDF). A panel that needs more than the
generic rendering names its own `template` for the cockpit page; the briefings stay generic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Context:
    """What every panel is asked for: who looks (for `restrict`), where, which programme, which month."""

    user: Any
    org: Any  # core.models.OrgUnit
    programme: Any  # programmes.models.Programme, or None when the area holds no programme
    period: str  # YYYYMM
    cluster: Any = None  # reserved: a cluster instead of an org unit
    # Figures worked out once per request and shared by panels (e.g. the area's roll-up).
    memo: dict = field(default_factory=dict, compare=False, hash=False)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


@dataclass
class Card:
    """One KPI figure: `value` already rounded; `unit` shown after it (万元, %, 个, 人次)."""

    key: str
    label: str
    value: Any
    unit: str = ""
    note: str = ""  # a second line, e.g. "计划 1,950"
    url: str = ""  # where a click leads (the list behind the figure)
    tone: str = ""  # "", "good", "warn", "bad": how the figure stands


@dataclass
class Series:
    name: str
    data: list  # one number (or None) per category of the chart
    unit: str = ""
    kind: str = ""  # "bar" or "line"; empty: the chart's kind


@dataclass
class Chart:
    """A bar or line chart (or pie for shares), the same for ECharts and the server-side images."""

    key: str
    title: str
    kind: str  # "bar", "line", "pie", "hbar" (horizontal bars, e.g. rankings)
    categories: list[str]
    series: list[Series]
    links: list[str] = field(default_factory=list)  # drill-down URL per category ("" for none)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]  # header labels, units in brackets: "总投资(万元)"
    rows: list[list]
    links: list[str] = field(default_factory=list)  # one per row ("" for none)
    numeric: list[bool] = field(default_factory=list)  # per column: right-aligned number

    def __post_init__(self):
        # A figure that has no value (a rate of nothing) reads "—" on the page and in every briefing.
        self.rows = [["—" if cell is None else cell for cell in row] for row in self.rows]


@dataclass
class PanelData:
    cards: list[Card] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass(frozen=True)
class Panel:
    key: str
    title: Any  # a lazy translation
    order: int
    build: Callable[[Context], PanelData | None]
    template: str = ""  # the cockpit page's own template for this panel; "" = the generic one
    # True for a panel whose figures do not depend on the month (the area's units): a month in which
    # only such panels have something is a month without data (no briefing for it).
    timeless: bool = False


_PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> Panel:
    """Add (or replace, by key) a panel; call from an AppConfig.ready()."""
    _PANELS[panel.key] = panel
    return panel


def panels() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.key))


def build_all(ctx: Context) -> list[tuple[Panel, PanelData]]:
    """Every registered panel's data for `ctx`, in order; panels with nothing to show left out."""
    built = []
    for panel in panels():
        data = panel.build(ctx)
        if data is not None:
            built.append((panel, data))
    return built

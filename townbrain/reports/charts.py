"""A panel's `Chart` drawn server-side as a PNG, for the docx and PDF briefings.

The cockpit draws the same `Chart` with ECharts in the browser; a briefing must print without
a browser, so matplotlib draws it here (Agg backend: no display, thread-safe per figure). The
CJK font is named explicitly: matplotlib's default DejaVu has no Chinese glyphs and would print
empty boxes (tofu) for every unit name without saying so, so a missing font is an error instead.
"""

from __future__ import annotations

import io
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")  # before pyplot: a server has no display

from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from townbrain.core.panels import Chart  # noqa: E402

# Debian's fonts-noto-cjk; the same family the PDF's CSS names. The .ttc holds JP, KR, SC, TC and
# HK faces: the SC face draws Simplified Chinese with mainland glyph shapes.
CJK_FAMILY = "Noto Sans CJK SC"
CJK_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")

PALETTE = ["#206bc4", "#f59f00", "#2fb344", "#d63939", "#ae3ec9", "#17a2b8", "#6c757d", "#fd7e14"]
DPI = 130  # sharp enough on paper at 16 cm; every extra dot costs drawing and PDF time


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def cjk_font() -> font_manager.FontProperties:
    """The CJK font as matplotlib finds it; raises FontMissing rather than drawing tofu."""
    for path in CJK_FILES:
        try:
            font_manager.fontManager.addfont(path)  # in case the font cache predates the package
        except (OSError, RuntimeError):
            pass
    props = font_manager.FontProperties(family=CJK_FAMILY)
    try:
        font_manager.findfont(props, fallback_to_default=False)
    except ValueError as exc:
        raise FontMissing(f"the font {CJK_FAMILY} is missing: install Debian's fonts-noto-cjk") from exc
    return props


def _values(series) -> list[float]:
    return [0.0 if v is None else float(v) for v in series.data]


def png(chart: Chart, width_cm: float = 16, height_cm: float | None = None) -> bytes:
    """The chart as PNG bytes, `width_cm` wide (the page's text width in the briefings)."""
    font = cjk_font()
    n = len(chart.categories)
    if height_cm is None:  # rankings grow with their bars so names stay readable
        height_cm = max(6.5, 0.5 * n + 2.5) if chart.kind == "hbar" else 7
    fig = Figure(figsize=(width_cm / 2.54, height_cm / 2.54), dpi=DPI)
    ax = fig.add_subplot()
    size = 8
    if chart.kind == "pie":
        series = chart.series[0] if chart.series else None
        values = _values(series) if series else []
        if sum(values) > 0:
            ax.pie(values, labels=chart.categories, colors=PALETTE[: len(values)],
                                          autopct="%1.1f%%", startangle=90, counterclock=False,
                                          textprops={"fontproperties": font, "fontsize": size})
        ax.axis("equal")
    else:
        positions = list(range(n))
        bars = [s for s in chart.series if (s.kind or chart.kind) in ("bar", "hbar")]
        width = 0.8 / max(len(bars), 1)
        for i, s in enumerate(chart.series):
            kind = s.kind or chart.kind
            colour = PALETTE[i % len(PALETTE)]
            label = f"{s.name}({s.unit})" if s.unit and s.unit != "%" else (f"{s.name}(%)" if s.unit else s.name)
            if kind == "line":
                ax.plot(positions, [None if v is None else float(v) for v in s.data], marker="o", markersize=3,
                        color=colour, label=label)
            else:
                j = bars.index(s)
                offset = [p - 0.4 + width * (j + 0.5) for p in positions]
                if kind == "hbar":
                    drawn = ax.barh(offset, _values(s), height=min(width, 0.6), color=colour, label=label)
                    ax.bar_label(drawn, labels=[_short(v, s.unit) for v in s.data], padding=2, fontsize=size - 1)
                else:
                    ax.bar(offset, _values(s), width=width, color=colour, label=label)
        if chart.kind == "hbar":
            ax.set_yticks(positions, chart.categories, fontproperties=font, fontsize=size)
            ax.invert_yaxis()  # the first category (rank 1) on top, as in the cockpit
            ax.grid(axis="x", alpha=0.3)
        else:
            crowded = n * max((len(c) for c in chart.categories), default=0) > 40  # labels would collide
            ax.set_xticks(positions, chart.categories, fontproperties=font, fontsize=size,
                          rotation=30 if crowded else 0, ha="right" if crowded else "center",
                          rotation_mode="anchor")
            ax.grid(axis="y", alpha=0.3)
        for label in ax.get_xticklabels() + ax.get_yticklabels():
            label.set_fontproperties(font)
            label.set_fontsize(size)
        ax.spines[["top", "right"]].set_visible(False)
        if len(chart.series) > 1 or chart.kind != "hbar":  # above the plot: never over a bar or a line
            ax.legend(prop=_sized(font, size), frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                      ncol=max(len(chart.series), 1))
    fig.suptitle(chart.title, fontproperties=_sized(font, 10))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _short(value, unit: str) -> str:
    if value is None:
        return ""
    return f"{float(value):.1f}%" if unit == "%" else f"{float(value):,.0f}"


def _sized(font: font_manager.FontProperties, size: float) -> font_manager.FontProperties:
    props = font.copy()
    props.set_size(size)
    return props

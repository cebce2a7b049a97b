"""What the cockpit shows for an area, programme and month — and what a briefing prints.

One function, `build()`, answers both: the cockpit page, its live refresh, the big screen and the
briefings (xlsx, docx, PDF) all render the same `Cockpit`, so a briefing can never disagree with
the screen. The figures come from the panels the apps register (core/panels.py); the roll-up of
the area itself is `rollups.compute()`, exactly what `/api/rollups/` answers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date

from django.db.models import Sum
from django.utils import formats
from django.utils.translation import gettext as _

from townbrain.core import periods
from townbrain.core.models import Level, OrgUnit
from townbrain.core.numbers import amount, percent  # noqa: F401  (the briefings' formats)
from townbrain.core.panels import Context, Panel, PanelData, build_all
from townbrain.projects import latest
from townbrain.projects.models import RollupCell
from townbrain.projects.panels import area_rollup


def period_label(period: str) -> str:
    """2020年9月 / September 2020."""
    year, month = periods.parse_month(period)
    return formats.date_format(date(year, month, 1), "YEAR_MONTH_FORMAT")


@dataclass
class Cockpit:
    org: object
    programme: object
    period: str
    rollup: dict | None  # rollups.compute(): the area's own figures, None without a programme
    sections: list[tuple[Panel, PanelData]] = field(default_factory=list)
    programmes: list = field(default_factory=list)  # the programmes with data here (the selector)

    @property
    def period_label(self) -> str:
        return period_label(self.period)

    @property
    def title(self) -> str:
        """工作简报 title: 杭州市美丽城镇建设工作简报（2020年9月）."""
        programme = self.programme.name if self.programme else ""
        return _("%(org)s %(programme)s briefing (%(period)s)") % {
            "org": self.org.name, "programme": programme, "period": self.period_label}

    def fingerprint(self) -> str:
        """Changes whenever a figure shown changes: the live refresh redraws only then."""
        payload = json.dumps([self.period, self.rollup, [(p.key, asdict(d)) for p, d in self.sections]],
                             default=str, sort_keys=True)
        return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()[:16]


def build(user, org, programme=None, period: str | None = None) -> Cockpit:
    """The cockpit of `org` as `user` sees it; programme and month default to where the data is."""
    programmes = latest.programmes_with_data(user, org)
    if programme is None:
        programme = programmes[0] if programmes else latest.default_programme(user, org)
    if period is None:
        period = latest.latest_period(user, org, programme)
    ctx = Context(user=user, org=org, programme=programme, period=period)
    rollup = area_rollup(ctx) if programme is not None else None
    return Cockpit(org=org, programme=programme, period=period, rollup=rollup, sections=build_all(ctx),
                   programmes=programmes)


def busiest_province(user) -> str | None:
    """The province with the most projects (for a user who sees the whole country), else the first one."""
    provinces = OrgUnit.objects.filter(level=Level.PROVINCE).values_list("code", flat=True)
    row = (RollupCell.objects.filter(kind="plan", category=-1, role=-1, batch=-1, org__in=list(provinces))
           .values("org").annotate(n=Sum("n")).order_by("-n", "org").first())
    if row:
        return row["org"]
    first = OrgUnit.objects.restrict(user, "view").filter(level=Level.PROVINCE).order_by("code").first()
    return first.code if first else None

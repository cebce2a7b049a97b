"""Monthly progress reports: the one write path that saves and removes them, one or thousands.

report_progress() and delete_report() (the UI, the API) are the one-report case of ReportBatch,
which an import uses for a whole file: each report is checked in the order given, exactly as one
report_progress() call after another would check it (a report sees the ones before it, a refused
one changes nothing), and the accepted ones are written together — the projects locked and read
once, their reports in one query, reports and audit rows written in bulk, each project's figures
synced once, the roll-up cells moved once. One call per report made ~13 round trips each: a
province's monthly file of 30,000 rows took minutes.
"""

from copy import copy
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from townbrain.core import audit, bulk, locks, periods
from townbrain.core.scope import require
from townbrain.core.services import refuse_unknown

from . import rollups
from .models import STARTED_STATUSES, ProgressReport, Project
from .schedule import curves_for

REPORT_FIELDS = ("month_investment", "cumulative_investment", "progress_percent", "status", "problems",
                 "correction_reason")
# Read only when asked for (bulk.fetch's defer): converting them was half the cost of reading a
# project's year of reports, and a save never reads them.
TIMESTAMPS = ("created", "updated")
# What a project keeps of its latest report, so roll-ups and lists read one table.
SYNCED_FIELDS = ("status", "cumulative_investment", "progress_percent", "last_period")


def report_progress(actor, project: Project, period, **figures) -> ProgressReport:
    """Save (create or replace) the monthly report of `project` for `period` (YYYYMM).

    Cumulative investment may not fall below the previous report's without a correction
    reason; a report that says 开工 needs the project's actual start date. The project keeps
    the latest figures so roll-ups read one table.
    """
    return bulk.one(ReportBatch(actor), (project, period, figures))


def delete_report(actor, report: ProgressReport) -> None:
    """Remove a monthly report (undoing an import); the project falls back to its previous report."""
    with transaction.atomic():
        batch = ReportBatch(actor)
        batch.load([report.project_id])
        batch.remove(report.project_id, report.period)
        batch.write()


def _validate_report(project: Project, report: ProgressReport, earlier) -> None:
    """The report rules; `earlier` is the cumulative investment of the project's previous report (or None)."""
    errors = {}
    for name in ("month_investment", "cumulative_investment"):
        if getattr(report, name) < 0:
            errors[name] = _("Money cannot be negative.")
    if not (Decimal(0) <= report.progress_percent <= Decimal(100)):
        errors["progress_percent"] = _("Physical progress is a percentage between 0 and 100.")
    if earlier is not None and report.cumulative_investment < earlier and not report.correction_reason.strip():
        errors["cumulative_investment"] = _(
            "Cumulative investment %(now)s 万元 is below the previous report's %(before)s 万元; "
            "give a correction reason.") % {"now": report.cumulative_investment, "before": earlier}
    if report.status in STARTED_STATUSES and not project.actual_start:
        errors["status"] = _("The project has no actual start date yet; enter it before reporting it as started.")
    if errors:
        raise ValidationError(errors)


class ReportBatch:
    """Reports saved and removed for one actor in one transaction: load() locks and reads the
    projects, report()/remove() check one change each against what the batch holds so far,
    write() writes them all. Nothing is written before write()."""

    def __init__(self, actor):
        self.actor = actor
        self.projects: dict[int, Project] = {}  # locked; synced with its latest report as the batch goes
        self.original: dict[int, Project] = {}  # as read, for the audit row and the roll-up move
        self.reports: dict[int, dict[str, ProgressReport]] = {}  # what each project's reports are now
        self.read: dict[int, list[ProgressReport]] = {}  # as read, oldest first
        self.touched: dict[tuple[int, str], dict] = {}  # (project, period) changed: its snapshot as read
        self.curves: dict = {}
        self.memo: dict = {}
        # A period submitted, approved or locked in the reporting cycle refuses changes (core/locks.py).
        self.locks = locks.Guard(actor, "progress")

    def load(self, project_ids) -> None:
        """Lock the projects (in key order, so two writers cannot deadlock) and read their reports."""
        ids = sorted(set(project_ids) - set(self.projects))
        if not ids:
            return
        # bulk.fetch, not querysets: a one-report save was mostly Python, and the ORM compiling these
        # reads (the plan curves' too, schedule.curves_for) cost more than the database answering them.
        for p in bulk.fetch(Project, "pk", ids, order_by=("pk",), for_update=True):
            self.projects[p.pk], self.original[p.pk] = p, copy(p)
            self.reports[p.pk], self.read[p.pk] = {}, []
        for r in bulk.fetch(ProgressReport, "project_id", sorted(self.projects.keys() & set(ids)),
                            order_by=("project_id", "period"), defer=TIMESTAMPS):
            r.project = self.projects[r.project_id]  # naming the report (audit) reads no project again
            self.reports[r.project_id][r.period] = r  # a change works on a copy: the report as read stays
            self.read[r.project_id].append(r)
        self.curves.update(curves_for(ids))

    def check(self, items) -> list:
        """Check [(project, period, figures)] in order: for each, (report, snapshot before or None,
        "created" | "updated" | "unchanged") or the error that refuses it."""
        self.load([project.pk for project, _period, _figures in items])
        loaded = [(self.projects.get(project.pk), period) for project, period, _figures in items]
        self.locks.prefetch({(p.town_id, p.programme_id, str(period)) for p, period in loaded if p is not None})
        results = []
        for project, period, figures in items:
            try:
                results.append(self.report(project.pk, period, figures))
            except (ValidationError, PermissionDenied) as exc:
                results.append(exc)
        return results

    def _project(self, project_id, action: str) -> Project:
        project = self.projects.get(project_id)
        if project is None:
            raise ValidationError({"project": _("This project no longer exists.")})
        require(self.actor, action, project.town_id)  # where the project is now, read under the lock
        return project

    def report(self, project_id, period, figures: dict) -> tuple:
        """Check one report of a loaded project; on success the batch holds it (see check())."""
        refuse_unknown(figures, REPORT_FIELDS)
        try:
            period = periods.month_id(*periods.parse_month(period))
        except periods.InvalidPeriod as exc:
            raise ValidationError({"period": str(exc)}) from exc
        project = self._project(project_id, "change")
        self.locks.check(project.town_id, project.programme_id, period)
        reports = self.reports[project_id]
        existing = reports.get(period)
        before = audit.snapshot(existing, REPORT_FIELDS) if existing else {}
        report = copy(existing) if existing else bulk.instance(
            ProgressReport, {"project": project, "period": period, "status": project.status})
        for name, value in figures.items():
            setattr(report, name, value)
        # The project is the locked row: its foreign key needs no look-up. The timestamps are set on
        # writing, not given (and, deferred, would be read again).
        bulk.clean_fields(report, exclude=("project", *TIMESTAMPS), memo=self.memo)
        earlier = max((p for p in reports if p < period), default=None)
        _validate_report(project, report, reports[earlier].cumulative_investment if earlier else None)
        if audit.snapshot(report, REPORT_FIELDS) == before:
            return existing, before, "unchanged"
        self.touched.setdefault((project_id, period), before)
        reports[period] = report
        self._sync(project)
        return report, (before or None), "updated" if existing else "created"

    def remove(self, project_id, period) -> None:
        """Remove a loaded project's report for `period` (nothing when it has none)."""
        project = self._project(project_id, "delete")
        reports = self.reports[project_id]
        if period in reports:
            self.locks.check(project.town_id, project.programme_id, period)
            self.touched.setdefault((project_id, period), audit.snapshot(reports[period], REPORT_FIELDS))
            del reports[period]
            self._sync(project)

    def _sync(self, project: Project) -> None:
        """The project takes its latest report's figures and status (with none: no figures, same status)."""
        reports = self.reports[project.pk]
        if reports:
            latest = reports[max(reports)]
            project.status, project.cumulative_investment = latest.status, latest.cumulative_investment
            project.progress_percent, project.last_period = latest.progress_percent, latest.period
        else:
            project.cumulative_investment, project.progress_percent, project.last_period = Decimal(0), Decimal(0), ""

    def write(self) -> None:
        """Write what the batch holds (once): reports, the projects' figures, an audit row each, the roll-up cells."""
        if not self.touched:
            return
        created, updated, saved, gone = [], [], [], []
        for (pid, period), before in self.touched.items():
            report = self.reports[pid].get(period)
            was = next((r for r in self.read[pid] if r.period == period), None)
            if report is None:
                if was is not None:
                    gone.append((was, before))
                continue
            if audit.snapshot(report, REPORT_FIELDS) == before:
                continue
            if was is None:
                created.append(report)
            else:
                report.pk = was.pk  # removed and saved again in one batch: the same row, updated
                report._state.adding = False
                updated.append(report)
            saved.append((report, before))
        touched = {pid for pid, _period in self.touched}
        projects = [p for pid, p in self.projects.items() if pid in touched]
        synced = []  # (project, its figures as read, as now) where they differ
        for p in projects:
            was, now = audit.snapshot(self.original[p.pk], SYNCED_FIELDS), audit.snapshot(p, SYNCED_FIELDS)
            if was != now:
                synced.append((p, was, now))

        def changes():  # the audit rows, made as they are written
            for was, before in gone:
                yield "progress.delete", was, before, {}, was.project.town_id
            for report, before in saved:
                yield "progress.report", report, before, audit.snapshot(report, REPORT_FIELDS), report.project.town_id
            for p, was, now in synced:
                yield "project.progress", p, was, now, p.town_id

        with transaction.atomic(savepoint=False):  # one unit with the caller's transaction, if any
            for piece in bulk.pieces([was.pk for was, _before in gone], bulk.IN_CHUNK):
                ProgressReport.objects.filter(pk__in=piece).delete()
            bulk.insert(ProgressReport, created)
            bulk.update(ProgressReport, updated, REPORT_FIELDS)
            bulk.update(Project, [p for p, _was, _now in synced], SYNCED_FIELDS)
            with bulk.meanwhile():  # the database adds up the roll-up cells (an import's: seconds) while the audit rows are built
                self._move_rollups(projects)
                pieces = audit.ahead(self.actor, changes())
            for piece in pieces:
                audit.write(piece)
        self.touched = {}

    def _move_rollups(self, projects) -> None:
        """One roll-up move for the projects whose reports changed (their town and programme did not)."""
        def figures(reports):
            return [(r.period, r.cumulative_investment, r.progress_percent) for r in reports]

        pairs = {(p.town_id, p.programme_id) for p in projects}
        if len(pairs) == 1:  # one town (a report from its form): its lock and enrolment in one round trip
            (pair,) = pairs
            dims = {pair: rollups.enrolment_dims(*pair)}
        else:
            dims = rollups.enrolments_of(pairs)
        before = {p.pk: figures(self.read[p.pk]) for p in projects}
        after = {p.pk: figures(sorted(self.reports[p.pk].values(), key=lambda r: r.period)) for p in projects}
        rollups.apply(rollups.contributions([self.original[p.pk] for p in projects], before, self.curves, dims),
                      rollups.contributions(projects, after, self.curves, dims))

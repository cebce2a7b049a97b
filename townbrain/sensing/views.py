"""Sensing pages: facilities (list, page, coverage), sensors (list, page with its live chart), the
alarm list with acknowledge / clear, and the upload of historic readings. Scoped by restrict()."""

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows

from . import alarms, charts, facilities, imports
from .filters import AlarmFilterSet, FacilityFilterSet, SensorFilterSet
from .models import Alarm, Facility, Sensor

FACILITY_COLUMNS = [
    Column("code", gettext_lazy("Code"), sort="code", link=True),
    Column("name", gettext_lazy("Name"), sort="name", link=True),
    Column("town.name", gettext_lazy("Town"), sort="town_id"),
    Column("kind", gettext_lazy("Kind"), sort="kind", getter=lambda f: facilities.kind_name(f.kind)),
    Column("status", gettext_lazy("Status"), sort="status"),
    Column("capacity", gettext_lazy("Capacity"), sort="capacity", classes="d-none d-md-table-cell"),
    Column("capacity_unit", gettext_lazy("Unit"), classes="d-none d-md-table-cell"),
    Column("started_on", gettext_lazy("Operating since"), sort="started_on", classes="d-none d-lg-table-cell"),
]


class FacilityListView(LoginRequiredMixin, RestrictedListView):
    model = Facility
    filterset_class = FacilityFilterSet
    columns = FACILITY_COLUMNS
    default_sort = "code"
    export_name = "facilities"
    title = gettext_lazy("Facilities (设施)")
    template_name = "sensing/facility_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("town")


SENSOR_COLUMNS = [
    Column("code", gettext_lazy("Code"), sort="code", link=True),
    Column("name", gettext_lazy("Name"), sort="name"),
    Column("town.name", gettext_lazy("Town"), sort="town_id"),
    Column("kind", gettext_lazy("Kind"), sort="kind"),
    Column("last_value", gettext_lazy("Last value"), sort="last_value"),
    Column("unit", gettext_lazy("Unit"), display=False),
    Column("last_ts", gettext_lazy("Last reading at"), sort="last_ts", classes="d-none d-md-table-cell"),
    Column("bad_payloads", gettext_lazy("Bad payloads"), sort="bad_payloads", classes="d-none d-lg-table-cell"),
]


class SensorListView(LoginRequiredMixin, RestrictedListView):
    model = Sensor
    filterset_class = SensorFilterSet
    columns = SENSOR_COLUMNS
    default_sort = "code"
    export_name = "sensors"
    title = gettext_lazy("Sensors (物联感知)")
    template_name = "sensing/sensor_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("town")


ALARM_COLUMNS = [
    Column("sensor.code", gettext_lazy("Sensor"), sort="sensor__code", url=lambda a: a.sensor.get_absolute_url(),
           link=True),
    Column("town.name", gettext_lazy("Town"), sort="town_id"),
    Column("severity", gettext_lazy("Severity"), sort="severity"),
    Column("status", gettext_lazy("Status"), getter=lambda a: STATUS_LABELS[a.status]),
    Column("rule", gettext_lazy("Rule"), getter=lambda a: str(a.rule) if a.rule_id else a.get_type_display()),
    Column("start", gettext_lazy("Start"), sort="start"),
    Column("end", gettext_lazy("End"), sort="end", classes="d-none d-md-table-cell"),
    Column("peak", gettext_lazy("Peak"), sort="peak", classes="d-none d-md-table-cell"),
]
STATUS_LABELS = {"active_unack": gettext_lazy("Active, unacknowledged"),
                 "active_ack": gettext_lazy("Active, acknowledged"),
                 "cleared_unack": gettext_lazy("Cleared, unacknowledged"),
                 "cleared_ack": gettext_lazy("Cleared, acknowledged")}


class AlarmListView(LoginRequiredMixin, RestrictedListView):
    model = Alarm
    filterset_class = AlarmFilterSet
    columns = ALARM_COLUMNS
    default_sort = "-start"
    export_name = "alarms"
    title = gettext_lazy("Alarms")
    template_name = "sensing/alarm_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("sensor", "town", "rule")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        # The buttons per row: only for alarms the user may change (others see the row, not the buttons).
        objects = list(ctx["page"].object_list)
        ctx["alarm_rows"] = [(a, row, alarms.may_handle(self.request.user, a)) for a, row in zip(objects, ctx["rows"],
                                                                                               strict=True)]
        return ctx


@login_required
def alarm_step(request, pk: int, step: str):
    """GET: the alarm and the button to confirm; POST: acknowledge or clear it."""
    alarm = get_object_or_404(Alarm.objects.restrict(request.user, "view").select_related("sensor", "rule"), pk=pk)
    if step not in ("ack", "clear"):
        raise Http404
    if request.method != "POST":
        return render(request, "sensing/alarm_step.html", {"alarm": alarm, "step": step,
                                                            "may_handle": alarms.may_handle(request.user, alarm)})
    try:
        (alarms.acknowledge if step == "ack" else alarms.clear)(request.user, alarm)
        messages.success(request, _("Alarm acknowledged.") if step == "ack" else _("Alarm cleared."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else reverse("alarm-list"))


@login_required
def facility_detail(request, code: str):
    facility = get_object_or_404(Facility.objects.restrict(request.user, "view").select_related("town"), code=code)
    sensors = Sensor.objects.restrict(request.user, "view").filter(facility=facility)
    return render(request, "sensing/facility_detail.html", {
        "facility": facility, "kind_name": facility.kind and facilities.kind_name(facility.kind),
        "sensors": sensors, "title": facility.name,
        "alarms": Alarm.objects.restrict(request.user, "view").filter(sensor__facility=facility, cleared=False)})


@login_required
def sensor_detail(request, code: str):
    sensor = get_object_or_404(Sensor.objects.restrict(request.user, "view").select_related("town", "facility"),
                               code=code)
    span = request.GET.get("span", "day")
    end = timezone.now()
    live = True
    if sensor.last_ts and sensor.last_ts < end - charts.SPANS["day"]:
        end, live = sensor.last_ts, False  # a quiet sensor: show the time it last spoke, not an empty chart
    start = end - charts.SPANS.get(span, charts.SPANS["day"])
    if request.GET.get("export") == "csv":
        return _readings_csv(sensor, start, end)
    return render(request, "sensing/sensor_detail.html", {
        "sensor": sensor, "span": span, "spans": list(charts.SPANS),
        "chart": charts.series(sensor, start, end),
        "chart_url": reverse("api:sensor-chart", args=[sensor.code]) if live else "",
        "alarms": Alarm.objects.restrict(request.user, "view").filter(sensor=sensor).select_related("rule")[:20],
        "rules": sensor.rules.all(), "handles": allows(request.user, "change", sensor.town_id)})


def _readings_csv(sensor, start, end) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{sensor.code}-readings.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(["sensor", "ts", "value"])
    for ts, v in charts.raw(sensor, start, end).values_list("ts", "value").iterator():
        writer.writerow([sensor.code, timezone.localtime(ts).isoformat(), v])
    return response


@login_required
def coverage(request):
    code = request.GET.get("org") or ""
    units = OrgUnit.objects.restrict(request.user, "view")
    org = units.filter(code=code).first() if code else units.exclude(level=Level.VILLAGE).order_by("code").first()
    if org is None:
        raise Http404
    programme = request.GET.get("programme", "")
    try:
        data = facilities.coverage(request.user, org, programme, request.GET.get("period", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        data = facilities.coverage(request.user, org, programme)
    missing = OrgUnit.objects.filter(code__in=data["missing"][:200])
    return render(request, "sensing/coverage.html", {"org": org, "data": data, "missing": missing,
                                                     "programme": programme, "title": _("Facility coverage")})


@login_required
def readings_import(request):
    """Historic readings from a CSV (sensor, ts, value): each row through the ingest path."""
    result = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a CSV file."))
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                messages.error(request, _("The file is not UTF-8 text."))
            else:
                try:
                    result = imports.import_readings(request.user, io.StringIO(text))
                except PermissionDenied as exc:
                    messages.error(request, str(exc))
    return render(request, "sensing/readings_import.html", {"result": result, "title": _("Import readings")})

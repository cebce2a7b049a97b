"""Sensing pages: facilities (list, page, coverage), sensors (list, page with its live chart), the
alarm list with acknowledge / clear, and the upload of historic readings. Scoped by restrict()."""

import csv
import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from townbrain.core import geo
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows

from . import alarms, charts, facilities, imports
from .filters import AlarmFilterSet, FacilityFilterSet, SensorFilterSet
from .models import Alarm, Facility, FacilityStatus, Sensor

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


# The facility export speaks the facility CSV import's language (imports.FACILITY_COLUMNS: the same headers,
# codes rather than labels, coordinates in WGS-84), so an exported file imports back unchanged.
FACILITY_EXPORT_COLUMNS = [
    Column("town", "town", getter=lambda f: f.town_id),
    Column("code", "code"),
    Column("name", "name"),
    Column("kind", "kind", display=False),
    Column("status", "status", display=False),
    Column("capacity", "capacity"),
    Column("capacity_unit", "capacity_unit"),
    Column("lat", "lat"),
    Column("lng", "lng"),
    Column("crs", "crs", getter=lambda f: geo.WGS84),
    Column("started_on", "started_on"),
    Column("notes", "notes"),
]
assert [c.name for c in FACILITY_EXPORT_COLUMNS] == list(imports.FACILITY_COLUMNS)


class FacilityListView(LoginRequiredMixin, RestrictedListView):
    model = Facility
    filterset_class = FacilityFilterSet
    columns = FACILITY_COLUMNS
    exported_columns = FACILITY_EXPORT_COLUMNS
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


SENSOR_EXPORT_COLUMNS = [
    Column("code", gettext_lazy("Code")),
    Column("name", gettext_lazy("Name")),
    Column("town_code", gettext_lazy("Town code"), getter=lambda s: s.town_id),
    Column("town", gettext_lazy("Town"), getter=lambda s: s.town.name),
    Column("facility", gettext_lazy("Facility code"), getter=lambda s: s.facility.code if s.facility_id else ""),
    Column("kind", gettext_lazy("Kind"), display=False),
    Column("unit", gettext_lazy("Unit"), display=False),
    Column("lat", gettext_lazy("Latitude (WGS-84)")),
    Column("lng", gettext_lazy("Longitude (WGS-84)")),
    Column("inactive_after_s", gettext_lazy("Silent after (s)")),
    Column("last_ts", gettext_lazy("Last reading at")),
    Column("last_value", gettext_lazy("Last value")),
    Column("last_seen", gettext_lazy("Last heard from")),
    Column("readings_stored", gettext_lazy("Readings stored")),
    Column("bad_payloads", gettext_lazy("Bad payloads")),
]


class SensorListView(LoginRequiredMixin, RestrictedListView):
    model = Sensor
    filterset_class = SensorFilterSet
    columns = SENSOR_COLUMNS
    exported_columns = SENSOR_EXPORT_COLUMNS
    default_sort = "code"
    export_name = "sensors"
    title = gettext_lazy("Sensors (物联感知)")
    template_name = "sensing/sensor_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("town", "facility")


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


ALARM_EXPORT_COLUMNS = [
    Column("id", "ID"),
    Column("sensor", gettext_lazy("Sensor"), getter=lambda a: a.sensor.code),
    Column("town_code", gettext_lazy("Town code"), getter=lambda a: a.town_id),
    Column("town", gettext_lazy("Town"), getter=lambda a: a.town.name),
    Column("type", gettext_lazy("Type")),
    Column("rule", gettext_lazy("Rule"), getter=lambda a: str(a.rule) if a.rule_id else ""),
    Column("severity", gettext_lazy("Severity")),
    Column("status", gettext_lazy("Status"), getter=lambda a: STATUS_LABELS[a.status]),
    Column("start", gettext_lazy("Start")),
    Column("end", gettext_lazy("End")),
    Column("peak", gettext_lazy("Peak")),
    Column("unit", gettext_lazy("Unit"), getter=lambda a: a.sensor.unit),
    Column("acked_at", gettext_lazy("Acknowledged at")),
    Column("acked_by", gettext_lazy("Acknowledged by")),
    Column("cleared_at", gettext_lazy("Cleared at")),
    Column("cleared_by", gettext_lazy("Cleared by")),
]


class AlarmListView(LoginRequiredMixin, RestrictedListView):
    model = Alarm
    filterset_class = AlarmFilterSet
    columns = ALARM_COLUMNS
    exported_columns = ALARM_EXPORT_COLUMNS
    default_sort = "-start"
    export_name = "alarms"
    title = gettext_lazy("Alarms")
    template_name = "sensing/alarm_list.html"

    def base_queryset(self):
        # rule__sensor: a rule's name is its sensor's code (AlarmRule.__str__), read with the page, not per row.
        return super().base_queryset().select_related("sensor", "town", "rule", "rule__sensor")

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


# The map layer of facilities (the cockpit map draws it over its areas): colour by status.
STATUS_COLOURS = {"operating": "#2fb344", "building": "#f59f00", "planned": "#4299e1", "out_of_service": "#d63939"}
MAP_LIMIT = 5000


@login_required
@require_safe
def facility_map(request):
    """`/facilities/map.json?org=<code>[&system=gcj02]`: the facilities with a location under `org` that the
    user may see, as points in `system` (default GCJ-02, the cockpit map's polygons: stored WGS-84 is
    shifted, or a point would sit ~500 m off), coloured by status, with the legend.

    {"org", "system", "facilities": [{code, name, town, kind, kind_name, status, status_label, colour,
    lat, lng, url}], "legend": [{status, label, colour}], "truncated"}"""
    code = request.GET.get("org", "").strip()
    if not code.isdigit() or len(code) > 12:
        raise Http404(_("Give the org unit: ?org=<division code>."))
    try:
        system = geo.system_of(request.GET.get("system", "") or geo.GCJ02)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    qs = (Facility.objects.restrict(request.user, "view")
          .filter(town__code__startswith=code, lat__isnull=False, lng__isnull=False)
          .select_related("town").order_by("code"))
    found = list(qs[:MAP_LIMIT + 1])
    points = []
    for f in found[:MAP_LIMIT]:
        lat, lng = geo.from_wgs84(f.lat, f.lng, system)
        points.append({"code": f.code, "name": f.name, "town": f.town.name, "kind": f.kind,
                       "kind_name": str(facilities.kind_name(f.kind)) if f.kind else "",
                       "status": f.status, "status_label": f.get_status_display(),
                       "colour": STATUS_COLOURS.get(f.status, "#868e96"),
                       "lat": round(lat, 6), "lng": round(lng, 6), "url": f.get_absolute_url()})
    legend = [{"status": value, "label": str(label), "colour": STATUS_COLOURS[value]}
              for value, label in FacilityStatus.choices]
    return JsonResponse({"org": code, "system": system, "facilities": points, "legend": legend,
                         "truncated": len(found) > MAP_LIMIT}, json_dumps_params={"ensure_ascii": False})


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
        elif upload.size > settings.IMPORT_MAX_BYTES:
            messages.error(request, _("The file is %(size).1f MB; the limit is %(limit).0f MB.") % {
                "size": upload.size / 2**20, "limit": settings.IMPORT_MAX_BYTES / 2**20})
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

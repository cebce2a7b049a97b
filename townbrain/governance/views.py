"""Pages: the handler's queue, the event page with its timeline and step buttons, reporting, notifications."""

from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.db.models.query import ModelIterable
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from townbrain.access.scoping import default_org
from townbrain.core import exports, geo, ratelimit
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows, scope_prefixes

from . import forms, photos, services, stats
from .filters import EventFilterSet
from .models import CLOCK_RUNNING, OPEN, Event, EventPhoto, Notification, Platform, Source, Status, Step


class LatePageRows(ModelIterable):
    """The rows of a page of a list: the page's ids first, then those rows (a late row lookup).

    `SELECT … ORDER BY deadline, id OFFSET 15000 LIMIT 50` fetches, joins and sorts every row before the
    page to throw them away; the ids alone come from an index (for the queue governance_event_open_town,
    or governance_event_open_due walked in order for the first pages) and only the page's own 50 rows
    are read. The order is the same query's, so the rows are those the plain query would give. Exports
    (more than a page) run the plain query."""

    PAGE_MAX = 1000  # rows: more (an export) are read by the plain query

    def __iter__(self):
        queryset = self.queryset
        query = queryset.query
        if query.high_mark is None or query.high_mark - query.low_mark > self.PAGE_MAX:
            yield from ModelIterable(queryset, self.chunked_fetch, self.chunk_size)
            return
        ids = list(queryset.values_list("pk", flat=True))
        rows = queryset._chain()
        rows.query.clear_limits()
        rows.query.clear_ordering(force=True)
        found = {row.pk: row for row in ModelIterable(rows.filter(pk__in=ids), self.chunked_fetch, self.chunk_size)}
        yield from (found[pk] for pk in ids if pk in found)


class EventQueueView(LoginRequiredMixin, RestrictedListView):
    """The handler's queue: the events of the area, soonest deadline first (events not yet dispatched last)."""

    model = Event
    filterset_class = EventFilterSet
    columns = [
        Column("pk", gettext_lazy("No."), sort="id", link=True),
        Column("deadline", gettext_lazy("Deadline"), sort="deadline"),
        Column("status", gettext_lazy("Status"), sort="status"),
        Column("overdue", gettext_lazy("Overdue"), getter=lambda e: _("yes") if e.is_overdue() else ""),
        Column("platform", gettext_lazy("Platform"), sort="platform"),
        Column("category.name", gettext_lazy("Category"), sort="category__name"),
        Column("town.name", gettext_lazy("Town"), sort="town__name"),
        Column("description", gettext_lazy("Description"), getter=lambda e: e.description[:60]),
        Column("reported_at", gettext_lazy("Reported"), sort="reported_at"),
    ]
    default_sort = "deadline"
    export_name = "events"
    title = gettext_lazy("Events (事件)")
    create_url = "event-create"
    personal_action = "change"  # the handling office (services.may_see_phone)

    def base_queryset(self):
        events = super().base_queryset().select_related("category", "town")
        events._iterable_class = LatePageRows  # as values() sets its own; carried by filter() and order_by()
        return events

    def get(self, request, *args, **kwargs):
        # The queue opens on the open events; the filter's "open" choice shows the others.
        if not request.GET:
            request.GET = request.GET.copy()
            request.GET["open"] = "true"
        # The reporter, in exports only and only when asked (`?personal=1`, core/lists.py): the phone in
        # clear for the events the user's office handles, masked for the others.
        user = request.user
        # The labels of the request's language looked up once, not per row (get_status_display() builds
        # the choices anew for each call).
        statuses = {value: str(label) for value, label in Status.choices}
        platforms = {value: str(label) for value, label in Platform.choices}
        yes, now = _("yes"), timezone.now()
        shown = {"status": lambda e: statuses.get(e.status, e.status),
                 "platform": lambda e: platforms.get(e.platform, e.platform),
                 "overdue": lambda e: yes if e.is_overdue(now) else ""}
        self.columns = [*(replace(c, getter=shown[c.name]) if c.name in shown else c for c in type(self).columns),
                        Column("reporter_name", gettext_lazy("Reporter"), personal=True, page=False),
                        Column("reporter_phone", gettext_lazy("Reporter's phone"), personal=True, page=False,
                               getter=lambda e: services.shown_phone(user, e))]
        return super().get(request, *args, **kwargs)

    def sort_key(self):
        key = super().sort_key()
        # Undispatched events (no deadline) after the dated ones on both databases.
        if key == "deadline":
            return F("deadline").asc(nulls_last=True)
        if key == "-deadline":
            return F("deadline").desc(nulls_last=True)
        return key


def _towns_for(user):
    prefixes = scope_prefixes(user, "add")
    towns = OrgUnit.objects.restrict(user, "add").filter(level=Level.TOWN)
    return towns.order_by("code") if prefixes else OrgUnit.objects.none()


@login_required
def event_create(request):
    towns = _towns_for(request.user)
    form = forms.EventForm(request.POST or None, request.FILES or None, towns=towns)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            event = services.report_event(
                request.user, d["town"], d["category"], d["description"], lat=d["lat"], lng=d["lng"], crs=d["crs"],
                address=d["address"], reporter_name=d["reporter_name"], reporter_phone=d["reporter_phone"],
                source=Source.GRID, photo_files=[d["photo"]])
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Event #%(id)s reported.") % {"id": event.pk})
            return redirect(event)
    return render(request, "governance/event_form.html", {"form": form, "title": _("Report an event")})


STEP_LABELS = {name: Step.Kind(name).label for name in services.STEP_NAMES}


@login_required
@require_http_methods(["GET", "POST"])
def event_detail(request, pk):
    event = get_object_or_404(Event.objects.restrict(request.user, "view").select_related(
        "category", "category__parent", "town", "office", "handler"), pk=pk)
    form = forms.StepForm(request.POST or None)
    photo_form = forms.PhotoForm()
    if request.method == "POST" and request.POST.get("op") == "photo":
        photo_form = forms.PhotoForm(request.POST, request.FILES)
        if photo_form.is_valid():
            try:
                services.add_photo(request.user, event, photo_form.cleaned_data["photo"])
            except ValidationError as exc:
                photo_form.add_error("photo", exc.messages)
            else:
                messages.success(request, _("Photo added."))
                return redirect(event)
        form = forms.StepForm()
    elif request.method == "POST":
        step = request.POST.get("step", "")
        if step not in services.STEPS:
            raise PermissionDenied(_("Unknown step."))
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.take_step(request.user, event, step, d["comment"], to=d["to"], verdict=d["verdict"],
                                   days=d["days"])
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("%(step)s: done.") % {"step": STEP_LABELS[step]})
                return redirect(event)
    steps = services.available_steps(request.user, event)
    return render(request, "governance/event_detail.html", {
        "event": event, "form": form, "steps": [(s, STEP_LABELS[s]) for s in steps], "step_names": steps,
        "timeline": event.steps.all(), "phone": services.shown_phone(request.user, event),
        "photos": list(event.photos.all()), "photo_form": photo_form,
        "may_add_photo": allows(request.user, "add", event.town_id),
        "handled_by": event.handler.username if event.handler_id else event.department or (
            event.office.name if event.office_id else ""),
        "unit": event.town, "breadcrumb": event.town.ancestors(),
    })


@login_required
def notification_list(request):
    """The user's own notifications, newest first; POST marks them all read."""
    if request.method == "POST":
        services.mark_read(request.user)
        return redirect("notification-list")
    notes = Notification.objects.filter(user=request.user).select_related("event", "event__town")[:200]
    return render(request, "governance/notifications.html", {"notifications": notes})


def public_report(request):
    """The public form (no login): rate-limited per address, a sum to solve, a honeypot field.

    `?county=<code>` picks the county (its towns fill the town list); the sum lives in the session
    and changes after every try, so a robot cannot replay one answer.
    """
    county = request.GET.get("county", "") or request.POST.get("county", "")
    county_unit = OrgUnit.objects.filter(code=county, level=Level.COUNTY).first() if county.isdigit() else None
    towns = forms.towns_of(county_unit.code) if county_unit else OrgUnit.objects.none()
    done = None
    stored = request.session.get("report_challenge")
    form = None
    if request.method == "POST":
        # Every try counts, not only the good ones (core/ratelimit.py: settings.RATE_LIMITS["public-report"]).
        wait = ratelimit.check("public-report", ratelimit.client_ip(request))
        if wait is not None:
            return ratelimit.retry_after(
                render(request, "governance/public_report.html", {"limited": True}, status=429), wait)
        form = forms.PublicReportForm(request.POST, request.FILES, towns=towns,
                                      challenge=tuple(stored) if stored else None)
        if county_unit and form.is_valid():
            d = form.cleaned_data
            try:
                event = services.report_event(
                    services.PUBLIC, d["town"], d["category"], d["description"], lat=d["lat"], lng=d["lng"],
                    crs=d["crs"], address=d["address"], reporter_phone=d["reporter_phone"], source=Source.CITIZEN,
                    photo_files=[d["photo"]])
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                done = event.pk
    challenge = forms.new_challenge()
    request.session["report_challenge"] = list(challenge)
    if form is None or done:
        form = forms.PublicReportForm(towns=towns, challenge=challenge)
    else:
        form.set_challenge(challenge)
    return render(request, "governance/public_report.html", {"form": form, "county": county_unit, "done": done})


@login_required
@require_safe
def event_stats(request):
    """The bulletin figures of an org unit and each unit below it, for a year or a month; CSV / xlsx / JSON export.

    The same figures as `GET /api/events/stats/` (stats.py), over the events the user may view.
    """
    params = request.GET.copy()
    params.setdefault("org", default_org(request.user))
    params.setdefault("period", str(timezone.localdate().year))
    form = forms.StatsForm(params)
    context = {"form": form, "labels": [stats.LABELS[f] for f in stats.FIELDS]}
    if form.is_valid():
        d = form.cleaned_data
        org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=d["org"])
        rows = stats.table(request.user, org, d["period"], d["platform"], d["category"])
        fmt = request.GET.get("export")
        if fmt:
            if fmt not in exports.FORMATS:
                raise Http404(_("Unknown export format."))
            keys = ["org", "name", *stats.FIELDS]
            headers = [_("Code"), _("Unit"), *[str(stats.LABELS[f]) for f in stats.FIELDS]]
            name = "-".join(p for p in ("event-stats", org.code, d["period"], d["platform"], d["category"]) if p)
            return exports.response(fmt, name, headers, keys, ([r[k] for k in keys] for r in rows))
        for row in rows:
            row["values"] = [row[f] for f in stats.FIELDS]
            row["href"] = reverse("event-list") + f"?under={row['org']}"
        context.update({"org": org, "total": rows[0], "children": [r for r in rows[1:] if r["received"]],
                        "quiet": sum(1 for r in rows[1:] if not r["received"])})
    return render(request, "governance/event_stats.html", context)


@login_required
@require_safe
def event_photo(request, pk, photo):
    """A photo of an event, only for users who may see the event (never served as public media)."""
    found = get_object_or_404(EventPhoto.objects.restrict(request.user, "view"), pk=photo, event_id=pk)
    return photos.serve(found)


# --- the command centre's map: open events coloured by overdue ----------------------------------------

MAP_LIMIT = 5000  # points drawn at most (the most urgent first); the page says how many more there are
# The vendored boundaries (townbrain/static/vendor/geo/, docs/map.md) are AMap's, in GCJ-02.
GEO_DIR = settings.BASE_DIR / "static" / "vendor" / "geo"
MAP_STATES = {
    "overdue": (gettext_lazy("Overdue"), "#d63939"),
    "due_soon": (gettext_lazy("Due within 24 hours"), "#f76707"),
    "running": (gettext_lazy("In time"), "#206bc4"),
    "waiting": (gettext_lazy("Not yet dispatched"), "#868e96"),
}


def map_state(event, now) -> str:
    if event.status not in CLOCK_RUNNING or event.deadline is None:
        return "waiting"
    if event.deadline < now:
        return "overdue"
    return "due_soon" if event.deadline - now <= timedelta(hours=24) else "running"


def _map_unit(request):
    code = (request.GET.get("under") or request.GET.get("town") or default_org(request.user) or "").strip()
    unit = OrgUnit.objects.restrict(request.user, "view").filter(code=code).first()
    return unit


def _boundary(unit):
    """(static URL of the vendored GeoJSON, feature keys to draw) for the unit, or ("", [])."""
    if unit is None:
        return "", []
    key = unit.code.ljust(6, "0") if len(unit.code) == 2 else unit.code[:4] + "00"
    if not (GEO_DIR / f"{key}.json").exists():
        return "", []
    if len(unit.code) >= 6:  # a county or a town: its county's outline alone
        return static(f"vendor/geo/{key}.json"), [unit.code[:6]]
    return static(f"vendor/geo/{key}.json"), []


@login_required
@require_safe
def event_map(request):
    """The command centre's map: the open events of the area (the queue's filters), coloured by overdue."""
    filterset = EventFilterSet(request.GET or None, queryset=Event.objects.restrict(request.user, "view"),
                               request=request)
    unit = _map_unit(request)
    query = request.GET.urlencode()
    return render(request, "governance/event_map.html", {
        "filterset": filterset, "unit": unit, "data_url": reverse("event-map-data") + (f"?{query}" if query else ""),
        "states": [(k, label, colour) for k, (label, colour) in MAP_STATES.items()],
        "queue_url": reverse("event-list") + (f"?{query}" if query else "?open=true"),
    })


@login_required
@require_safe
def event_map_data(request):
    """JSON for the map: {"unit", "geojson", "focus", "points" [{id, lat, lng (GCJ-02, as the boundaries),
    state, colour, label, url}], "counts" {state: n}, "unlocated", "more"}; only open events, via restrict()."""
    filterset = EventFilterSet(request.GET or None, queryset=Event.objects.restrict(request.user, "view"),
                               request=request)
    qs = filterset.qs if filterset.is_bound else filterset.queryset
    if filterset.is_bound and not filterset.is_valid():
        qs = qs.none()
    qs = qs.filter(status__in=OPEN)
    located = qs.filter(lat__isnull=False, lng__isnull=False)
    now = timezone.now()
    points, counts = [], dict.fromkeys(MAP_STATES, 0)
    rows = located.select_related("category", "town").order_by(F("deadline").asc(nulls_last=True), "pk")
    for event in rows[:MAP_LIMIT]:
        state = map_state(event, now)
        counts[state] += 1
        lat, lng = geo.from_wgs84(float(event.lat), float(event.lng), geo.GCJ02)
        deadline = timezone.localtime(event.deadline).strftime("%Y-%m-%d %H:%M") if event.deadline else "—"
        points.append({"id": event.pk, "lat": round(lat, 6), "lng": round(lng, 6), "state": state,
                       "colour": MAP_STATES[state][1], "url": event.get_absolute_url(),
                       "label": f"#{event.pk} {event.category.name} · {event.town.name} · {deadline}"})
    unit = _map_unit(request)
    geojson, focus = _boundary(unit)
    total = located.count()
    return JsonResponse({
        "unit": {"code": unit.code, "name": unit.name} if unit else None,
        "geojson": geojson, "focus": focus, "points": points, "counts": counts,
        "states": {k: {"name": str(label), "colour": colour} for k, (label, colour) in MAP_STATES.items()},
        "unlocated": qs.count() - total, "more": max(0, total - MAP_LIMIT), "system": geo.GCJ02,
    }, json_dumps_params={"ensure_ascii": False})

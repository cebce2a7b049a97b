"""Open311 GeoReport v2 (JSON) at /open311/v2/: the standard's door to events, so 311 clients can talk to us.

- `GET services.json` — the 小类 as services (service_code = category code, group = the 大类, keywords =
  the platform). `metadata` is true: every service has one attribute, `town`, the town the problem is in
  (a singlevaluelist of the jurisdiction's towns) — GeoReport has no place for a town otherwise.
- `GET services/<code>.json` — the service definition with that attribute.
- `GET requests.json` — the standard's filters: `service_request_id` (comma-separated), `service_code`,
  `start_date`, `end_date` (W3C datetimes), `status` (open, closed); by default the last 90 days, at most
  1,000 requests, newest first.
- `POST requests.json` — `api_key`, `service_code`, `attribute[town]` (or a town's code as
  `jurisdiction_id`), `description`, `lat`/`long` (WGS-84), `address_string`, `phone`, `first_name`,
  `last_name`, `media_url`, or a photo uploaded as `media` (multipart; checked as photos.py says) →
  `[{"service_request_id", "service_notice", "account_id"}]`. `media_url` in the answers is the link a
  client gave, else the event's first uploaded photo (`/events/<id>/photos/<n>/`, for users who see it).
- `GET requests/<id>.json` — `[request]`.

`jurisdiction_id` is a division code (a county, or any unit: its subtree). `services.json` is public (the
categories, nothing of any place); every other call needs a user: the
`api_key` parameter (the user's API token, from POST /api/auth/token/), a `Token` header or a session;
anonymous calls answer 401. Events are personal data and the house rule is "every read through
restrict()", so unlike FixMyStreet the list is not public; what a key sees is its user's area, and
`phone` is never shown (the standard has no field for it). Errors are the standard's
`[{"code": …, "description": …}]`.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from townbrain.core import codes, ratelimit
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows

from . import services
from .models import DONE, OPEN, Event, EventCategory, Source, Status

MAX_REQUESTS = 1000
DEFAULT_DAYS = 90


def _error(status: int, description: str) -> JsonResponse:
    return JsonResponse([{"code": status, "description": str(description)}], status=status, safe=False)


def _user(request):
    """The caller: api_key (the standard's parameter), an Authorization: Token header, or the session."""
    key = request.GET.get("api_key") or request.POST.get("api_key")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not key and header.startswith("Token "):
        key = header[6:].strip()
    if key:
        token = Token.objects.select_related("user").filter(key=key).first()
        return token.user if token and token.user.is_active else None
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _jurisdiction(request, user):
    """The jurisdiction's code (normalised), None when not given; PermissionDenied outside the caller's area."""
    raw = request.GET.get("jurisdiction_id") or request.POST.get("jurisdiction_id") or ""
    if not raw:
        return None
    try:
        code = codes.normalize(raw)
    except codes.InvalidCode as exc:
        raise ValidationError(str(exc)) from None
    if not OrgUnit.objects.filter(code=code).exists() or not allows(user, "view", code):
        raise LookupError(code)
    return code


def endpoint(methods, public=False):
    """Authenticate, answer errors in the standard's shape, and refuse other methods.

    `public`: anonymous callers are let in (the service list: categories, no data of any place).
    """

    def deco(view):
        @csrf_exempt  # the api_key authenticates; a session POST without a key is refused below
        @require_http_methods(methods)
        def wrapper(request, *args, **kwargs):
            user = _user(request)
            if user is None and public and not (request.GET.get("api_key") or request.GET.get("jurisdiction_id")):
                return view(request, None, None, *args, **kwargs)
            if user is None:
                return _error(401, _("Give a valid api_key."))
            if request.method == "POST" and not (request.POST.get("api_key") or request.GET.get("api_key")):
                return _error(401, _("Posting a request needs an api_key."))
            try:
                jurisdiction = _jurisdiction(request, user)
                return view(request, user, jurisdiction, *args, **kwargs)
            except LookupError:
                return _error(404, _("No such jurisdiction in your area."))
            except PermissionDenied as exc:
                return _error(403, exc)
            except ValidationError as exc:
                text = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()) \
                    if hasattr(exc, "error_dict") else " ".join(exc.messages)
                return _error(400, text)

        return wrapper

    return deco


def _service(category: EventCategory) -> dict:
    return {"service_code": category.code, "service_name": category.name,
            "description": f"{category.parent.name} · {category.name}", "metadata": True, "type": "realtime",
            "keywords": category.platform, "group": category.parent.name}


def _towns(user, jurisdiction):
    towns = OrgUnit.objects.restrict(user, "view").filter(level=Level.TOWN)
    if jurisdiction:
        towns = towns.filter(code__startswith=jurisdiction)
    return towns.order_by("code")


@endpoint(["GET"], public=True)
def services_list(request, user, jurisdiction):
    leaves = EventCategory.objects.filter(parent__isnull=False).select_related("parent")
    return JsonResponse([_service(c) for c in leaves], safe=False)


@endpoint(["GET"])
def service_definition(request, user, jurisdiction, code):
    category = EventCategory.objects.filter(code=code, parent__isnull=False).first()
    if category is None:
        return _error(404, _("No such service."))
    towns = _towns(user, jurisdiction)[:2000] if jurisdiction else []
    return JsonResponse({"service_code": category.code, "attributes": [{
        "variable": True, "code": "town", "datatype": "singlevaluelist", "required": True,
        "datatype_description": _("The town (乡镇/街道) the problem is in: its division code."),
        "order": 1, "description": _("Town"),
        "values": [{"key": t.code, "name": t.name} for t in towns]}]}, safe=False)


def _media_url(event: Event, request) -> str | None:
    """The link a client gave, else the first uploaded photo (served to users who see the event)."""
    if event.media_url:
        return event.media_url
    first = next(iter(event.photos.all()), None)
    return request.build_absolute_uri(first.get_absolute_url()) if first else None


def _request(event: Event, notes: dict, request) -> dict:
    return {
        "service_request_id": str(event.pk),
        "status": "closed" if event.status in (*DONE, Status.REJECTED) else "open",
        "status_notes": notes.get(event.pk, ""),
        "service_name": event.category.name,
        "service_code": event.category.code,
        "description": event.description,
        "agency_responsible": event.department or (event.office.name if event.office_id else event.town.name),
        "service_notice": event.get_status_display(),
        "address_id": event.town_id,
        "requested_datetime": timezone.localtime(event.reported_at).isoformat(),
        "updated_datetime": timezone.localtime(event.updated).isoformat(),
        "expected_datetime": timezone.localtime(event.deadline).isoformat() if event.deadline else None,
        "address": event.address,
        "zipcode": None,
        "lat": float(event.lat) if event.lat is not None else None,
        "long": float(event.lng) if event.lng is not None else None,
        "media_url": _media_url(event, request),
    }


def _notes(events) -> dict:
    """status_notes: the comment of each event's latest step that has one."""
    from .models import Step

    notes = {}
    for event_id, comment in Step.objects.filter(event__in=[e.pk for e in events]).exclude(comment="").order_by(
            "time", "id").values_list("event_id", "comment"):
        notes[event_id] = comment
    return notes


def _requests_queryset(user, jurisdiction):
    qs = Event.objects.restrict(user, "view").select_related("category", "town", "office").prefetch_related("photos")
    return qs.filter(town__code__startswith=jurisdiction) if jurisdiction else qs


def _date(name, value):
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValidationError(_("%(name)s is a W3C date and time, e.g. 2020-10-01T00:00:00+08:00.") % {"name": name})
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@endpoint(["GET", "POST"])
def requests_list(request, user, jurisdiction):
    if request.method == "POST":
        return _create(request, user, jurisdiction)
    qs = _requests_queryset(user, jurisdiction)
    params = request.GET
    ids = [i.strip() for i in params.get("service_request_id", "").split(",") if i.strip()]
    if ids:
        # The standard: with ids, the other filters are ignored.
        qs = qs.filter(pk__in=[int(i) for i in ids if i.isdigit()])
    else:
        if params.get("service_code"):
            qs = qs.filter(category__code__in=params["service_code"].split(","))
        start = _date("start_date", params["start_date"]) if params.get("start_date") else None
        end = _date("end_date", params["end_date"]) if params.get("end_date") else None
        if start is None and end is None:
            start = timezone.now() - timedelta(days=DEFAULT_DAYS)
        if start:
            qs = qs.filter(reported_at__gte=start)
        if end:
            qs = qs.filter(reported_at__lte=end)
        wanted = {s.strip() for s in params.get("status", "").split(",") if s.strip()}
        if wanted - {"open", "closed"}:
            raise ValidationError(_("status is open or closed."))
        if wanted == {"open"}:
            qs = qs.filter(status__in=OPEN)
        elif wanted == {"closed"}:
            qs = qs.exclude(status__in=OPEN)
    events = list(qs.order_by("-reported_at", "-id")[:MAX_REQUESTS])
    notes = _notes(events)
    return JsonResponse([_request(e, notes, request) for e in events], safe=False)


@endpoint(["GET"])
def request_detail(request, user, jurisdiction, pk):
    event = _requests_queryset(user, jurisdiction).filter(pk=pk).first()
    if event is None:
        return _error(404, _("No such service request in your area."))
    return JsonResponse([_request(event, _notes([event]), request)], safe=False)


def _create(request, user, jurisdiction):
    wait = ratelimit.check("open311", user.pk)  # per API key's user (core/ratelimit.py)
    if wait is not None:
        return ratelimit.retry_after(_error(429, ratelimit.message()), wait)
    data = request.POST
    category = EventCategory.objects.filter(code=data.get("service_code", ""), parent__isnull=False).first()
    if category is None:
        raise ValidationError({"service_code": [_("No such service.")]})
    town_code = data.get("attribute[town]") or (jurisdiction if jurisdiction and len(jurisdiction) == 9 else "")
    try:
        town = OrgUnit.objects.filter(code=codes.normalize(town_code), level=Level.TOWN).first() if town_code else None
    except codes.InvalidCode:
        town = None
    if town is None or (jurisdiction and not town.code.startswith(jurisdiction)):
        raise ValidationError({"attribute[town]": [_("Give the town's code (attribute[town]) within the "
                                                       "jurisdiction.")]})
    lat, lng = data.get("lat") or None, data.get("long") or None
    first, last = data.get("first_name", "").strip(), data.get("last_name", "").strip()
    # Chinese names are family name first, no space (王明); others "First Last".
    name = f"{last}{first}" if any(ord(c) > 0x2E80 for c in first + last) else f"{first} {last}".strip()
    event = services.report_event(
        user, town, category, data.get("description", ""), lat=lat, lng=lng, crs="wgs84",
        reporter_phone=data.get("phone", ""), reporter_name=name[:60], address=data.get("address_string", "")[:200],
        source=Source.OPEN311, media_url=data.get("media_url", "")[:300], photo_files=[request.FILES.get("media")])
    return JsonResponse([{"service_request_id": str(event.pk), "service_notice": event.get_status_display(),
                          "account_id": None}], status=201, safe=False)

"""The one write path for events (事件): report, the workflow steps, escalation and notifications.

Who acts: every step needs "change" on the event's town — the town's own office (editors and
office administrators of the town) and every office above it (county, city, province offices),
system administrators anywhere. That same group is "the handling office" that sees the
reporter's phone number in clear (`may_see_phone`); everyone else sees it masked.

The workflow (STEPS below): 上报 reported → 受理 accept (or 不予受理 reject, with a reason) →
派遣 dispatch (the clock starts) → 处置 handle → 反馈 feedback → 核查 verify → 结案 close →
回访 review (满意 / 基本满意 close it for good; 不满意 reopens it: 重办, dispatched again with a
new clock). 退回 return sends a dispatched event back to be dispatched again (wrong
department; the clock stops). 延期 extend is asked before the deadline has passed and approved
above: asked by the handling office it waits for the office one level up (approve / deny); asked by
that office (or one higher) it is granted at once. Only an approved extension moves the deadline.

Each step is atomic: the event, a Step row (the timeline), the event's share of the statistics'
cells (cells.py) and an audit row are written together.
The phone number never enters an audit row: the row keeps only that it was set or changed.
"""

import json
import logging
import operator
import re
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, bulk, codes, geo
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level, OrgUnit
from townbrain.core.privacy import mask_phone
from townbrain.core.records import RecordBatch
from townbrain.core.roles import Role, grants
from townbrain.core.scope import ALL, SYSTEM, allows, require, scope_prefixes

from . import cells, deadlines, photos
from .models import (
    CLOCK_RUNNING,
    DONE,
    OPEN,
    SATISFIED,
    Event,
    EventCategory,
    EventPhoto,
    Notification,
    Source,
    Status,
    Step,
    Verdict,
)

log = logging.getLogger(__name__)

register_actions({
    "event.report": gettext_lazy("Reported event"),
    "event.accept": gettext_lazy("Accepted event"),
    "event.reject": gettext_lazy("Did not accept event"),
    "event.dispatch": gettext_lazy("Dispatched event"),
    "event.handle": gettext_lazy("Handled event"),
    "event.feedback": gettext_lazy("Reported back on event"),
    "event.verify": gettext_lazy("Verified event"),
    "event.close": gettext_lazy("Closed event"),
    "event.review": gettext_lazy("Reviewed event"),
    "event.return": gettext_lazy("Returned event"),
    "event.extend": gettext_lazy("Extended event deadline"),
    "event.approve": gettext_lazy("Approved event extension"),
    "event.deny": gettext_lazy("Refused event extension"),
    "event.photo": gettext_lazy("Added event photo"),
    "event.import": gettext_lazy("Imported historic event"),
    "event.delete": gettext_lazy("Deleted imported event"),
    "event.remind": gettext_lazy("Sent event reminder (催办)"),
    "event.supervise": gettext_lazy("Sent event supervision (督办)"),
})

# What an audit row of an event keeps (the phone as "set", never the number: audit.PERSONAL_FIELDS).
FIELDS = ("town", "village", "platform", "category", "description", "address", "lat", "lng", "source",
          "reporter_phone",
          "status", "deadline", "office", "department", "handler", "verdict", "reopened", "extended", "external_id",
          "closed_on_time", "extension_requested_at", "extension_days", "extension_hours")
# A member of the public (the report form, an Open311 client's citizen): no user, named in the audit.
PUBLIC = SimpleNamespace(pk=None, username="public", is_authenticated=False, is_active=False, is_superuser=False)

# step -> (the states it may be taken from, the state it leads to; None: decided by the step)
STEPS = {
    "accept": ((Status.REPORTED,), Status.ACCEPTED),
    "reject": ((Status.REPORTED,), Status.REJECTED),
    "dispatch": ((Status.ACCEPTED,), Status.DISPATCHED),
    "handle": ((Status.DISPATCHED,), Status.HANDLED),
    "feedback": ((Status.HANDLED,), Status.FED_BACK),
    "verify": ((Status.FED_BACK,), Status.VERIFIED),
    "close": ((Status.VERIFIED,), Status.CLOSED),
    "review": ((Status.CLOSED,), None),
    "return": ((Status.DISPATCHED, Status.HANDLED), Status.ACCEPTED),
    "extend": (CLOCK_RUNNING, None),
    "approve": (CLOCK_RUNNING, None),
    "deny": (CLOCK_RUNNING, None),
}
STEP_NAMES = tuple(STEPS)
COMMENT_REQUIRED = ("reject", "return", "extend", "deny")
EXTENSION_STEPS = ("approve", "deny")
CHANGE_ROLES = [r for r in Role.values if grants(r, "change") and r != Role.SYSTEM_ADMIN]
PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}$")


# --- reading helpers ----------------------------------------------------------------------------

def may_act(user, event: Event) -> bool:
    return allows(user, "change", event.town_id)


def approving_office(event: Event) -> str:
    """The office that approves a 延期: one level above the handling office (the town's county by default)."""
    office = event.office_id or event.town_id
    return codes.parent_of(office) or office


def may_approve_extension(user, event: Event) -> bool:
    """Change rights on the office above the handling office (its editors, office admins, and higher)."""
    return allows(user, "change", approving_office(event))


def may_see_phone(user, event: Event) -> bool:
    """The handling office: users with change rights over the event's town."""
    return may_act(user, event)


def shown_phone(user, event: Event) -> str:
    return event.reporter_phone if may_see_phone(user, event) else mask_phone(event.reporter_phone)


def available_steps(user, event: Event) -> list[str]:
    if not may_act(user, event):
        return []
    now = timezone.now()
    out = []
    for name, (sources, _to) in STEPS.items():
        if event.status not in sources:
            continue
        if name == "extend" and (event.deadline is None or now > event.deadline or event.extension_pending):
            continue
        if name in EXTENSION_STEPS and not (event.extension_pending and may_approve_extension(user, event)):
            continue
        out.append(name)
    return out


# --- reporting ----------------------------------------------------------------------------------

def _check_report(town, platform, category, description, reporter_phone):
    errors = {}
    if town.level != Level.TOWN:
        errors["town"] = _("Events are reported in a town; %(name)s (%(code)s) is not a town.") % {
            "name": town.name, "code": town.code}
    if category is None or not category.is_leaf:
        errors["category"] = _("Choose a sub-category (小类): it carries the deadline.")
    elif platform and category.platform != platform:
        errors["category"] = _("The category %(category)s belongs to another platform.") % {"category": category.name}
    if not (description or "").strip():
        errors["description"] = _("Describe the problem.")
    if reporter_phone and not PHONE.match(reporter_phone.strip()):
        errors["reporter_phone"] = _("A phone number of digits, e.g. 13812341234.")
    if errors:
        raise ValidationError(errors)


def report_event(actor, town: OrgUnit, category: EventCategory, description: str, *, platform: str = "",
                 lat=None, lng=None, crs: str = geo.WGS84, reporter_phone: str = "", reporter_name: str = "",
                 address: str = "", village: OrgUnit | None = None, grid: str = "", source: str = Source.GRID,
                 media_url: str = "", photo_files=(), at=None) -> Event:
    """上报: a new event in `town`. Coordinates in `crs` are stored as WGS-84. `actor` PUBLIC skips the right.

    `photo_files`: uploads stored with the event (photos.py checks them all before anything is written).
    """
    if actor is not PUBLIC:
        require(actor, "add", town.code)
    photo_files = [f for f in photo_files if f is not None]
    if len(photo_files) > photos.MAX_PER_EVENT:
        raise ValidationError({"photo": _("At most %(n)s photos per event.") % {"n": photos.MAX_PER_EVENT}})
    checked = []
    for upload in photo_files:
        try:
            checked.append(photos.check(upload))
        except ValidationError as exc:
            raise ValidationError({"photo": exc.messages}) from None
    reporter_phone = (reporter_phone or "").strip()
    _check_report(town, platform or (category.platform if category else ""), category, description, reporter_phone)
    if village is not None and not village.code.startswith(town.code):
        raise ValidationError({"village": _("The village is not in the town.")})
    lat, lng = _wgs84(lat, lng, crs)
    at = at or timezone.now()
    event = Event(town=town, village=village, grid=grid, platform=category.platform, category=category,
                  description=description.strip(), address=address, lat=lat, lng=lng, source=source,
                  reporter_name=reporter_name, reporter_phone=reporter_phone, media_url=media_url,
                  status=Status.REPORTED, reported_at=at)
    event.full_clean()
    stored = []
    try:
        with transaction.atomic():
            event.save()
            cells.add(event)
            _step(actor, event, "report", "", Status.REPORTED, "", at)
            after = audit.snapshot(event, FIELDS)
            if checked:
                after["photos"] = len(checked)
            audit.record(actor, "event.report", event, {}, after, org_code=town.code)
            for c in checked:
                stored.append(_store_photo(actor, event, c, at))
    except BaseException:
        _delete_files(stored)
        raise
    return event


def _store_photo(actor, event: Event, checked, at=None) -> EventPhoto:
    photo = EventPhoto(event=event, content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                       uploaded_by_name=getattr(actor, "username", "") or "system", uploaded_at=at or timezone.now())
    photo.file.save(f"photo.{checked.extension}", ContentFile(checked.data), save=False)
    photo.save()
    return photo


def _delete_files(stored):
    for photo in stored:
        if photo.file.name:
            photo.file.storage.delete(photo.file.name)


def add_photo(actor, event: Event, upload) -> EventPhoto:
    """A photo of an event (of the problem or of the work done): needs "add" on the town, as reporting does."""
    require(actor, "add", event.town_id)
    try:
        checked = photos.check(upload)
    except ValidationError as exc:
        raise ValidationError({"photo": exc.messages}) from None
    stored = []
    try:
        with transaction.atomic():
            event = Event.objects.select_for_update(of=("self",)).get(pk=event.pk)
            if event.photos.count() >= photos.MAX_PER_EVENT:
                raise ValidationError({"photo": _("At most %(n)s photos per event.") % {"n": photos.MAX_PER_EVENT}})
            photo = _store_photo(actor, event, checked)
            stored.append(photo)
            audit.record(actor, "event.photo", event, {}, {"photo": photo.file.name, "content_type": photo.content_type,
                                                          "size": photo.size, "sha256": photo.sha256},
                         org_code=event.town_id)
    except BaseException:
        _delete_files(stored)
        raise
    return photo


def _wgs84(lat, lng, crs):
    """Coordinates declared in `crs`, as WGS-84 (None, None when there are none)."""
    if (lat is None) != (lng is None):
        raise ValidationError({"lat": _("Give both latitude and longitude, or neither.")})
    if lat is None:
        return None, None
    try:
        lat, lng = geo.to_wgs84(lat, lng, crs or geo.WGS84)
    except geo.UnknownSystem:
        raise ValidationError({"crs": _("Use wgs84, gcj02 or bd09.")}) from None
    except (TypeError, ValueError):
        raise ValidationError({"lat": _("Latitude and longitude are numbers.")}) from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError({"lat": _("Latitude and longitude are out of range.")})
    return lat, lng


# --- historic events (历史事件导入) -------------------------------------------------------------------

def import_event(actor, town: OrgUnit, category: EventCategory, description: str, **record) -> Event:
    """An event of the past as the system it comes from recorded it (a 12345 or 数字城管 case), in one step:
    the one-event case of EventBatch (`record`: the case number `external_id`, `reported_at` and
    the rest of what its check takes)."""
    return bulk.one(EventBatch(actor), (None, {"town": town, "category": category, "description": description,
                                               **record}))


# What an item of EventBatch may give: the historic record's fields.
HISTORIC = ("town", "category", "description", "external_id", "reported_at", "accepted_at", "rejected_reason",
            "dispatched_at", "to", "deadline", "closed_at", "verdict", "lat", "lng", "crs", "reporter_phone",
            "reporter_name", "address", "source")


class EventBatch(RecordBatch):
    """Historic events recorded for one actor in one transaction (core/records.py: bulk.one() is the
    one-event case, import_event(); the `events` import the many). A historic record is recorded, never
    edited: an item is (None, fields), answered (event, None, "created") or refused. write() writes the
    events together, then their timelines (every step marked `imported`), their shares of the statistics'
    cells (one upsert per cell, not per event) and an audit row each (`event.import`).

    The natural keys (town, original case number) are read once for all the towns the items name; a
    dispatch target (`to`) is looked up once per town and name."""

    model = Event
    accepts = HISTORIC
    changeable = ()  # a historic record is not edited: the workflow (take_step) moves an event on
    fields = FIELDS
    audit_name = "event"

    def __init__(self, actor):
        super().__init__(actor)
        self.started = timezone.now()  # what "in the future" means for the whole batch
        self.timelines: dict[int, tuple] = {}  # id() of a new event -> (event, its steps to write)
        self.targets: dict[tuple, object] = {}  # (town code, `to`) -> the dispatch target, or its refusal
        self.towns_read: set[str] = set()

    def scope(self, event):
        return event.town_id

    def action(self, verb: str) -> str:
        return "event.import" if verb == "create" else super().action(verb)

    def prepare(self, items) -> None:
        self._read_keys({item[1]["town"].code for item in items if item[0] is None and item[1].get("town")})

    def _read_keys(self, towns) -> None:
        """Hold the case numbers of the stored events of `towns` (those not read yet): one query for all."""
        towns = set(towns) - self.towns_read
        if not towns:
            return
        stored = Event.objects.exclude(external_id="").order_by().values_list("pk", "town_id", "external_id")
        for pk, *key in bulk.where_in(stored, "town_id", towns):
            self.keys.add_stored(tuple(key), pk)
        self.towns_read |= towns

    def key(self, event: Event) -> tuple:
        return event.town_id, event.external_id

    def read_keys(self, event: Event) -> None:
        self._read_keys({event.town_id})

    def clash(self, event: Event) -> ValidationError:
        return ValidationError({"external_id": _("%(town)s already has case %(id)s.") % {
            "town": event.town.name, "id": event.external_id}})

    def build(self, fields: dict) -> Event:
        return self._historic(**fields)

    def _historic(self, town: OrgUnit, category: EventCategory, description: str, *, external_id: str,
                  reported_at, accepted_at=None, rejected_reason: str = "", dispatched_at=None, to: str = "",
                  deadline=None, closed_at=None, verdict: str = "", lat=None, lng=None, crs: str = geo.WGS84,
                  reporter_phone: str = "", reporter_name: str = "", address: str = "",
                  source: str = Source.HOTLINE) -> Event:
        """The event a historic record makes, checked, its timeline held until write().

        Needs "add" on the town, as reporting does (asked before the record is read). What the record says
        becomes the event's times and its timeline — 上报, then 受理 or 不予受理, 派遣, 结案, 回访 — each
        step marked `imported` and none invented (no 处置/反馈/核查 the record does not have). The deadline
        is the record's own, else the category's counted from 派遣 on the official calendar, so the
        statistics judge it as a live event. `external_id` (the original case number) is unique per town:
        the exchange kind `events` uses it to import a file twice without doubling it."""
        require(self.actor, "add", town.code)
        reporter_phone = (reporter_phone or "").strip()
        _check_report(town, category.platform if category else "", category, description, reporter_phone)
        external_id = (external_id or "").strip()
        errors = {}
        if not external_id:
            errors["external_id"] = _("The original case number is needed.")
        times = [("reported_at", reported_at), ("accepted_at", accepted_at), ("dispatched_at", dispatched_at),
                 ("closed_at", closed_at)]
        previous = None
        for name, value in times:
            if value is None:
                continue
            if value > self.started:
                errors[name] = _("This time lies in the future.")
            elif previous is not None and value < previous:
                errors[name] = _("This time lies before the step before it.")
            previous = value
        if rejected_reason and (dispatched_at or closed_at or verdict):
            errors["rejected_reason"] = _("A case not accepted has no dispatch, close or review.")
        if closed_at and not dispatched_at:
            errors["dispatched_at"] = _("A closed case needs its dispatch time: the deadline counts from it.")
        if verdict and not closed_at:
            errors["verdict"] = _("Only a closed case has a review.")
        if verdict and verdict not in Verdict.values:
            errors["verdict"] = _("Choose satisfied, basically_satisfied or dissatisfied.")
        if deadline is not None and not dispatched_at:
            errors["deadline"] = _("A deadline needs the dispatch time.")
        if errors:
            raise ValidationError(errors)
        lat, lng = _wgs84(lat, lng, crs)
        event = Event(town=town, platform=category.platform, category=category, description=description.strip(),
                      address=address, lat=lat, lng=lng, source=source, external_id=external_id,
                      reporter_name=reporter_name, reporter_phone=reporter_phone, reported_at=reported_at,
                      accepted_at=accepted_at, status=Status.REPORTED)
        steps = [("report", "", Status.REPORTED, "", reported_at, {})]
        if rejected_reason:
            event.status = Status.REJECTED
            steps.append(("reject", Status.REPORTED, Status.REJECTED, rejected_reason, accepted_at or reported_at, {}))
        elif accepted_at:
            event.status = Status.ACCEPTED
            steps.append(("accept", Status.REPORTED, Status.ACCEPTED, "", accepted_at, {}))
        if dispatched_at:
            for name, value in self._target(event, to).items():
                setattr(event, name, value)
            event.dispatched_at = dispatched_at
            event.deadline = deadline or deadlines.due(dispatched_at, days=category.deadline_days,
                                                       hours=category.deadline_hours)
            steps.append(("dispatch", event.status, Status.DISPATCHED, "", dispatched_at, {"to": to or town.code}))
            event.status = Status.DISPATCHED
        if closed_at:
            event.closed_at, event.closed_on_time = closed_at, closed_at <= event.deadline
            steps.append(("close", event.status, Status.CLOSED, "", closed_at, {}))
            event.status = Status.CLOSED
        if verdict:
            event.verdict = verdict
            _count_review(event, verdict)
            steps.append(("review", Status.CLOSED, Status.REVIEWED, "", closed_at, {"verdict": verdict}))
            event.status = Status.REVIEWED
        self.timelines[id(event)] = (event, steps)
        return event

    def _target(self, event: Event, to: str) -> dict:
        """_resolve_target() of a dispatch, asked once per town and `to` (a file names a few departments)."""
        found = self.targets.get((event.town_id, to))
        if found is None:
            try:
                found = _resolve_target(self.actor, event, to)
            except ValidationError as exc:
                found = exc
            self.targets[(event.town_id, to)] = found
        if isinstance(found, ValidationError):
            raise found
        return found

    def write_related(self, new: list, changed: list) -> None:
        steps = []
        for event in new:
            timeline = self.timelines.pop(id(event))[1]
            steps += [_step_row(self.actor, event, step, from_status, to_status, comment, at, imported=True, **detail)
                      for step, from_status, to_status, comment, at, detail in timeline]
        self.timelines.clear()  # the refused ones
        bulk.insert(Step, steps)
        _move_shares(new, added=True)


def delete_imported_event(actor, event: Event) -> None:
    """Undo of an import: only an event nobody has worked on since (every step of it imported)."""
    delete_imported_events(actor, [event])


def delete_imported_events(actor, events) -> None:
    """Undo of an import, for many events at once: all are deleted, or none when one has been worked on
    since (a step not imported). Each is locked and its steps read once for all; its share leaves the
    statistics' cells (one upsert per cell) and it gets an audit row."""
    for event in events:
        require(actor, "change", event.town_id)
    ids = sorted({e.pk for e in events})
    with transaction.atomic():
        locked = {e.pk: e for e in bulk.where_in(
            Event.objects.select_for_update(of=("self",)).select_related("category").order_by("pk"), "pk", ids)}
        worked = {event_id for event_id, detail in bulk.where_in(
            Step.objects.order_by().values_list("event_id", "detail"), "event_id", ids) if not detail.get("imported")}
        for event in events:
            if event.pk in locked and (event.pk in worked or not locked[event.pk].external_id):
                raise ValidationError(_("Event #%(id)s has been worked on since its import; it is kept.") % {
                    "id": event.pk})
        gone = list(locked.values())
        audit.record_all(actor, (("event.delete", e, audit.snapshot(e, FIELDS), {}, e.town_id) for e in gone))
        _delete_files(list(bulk.where_in(EventPhoto.objects.all(), "event_id", ids)))
        _move_shares(gone, added=False)
        for piece in bulk.pieces(ids, bulk.IN_CHUNK):
            Event.objects.filter(pk__in=piece).delete()


def _move_shares(events, *, added: bool) -> None:
    """Add the shares of many events to the statistics' cells (new events), or take them away (deleted):
    one upsert per cell, the cells in one order (as cells.move() takes them)."""
    shares = {}
    for event in events:
        key, figures = cells.share(event)
        held = shares.get(key)
        shares[key] = figures if held is None else tuple(map(operator.add, held, figures))
    for key in sorted(shares):
        total = (key, shares[key])
        if added:
            cells.move(None, total)
        else:
            cells.move(total, None)


# --- the workflow -------------------------------------------------------------------------------

def _step(actor, event, step, from_status, to_status, comment, at, **detail):
    row = _step_row(actor, event, step, from_status, to_status, comment, at, **detail)
    row.save()
    return row


def _step_row(actor, event, step, from_status, to_status, comment, at, **detail) -> Step:
    """A step of `event`'s timeline, not yet saved."""
    return Step(event=event, step=step, from_status=from_status, to_status=to_status,
                actor=actor if getattr(actor, "pk", None) else None,
                actor_name=getattr(actor, "username", "") or "system", time=at, comment=comment, detail=detail)


def _resolve_target(actor, event, to: str) -> dict:
    """dispatch `to`: a user name, a division code (an office) or a department's name; empty: the town's office."""
    to = (to or "").strip()
    if not to:
        return {"office": event.town, "department": "", "handler": None}
    user = get_user_model().objects.filter(username=to, is_active=True).first()
    if user is not None:
        if not allows(user, "change", event.town_id):
            raise ValidationError({"to": _("%(user)s cannot handle events of %(town)s.") % {
                "user": to, "town": event.town.name}})
        return {"office": event.town, "department": "", "handler": user}
    try:
        code = codes.normalize(to)
    except codes.InvalidCode:
        code = None
    if code:
        office = OrgUnit.objects.filter(code=code).first()
        if office is None or not (event.town_id.startswith(code) or code.startswith(event.town_id)):
            raise ValidationError({"to": _("%(code)s is not an office over the event's town.") % {"code": to}})
        return {"office": office, "department": "", "handler": None}
    if len(to) > 100:
        raise ValidationError({"to": _("A department's name is at most 100 characters.")})
    return {"office": event.town, "department": to, "handler": None}


def take_step(actor, event: Event, step: str, comment: str = "", *, to: str = "", verdict: str = "",
              days: int | None = None, hours: int | None = None, at=None) -> Event:
    """Take one workflow step on `event` (see STEPS); `at` lets imports and the demo date it."""
    if step not in STEPS:
        raise ValidationError({"step": _("Unknown step %(step)s.") % {"step": step}})
    require(actor, "change", event.town_id)
    comment = (comment or "").strip()
    if step in COMMENT_REQUIRED and not comment:
        raise ValidationError({"comment": _("This step needs a comment saying why.")})
    at = at or timezone.now()
    notify_after = []
    with transaction.atomic():
        original = event
        event = Event.objects.select_for_update(of=("self",)).select_related("category", "town").get(pk=event.pk)
        sources, to_status = STEPS[step]
        if event.status not in sources:
            raise ValidationError(_("A %(status)s event cannot be %(step)s.") % {
                "status": event.get_status_display(), "step": Step.Kind(step).label})
        before = audit.snapshot(event, FIELDS)
        share = cells.share(event)
        from_status = event.status
        detail = {}
        if step == "accept":
            event.accepted_at = at
        elif step == "dispatch":
            target = _resolve_target(actor, event, to)
            for name, value in target.items():
                setattr(event, name, value)
            _start_clock(event, at)
            detail["to"] = to or event.town_id
            notify_after.append(event)
        elif step == "return":
            event.office, event.department, event.handler = None, "", None
            event.deadline, event.dispatched_at = None, None
            _clear_extension(event)  # the clock stopped: nothing left to extend
        elif step == "close":
            _clear_extension(event)
            event.closed_at = at
            event.closed_on_time = at <= event.deadline if event.deadline else True
        elif step == "review":
            if verdict not in Verdict.values:
                raise ValidationError({"verdict": _("Choose satisfied, basically_satisfied or dissatisfied.")})
            event.verdict = verdict
            detail["verdict"] = verdict
            _count_review(event, verdict)
            if verdict == Verdict.DISSATISFIED:
                # 重办: back to the same handler with a new clock; the earlier close no longer counts.
                to_status = Status.DISPATCHED
                event.reopened += 1
                event.closed_at, event.closed_on_time = None, None
                _start_clock(event, at)
                notify_after.append(event)
            else:
                to_status = Status.REVIEWED
        elif step == "extend":
            if event.deadline is None or at > event.deadline:
                raise ValidationError(_("An extension must be asked before the deadline has passed."))
            if event.extension_pending:
                raise ValidationError(_("An extension is already waiting for approval."))
            if days is None and hours is None:
                days, hours = event.category.deadline_days, event.category.deadline_hours
            if (days is not None and days < 1) or (hours is not None and hours < 1):
                raise ValidationError({"days": _("Extend by at least one working day or one hour.")})
            detail.update({k: v for k, v in (("days", days), ("hours", hours)) if v})
            if may_approve_extension(actor, event):
                # Asked by the approving office itself (or one above it): granted at once.
                _grant_extension(event, days, hours)
                detail.update(approved=True, deadline=event.deadline.isoformat())
            else:
                event.extension_requested_at, event.extension_days, event.extension_hours = at, days, hours
                detail.update(requested=True, approver=approving_office(event))
                notify_after.append(("extension", event, actor))
        elif step in EXTENSION_STEPS:
            if not event.extension_pending:
                raise ValidationError(_("No extension is waiting for approval."))
            if not may_approve_extension(actor, event):
                raise PermissionDenied(_("An extension is approved by the office above (%(code)s).") % {
                    "code": approving_office(event)})
            days, hours = event.extension_days, event.extension_hours
            detail.update({k: v for k, v in (("days", days), ("hours", hours)) if v})
            if step == "approve":
                _grant_extension(event, days, hours)
                detail["deadline"] = event.deadline.isoformat()
            _clear_extension(event)
            notify_after.append((step, event, actor))
        if to_status is not None:
            event.status = to_status
        event.save()
        cells.move(share, cells.share(event))
        _step(actor, event, step, from_status, event.status, comment, at, **detail)
        after = audit.snapshot(event, FIELDS)
        if comment:
            after["comment"] = comment
        audit.record(actor, f"event.{step}", event, before, after, org_code=event.town_id)
        for item in notify_after:
            if isinstance(item, tuple):
                _notify_extension(*item)
            else:
                _notify_dispatch(item)
    original.__dict__.update({k: v for k, v in event.__dict__.items() if not k.startswith("_")})
    return original


def _count_review(event: Event, verdict: str):
    """The event's 回访 counters (the statistics' 满意率 reads them), beside the review step written with them."""
    event.reviews += 1
    if verdict in SATISFIED:
        event.reviews_satisfied += 1


def _grant_extension(event: Event, days, hours):
    """Move the deadline on from where it is now; a new deadline gets its own 催办 and 督办."""
    event.deadline = deadlines.extend(event.deadline, days=days, hours=hours)
    event.extended += 1
    event.reminded_at = event.supervised_at = None


def _clear_extension(event: Event):
    event.extension_requested_at = event.extension_days = event.extension_hours = None


def _start_clock(event: Event, at):
    """The clock starts at 派遣: deadline from the category, a 重办 starts it afresh."""
    event.dispatched_at = at
    event.deadline = deadlines.due(at, days=event.category.deadline_days, hours=event.category.deadline_hours)
    event.reminded_at = event.supervised_at = None


# --- notifications ------------------------------------------------------------------------------

def office_users(code: str):
    """The users of an office: memberships at exactly that unit with a role that may change its data."""
    User = get_user_model()
    return User.objects.filter(is_active=True, memberships__org_unit_id=code,
                               memberships__role__in=CHANGE_ROLES).distinct().order_by("pk")


def handlers_of(event: Event) -> list:
    if event.handler_id:
        return [event.handler]
    return list(office_users(event.office_id or event.town_id))


def notify(users, event: Event, kind: str, message: str) -> list[Notification]:
    """In the app, by e-mail (Django's backend, after commit) and to the webhook if one is set."""
    made = Notification.objects.bulk_create([Notification(user=u, event=event, kind=kind, message=message[:300])
                                             for u in users])
    emails = [u.email for u in users if u.email]
    link = getattr(settings, "TOWNBRAIN_BASE_URL", "") + event.get_absolute_url()
    if emails:
        transaction.on_commit(lambda: send_mail(message[:150], f"{message}\n\n{link}", None, emails,
                                                fail_silently=True))
    hook = getattr(settings, "TOWNBRAIN_EVENTS_WEBHOOK", "")
    if hook:
        transaction.on_commit(lambda: _post_webhook(hook, f"{message} {link}"))
    return made


def store_message(sender, users, text: str, url: str = "", **_kwargs) -> list[Notification]:
    """The bell's receiver of core.notify's signal: another app's message (a reporting reminder …)
    as an unread notification for each user, written in the sender's transaction. That app sends
    its own e-mail, so none goes from here."""
    return Notification.objects.bulk_create([
        Notification(user=u, event=None, kind=Notification.Kind.MESSAGE, message=str(text)[:300], url=url[:300])
        for u in users])


def _post_webhook(url: str, text: str) -> None:
    """A DingTalk-style robot: POST {"msgtype": "text", "text": {"content": …}}; failures are logged, not raised."""
    body = json.dumps({"msgtype": "text", "text": {"content": text}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - the operator's own setting
    except OSError as exc:
        log.warning("events webhook failed: %s", exc)


def _notify_dispatch(event: Event):
    message = _("Event #%(id)s (%(category)s, %(town)s) is yours to handle by %(deadline)s.") % {
        "id": event.pk, "category": event.category.name, "town": event.town.name,
        "deadline": timezone.localtime(event.deadline).strftime("%Y-%m-%d %H:%M")}
    notify(handlers_of(event), event, Notification.Kind.DISPATCH, message)


def _notify_extension(step: str, event: Event, actor):
    """A 延期 asked: to the approving office; approved or refused: to the handlers."""
    values = {"id": event.pk, "category": event.category.name, "town": event.town.name,
              "user": getattr(actor, "username", ""),
              "deadline": timezone.localtime(event.deadline).strftime("%Y-%m-%d %H:%M")}
    if step == "extension":
        users = list(office_users(approving_office(event)))
        message = _("延期: %(user)s asks to extend event #%(id)s (%(category)s, %(town)s), due %(deadline)s.") % values
    elif step == "approve":
        users = handlers_of(event)
        message = _("延期 approved: event #%(id)s (%(category)s, %(town)s) is now due %(deadline)s.") % values
    else:
        users = handlers_of(event)
        message = _("延期 refused: event #%(id)s (%(category)s, %(town)s) stays due %(deadline)s.") % values
    notify([u for u in users if u.pk != getattr(actor, "pk", None)], event, Notification.Kind.EXTENSION, message)


def mark_read(user, notification_ids=None) -> int:
    """Mark the user's own notifications read (all unread ones when no ids are given)."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Log in to read notifications."))
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


def supervise_after() -> int:
    """Working days after the deadline before a 督办 goes to the office one level up."""
    return int(getattr(settings, "TOWNBRAIN_EVENTS_SUPERVISE_AFTER", 3))


def escalate(now=None) -> dict:
    """催办 and 督办 for overdue events; idempotent (each is sent once per deadline).

    催办: from the day after the deadline, to the handler (or the handling office).
    督办: `supervise_after()` working days after the deadline, to the office one level up.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    reminded = supervised = 0
    overdue = Event.objects.filter(status__in=CLOCK_RUNNING, deadline__lt=now).select_related(
        "category", "town", "office", "handler").order_by("deadline", "pk")
    for event in overdue.filter(reminded_at__isnull=True).iterator():
        if today > timezone.localtime(event.deadline).date():
            reminded += _escalate_one(event, "remind", now)
    limit = supervise_after()
    for event in overdue.filter(supervised_at__isnull=True).iterator():
        if deadlines.workdays_between(timezone.localtime(event.deadline).date(), today) >= limit:
            supervised += _escalate_one(event, "supervise", now)
    return {"reminded": reminded, "supervised": supervised}


def _escalate_one(event: Event, kind: str, now) -> int:
    field = "reminded_at" if kind == "remind" else "supervised_at"
    with transaction.atomic():
        event = Event.objects.select_for_update(of=("self",)).select_related("category", "town", "office", "handler").get(
            pk=event.pk)
        if getattr(event, field) is not None or event.status not in CLOCK_RUNNING:
            return 0  # someone else sent it meanwhile, or the event moved on
        office = event.office_id or event.town_id
        values = {"id": event.pk, "category": event.category.name, "town": event.town.name,
                  "deadline": timezone.localtime(event.deadline).strftime("%Y-%m-%d %H:%M")}
        if kind == "remind":
            users = handlers_of(event)
            message = _("催办: event #%(id)s (%(category)s, %(town)s) passed its deadline %(deadline)s.") % values
        else:
            above = codes.parent_of(office) or office
            users = list(office_users(above))
            message = _("督办: event #%(id)s (%(category)s, %(town)s) is still open, deadline was %(deadline)s.") % values
        before = audit.snapshot(event, FIELDS)
        setattr(event, field, now)
        event.save(update_fields=[field, "updated"])
        _step(SYSTEM, event, kind, event.status, event.status, message, now,
              to=[u.username for u in users])
        notify(users, event, kind, message)
        audit.record(SYSTEM, f"event.{kind}", event, before, {**audit.snapshot(event, FIELDS), kind: len(users)},
                     org_code=event.town_id)
    return 1


def is_done(event: Event) -> bool:
    return event.status in DONE


# --- personal data retention (docs/security.md) ---------------------------------------------------

def purge_due(days: int | None = None, now=None):
    """The finished events (closed, reviewed or not accepted) that still hold a reporter's phone and were
    finished — closed, else last changed — more than `days` (default: the retention setting) ago."""
    days = settings.PERSONAL_DATA_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValidationError(_("The retention is a number of days, 0 or more."))
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return (Event.objects.exclude(status__in=OPEN).exclude(reporter_phone="")
            .annotate(finished=Coalesce("closed_at", "updated")).filter(finished__lt=cutoff))


def purge_reporter_contacts(actor, *, days: int | None = None, now=None, dry_run: bool = False) -> int:
    """Blank the reporter's phone of the events `purge_due` finds, in one transaction, one audit row each
    (markers only: the phone is never written to the log). System administrators (and the CLI) only.
    Returns how many events were (or, with `dry_run`, would be) cleared."""
    if scope_prefixes(actor, "manage") is not ALL:
        raise PermissionDenied(_("Only a system administrator removes contact details."))
    due = purge_due(days, now)
    if dry_run:
        return due.count()
    cleared = 0
    with transaction.atomic():
        events = list(due.select_for_update(of=("self",)).select_related("category"))
        stamp = timezone.now()
        for start in range(0, len(events), 1000):
            piece = events[start:start + 1000]
            Event.objects.filter(pk__in=[e.pk for e in piece]).update(reporter_phone="", updated=stamp)
            audit.record_many([audit.entry(actor, "personal.purge", e, {"reporter_phone": e.reporter_phone},
                                           {"reporter_phone": ""}, org_code=e.town_id) for e in piece])
            cleared += len(piece)
    return cleared

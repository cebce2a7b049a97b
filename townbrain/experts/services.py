"""The one write path for the expert pool, assignments and activities (一库三师)."""

import re
from copy import copy

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.access import services as access_services
from townbrain.core import audit, bulk
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level
from townbrain.core.parse import clean_text
from townbrain.core.records import RecordBatch
from townbrain.core.scope import ALL, allows, forget, require, scope_prefixes, scope_q
from townbrain.core.services import refuse_unknown

from .models import (
    NAME_SEPARATOR,
    OPEN_STATUSES,
    SYNONYM_SPLIT,
    ActivityType,
    Expert,
    ExpertActivity,
    ExpertAssignment,
    ExpertProblem,
    ProblemStatus,
)
from .scoping import expert_of

register_actions({
    "expert.create": gettext_lazy("Added expert"),
    "expert.update": gettext_lazy("Edited expert"),
    "expert.delete": gettext_lazy("Deleted expert"),
    "expert.link": gettext_lazy("Linked a login to expert"),
    "expert.unlink": gettext_lazy("Unlinked the expert's login"),
    "assignment.create": gettext_lazy("Assigned expert to town"),
    "assignment.end": gettext_lazy("Ended expert assignment"),
    "assignment.delete": gettext_lazy("Removed expert assignment"),
    "activity.create": gettext_lazy("Recorded expert activity"),
    "activity.update": gettext_lazy("Edited expert activity"),
    "activity.delete": gettext_lazy("Deleted expert activity"),
    "activitytype.create": gettext_lazy("Added activity type"),
    "activitytype.update": gettext_lazy("Edited activity type"),
    "problem.create": gettext_lazy("Recorded problem found by experts"),
    "problem.update": gettext_lazy("Edited problem found by experts"),
    "problem.delete": gettext_lazy("Deleted problem found by experts"),
    "problem.start": gettext_lazy("Started work on problem"),
    "problem.solve": gettext_lazy("Marked problem solved"),
    "problem.dismiss": gettext_lazy("Dismissed problem"),
    "problem.reopen": gettext_lazy("Reopened problem"),
})

EXPERT_FIELDS = ("name", "kind", "employer", "phone", "email", "home", "active")
ASSIGNMENT_FIELDS = ("expert", "town", "role", "since", "until")
ACTIVITY_FIELDS = ("date", "town", "activity_type", "type_word", "chief_designer_count", "resident_planner_count",
                   "adviser_count", "problems_found", "problems_solved", "expert_names", "note")
ACTIVITY_AUDIT = (*ACTIVITY_FIELDS, "recorded_by")  # who recorded it is set by the service, never by a caller
TYPE_FIELDS = ("code", "name", "synonyms", "active", "order")
COUNTS = ("chief_designer_count", "resident_planner_count", "adviser_count", "problems_found", "problems_solved")

_SPLIT = re.compile(r"[、,，;；/\n\r\t]+")


def split_names(text) -> list[str]:
    """Names as typed (separated by 、 , ， ; ； / or new lines), trimmed, each once, in their order."""
    names = []
    for part in _SPLIT.split(str(text or "")):
        name = " ".join(part.split())
        if name and name not in names:
            names.append(name)
    return names


def normalize_names(text) -> str:
    return NAME_SEPARATOR.join(split_names(text))


# --- experts ---------------------------------------------------------------------------------------

def _validate_expert(expert: Expert) -> None:
    if expert.home_id and expert.home.level == Level.VILLAGE:
        raise ValidationError({"home": _("An expert's record is kept by an office (province, city, county or "
                                         "town), not by a village.")})


def create_expert(actor, **fields) -> Expert:
    refuse_unknown(fields, EXPERT_FIELDS)
    expert = Expert(**fields)
    require(actor, "add", expert.home_id or "")
    expert.name = " ".join((expert.name or "").split())
    expert.full_clean()
    _validate_expert(expert)
    with transaction.atomic():
        expert.save()
        audit.record(actor, "expert.create", expert, {}, audit.snapshot(expert, EXPERT_FIELDS),
                     org_code=expert.home_id)
        relink_names([expert.name], expert.home_id[:2])
    return expert


def update_expert(actor, expert: Expert, **fields) -> Expert:
    refuse_unknown(fields, EXPERT_FIELDS)
    require(actor, "change", expert.home_id)
    with transaction.atomic():
        expert = Expert.objects.select_for_update().get(pk=expert.pk)
        before = audit.snapshot(expert, EXPERT_FIELDS)
        original = copy(expert)
        for name, value in fields.items():
            setattr(expert, name, value)
        expert.name = " ".join((expert.name or "").split())
        # Handing the record to another office needs the right there too.
        require(actor, "change", expert.home_id)
        expert.full_clean()
        _validate_expert(expert)
        after = audit.snapshot(expert, EXPERT_FIELDS)
        if after != before:
            expert.save()
            audit.record(actor, "expert.update", expert, before, after, org_code=expert.home_id)
            if (original.name, original.home_id[:2]) != (expert.name, expert.home_id[:2]):
                relink_names([original.name], original.home_id[:2])
                relink_names([expert.name], expert.home_id[:2])
    return expert


def delete_expert(actor, expert: Expert) -> None:
    """Remove an expert entered by mistake; one with assignments or activities is kept (mark them inactive)."""
    require(actor, "delete", expert.home_id)
    with transaction.atomic():
        expert = Expert.objects.select_for_update().get(pk=expert.pk)
        assignments = expert.assignments.count()
        activities = ExpertActivity.objects.filter(Q(experts=expert) | Q(recorded_by=expert)).distinct().count()
        if assignments or activities:
            raise ValidationError(_(
                "%(name)s has %(assignments)s assignment(s) and %(activities)s activity(ies) on record; "
                "mark the expert inactive instead of deleting.")
                % {"name": expert.name, "assignments": assignments, "activities": activities})
        audit.record(actor, "expert.delete", expert, audit.snapshot(expert, EXPERT_FIELDS), {},
                     org_code=expert.home_id)
        expert.delete()


# --- an expert's login (experts as users; experts/scoping.py) --------------------------------------

def _login_of(expert: Expert) -> dict:
    return {"login": expert.user.username if expert.user_id else None}


def _set_login(actor, expert: Expert, user) -> Expert:
    """Link `user` to `expert` (None: unlink), one audit row filed at the expert's office."""
    with transaction.atomic():
        expert = Expert.objects.select_for_update().get(pk=expert.pk)  # no join: PostgreSQL locks no outer join
        before = _login_of(expert)
        expert.user = user
        expert.save(update_fields=["user", "updated"])
        audit.record(actor, "expert.link" if user is not None else "expert.unlink", expert, before,
                     _login_of(expert), org_code=expert.home_id)
    if user is not None:
        forget(user)
    return expert


def _refuse_second_login(expert: Expert, user=None) -> None:
    if expert.user_id is not None and expert.user_id != getattr(user, "pk", None):
        raise ValidationError({"username": _("%(name)s already logs in as %(login)s; unlink that login first.") % {
            "name": expert.name, "login": expert.user.username}})
    other = Expert.objects.filter(user=user).exclude(pk=expert.pk).first() if user is not None else None
    if other is not None:
        raise ValidationError({"username": _("%(login)s is the login of %(name)s already.") % {
            "login": user.username, "name": other.name}})


def create_login(actor, expert: Expert, username: str, password: str) -> Expert:
    """A new account for `expert`, named after them with their e-mail. It holds no role: its scope is the
    towns of the expert's current assignments. Needs the right to manage users at the expert's office."""
    require(actor, "manage", expert.home_id)
    _refuse_second_login(expert)
    with transaction.atomic():
        user = access_services.create_account(actor, username, password, expert.home_id, first_name=expert.name,
                                              email=expert.email)
        return _set_login(actor, expert, user)


def link_login(actor, expert: Expert, user) -> Expert:
    """Link an existing account the actor manages to `expert` (it keeps its memberships, if any)."""
    require(actor, "manage", expert.home_id)
    access_services.require_user(actor, user)
    _refuse_second_login(expert, user)
    return _set_login(actor, expert, user)


def unlink_login(actor, expert: Expert) -> Expert:
    """Take the login from `expert`. An account left with no role could do nothing: it is deactivated
    (kept, like every account that ever acted)."""
    require(actor, "manage", expert.home_id)
    if expert.user_id is None:
        raise ValidationError(_("%(name)s has no login.") % {"name": expert.name})
    with transaction.atomic():
        user = expert.user
        if user.is_active and not user.memberships.exists():
            access_services.update_user(actor, user, is_active=False)  # while still placed at the office
        return _set_login(actor, expert, None)


# --- assignments -----------------------------------------------------------------------------------

def assign_expert(actor, expert: Expert, town, role: str | None = None, since=None, until=None) -> ExpertAssignment:
    """Attach `expert` to `town` in `role` (default: the expert's kind)."""
    require(actor, "change", town.code)
    assignment = ExpertAssignment(expert=expert, town=town, role=role or expert.kind, since=since, until=until)
    assignment.full_clean()
    errors = {}
    if town.level != Level.TOWN:
        errors["town"] = _("Experts are assigned to a town (9-digit code); %(code)s is a %(level)s.") % {
            "code": town.code, "level": town.get_level_display()}
    if since and until and until < since:
        errors["until"] = _("The end date cannot be before the start date.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        open_ = ExpertAssignment.objects.filter(expert=expert, town=town, role=assignment.role, until__isnull=True)
        if assignment.until is None and open_.exists():
            raise ValidationError(_("%(name)s is already assigned to %(town)s as %(role)s.") % {
                "name": expert.name, "town": town.name, "role": assignment.get_role_display()})
        assignment.save()
        audit.record(actor, "assignment.create", assignment, {}, audit.snapshot(assignment, ASSIGNMENT_FIELDS),
                     org_code=town.code)
    return assignment


def unassign_expert(actor, assignment: ExpertAssignment, until=None) -> ExpertAssignment | None:
    """End an assignment on `until` (kept as history), or remove it when no date is given."""
    require(actor, "change", assignment.town_id)
    with transaction.atomic():
        assignment = ExpertAssignment.objects.select_for_update().get(pk=assignment.pk)
        before = audit.snapshot(assignment, ASSIGNMENT_FIELDS)
        if until is None:
            audit.record(actor, "assignment.delete", assignment, before, {}, org_code=assignment.town_id)
            assignment.delete()
            return None
        if assignment.since and until < assignment.since:
            raise ValidationError({"until": _("The end date cannot be before the start date.")})
        assignment.until = until
        assignment.save()
        audit.record(actor, "assignment.end", assignment, before, audit.snapshot(assignment, ASSIGNMENT_FIELDS),
                     org_code=assignment.town_id)
    return assignment


# --- who may write an activity or its problems -----------------------------------------------------

def may_write(user, action: str, activity: ExpertActivity) -> bool:
    """Whether `user` may `action` ("add", "change", "delete") `activity` or its problems: whoever holds
    that right in the activity's town (an office), or an expert who may record there (core/roles.py) on
    an activity they recorded themselves."""
    if allows(user, action, activity.town_id or ""):
        return True
    if activity.recorded_by_id is None or not allows(user, "record", activity.town_id or ""):
        return False
    expert = expert_of(user)
    return expert is not None and expert.pk == activity.recorded_by_id


def require_write(actor, action: str, activity: ExpertActivity) -> None:
    """Raise PermissionDenied, saying why, unless `may_write`."""
    if may_write(actor, action, activity):
        return
    if allows(actor, "record", activity.town_id or ""):
        if expert_of(actor) is None:
            raise PermissionDenied(_("Your login is not linked to an expert of the pool, so it records nothing."))
        raise PermissionDenied(_("An expert changes only the activities they recorded themselves, and their "
                                 "problems."))
    require(actor, action, activity.town_id or "")


def writable_activities(user, action: str = "change"):
    """The activities `user` may `action` (and add problems to): all in an office's area, an expert's own."""
    q = scope_q(user, action, "town__code")
    if q is None:
        return ExpertActivity.objects.all()
    expert = expert_of(user)
    if expert is not None:
        q |= scope_q(user, "record", "town__code") & Q(recorded_by=expert)
    return ExpertActivity.objects.filter(q)


# --- activities ------------------------------------------------------------------------------------

def validate_activity(activity: ExpertActivity) -> None:
    """Rules of one activity; every message names the field and why."""
    errors = {}
    if activity.town_id and activity.town.level != Level.TOWN:
        errors["town"] = _("An expert activity belongs to a town (9-digit code); %(code)s is a %(level)s.") % {
            "code": activity.town_id, "level": activity.town.get_level_display()}
    for name in COUNTS:
        value = getattr(activity, name)
        if value is not None and value < 0:
            errors[name] = _("%(field)s cannot be negative.") % {
                "field": ExpertActivity._meta.get_field(name).verbose_name}
    found, solved = activity.problems_found or 0, activity.problems_solved or 0
    if solved > found and "problems_solved" not in errors:
        errors["problems_solved"] = _("Problems solved (%(solved)s) cannot be more than problems found "
                                      "(%(found)s).") % {"solved": solved, "found": found}
    if errors:
        raise ValidationError(errors)


def create_activity(actor, **fields) -> ExpertActivity:
    """Record an activity: the one-activity case of ActivityBatch."""
    return bulk.one(ActivityBatch(actor), (None, fields))


def update_activity(actor, activity: ExpertActivity, **fields) -> ExpertActivity:
    """Change an activity: the one-activity case of ActivityBatch."""
    return bulk.one(ActivityBatch(actor), (activity, fields))


def _natural_key(activity: ExpertActivity) -> tuple:
    return activity.town_id, activity.date, activity.activity_type_id, activity.type_word, activity.expert_names


def _town_date(fields: dict, activity: ExpertActivity | None) -> tuple:
    """The (town code, date) an item will have: what the fields say, else what the activity has."""
    town = fields.get("town", activity.town_id if activity else None)
    return getattr(town, "pk", town), fields.get("date", activity.date if activity else None)


class ActivityBatch(RecordBatch):
    """Expert activities recorded and changed for one actor in one transaction: the batch shape of
    core/records.py (bulk.one() is the one-record case — create_activity(), update_activity() —, the
    expert-activities import the many). write() writes new activities in bulk, changed ones in one
    UPDATE, their links to the pool's experts, an audit row each.

    The changed activities are locked and read once, with their problems' counts; the natural keys
    (town, date, type, names) the items could meet are read once for their towns and dates."""

    model = ExpertActivity
    accepts = fields = written = ACTIVITY_FIELDS
    audit_name = "activity"
    missing = gettext_lazy("This activity no longer exists.")

    def __init__(self, actor):
        super().__init__(actor)
        self.problems: dict[int, tuple[int, int]] = {}  # (found, solved) of the activities with problems
        self.read: list[tuple[set, object, object]] = []  # (towns, first date, last date) whose stored keys are held
        self._expert = None

    def scope(self, activity) -> str:
        return activity.town_id

    def require(self, activity, action: str) -> None:
        require_write(self.actor, action, activity)

    def locked(self):
        return ExpertActivity.objects.select_related("town")

    def read_changed(self, ids) -> None:
        self.problems.update(counts_of(ids))

    def prepare(self, items) -> None:
        self._read_keys({_town_date(fields, self.now.get(a.pk) if a is not None else None)
                         for a, fields, *_expected in items})

    def _recorder(self):
        if self._expert is None:
            self._expert = (expert_of(self.actor),)  # read once: None is an answer too
        return self._expert[0]

    def build(self, fields: dict) -> ExpertActivity:
        activity = ExpertActivity(**_typed(fields))
        if not allows(self.actor, "add", activity.town_id or ""):
            activity.recorded_by = self._recorder()  # an expert recording through their login: it is theirs
        return activity

    def assign(self, activity, fields: dict) -> None:
        super().assign(activity, _typed(fields))

    def clean(self, activity, before) -> None:
        activity.expert_names = normalize_names(activity.expert_names)
        if before is not None:
            _counts_from_problems(activity, before, self.problems.get(activity.pk))
        validate_activity(activity)
        super().clean(activity, before)

    def snapshot(self, activity, new: bool = False) -> dict:
        return audit.snapshot(activity, ACTIVITY_AUDIT if new else ACTIVITY_FIELDS)  # who recorded it: on creation

    def key(self, activity) -> tuple:
        return _natural_key(activity)

    def read_keys(self, activity) -> None:
        self._read_keys([(activity.town_id, activity.date)])

    def _read_keys(self, pairs) -> None:
        """Hold the natural keys of the stored activities of these (town, date) pairs: one query for all."""
        pairs = {(t, d) for t, d in pairs if t and d and not any(t in towns and first <= d <= last
                                                                  for towns, first, last in self.read)}
        if not pairs:
            return
        towns, first, last = {t for t, _d in pairs}, min(d for _t, d in pairs), max(d for _t, d in pairs)
        stored = ExpertActivity.objects.filter(date__gte=first, date__lte=last).only(
            "pk", "town_id", "date", "activity_type_id", "type_word", "expert_names")
        for a in bulk.where_in(stored, "town_id", towns):
            self.keys.add_stored(_natural_key(a), a.pk)
        self.read.append((towns, first, last))

    def clash(self, activity) -> ValidationError:
        return ValidationError({"expert_names": _(
            "%(town)s already has a %(type)s activity on %(date)s with the same experts (%(names)s).") % {
            "town": activity.town.name, "type": activity.type_label, "date": activity.date,
            "names": activity.expert_names or "—"}})

    def write_related(self, new: list, changed: list) -> None:
        """The new activities and those whose names or town changed are linked to the pool's experts."""
        relinked = [a for a in changed if (a.expert_names, a.town_id) != (self.original[a.pk].expert_names,
                                                                         self.original[a.pk].town_id)]
        link_many([*new, *relinked])


def delete_activity(actor, activity: ExpertActivity) -> None:
    require_write(actor, "delete", activity)
    problems = activity.problems.count()
    if problems:
        raise ValidationError(_("This activity has %(count)s problem(s) on its register; delete them first.")
                              % {"count": problems})
    with transaction.atomic():
        audit.record(actor, "activity.delete", activity, audit.snapshot(activity, ACTIVITY_AUDIT), {},
                     org_code=activity.town_id)
        activity.delete()


# --- the activity-type vocabulary (活动类型) ------------------------------------------------------------

def word_key(word) -> str:
    """A word as the vocabulary compares it: half-width, trimmed, one space, no case (现场 指导 = 现场指导)."""
    return "".join(clean_text(word).lower().replace("_", " ").split())


class TypeVocabulary:
    """The activity types read once, matched by code, name or synonym (an import matches thousands of rows).

    match(word) gives (type, word kept): a known word gives its type and ""; a word that matches none
    gives the type 其他 and the word itself, so nothing the office wrote is lost."""

    def __init__(self):
        self.types = list(ActivityType.objects.all())
        self.by_word: dict[str, ActivityType] = {}
        for t in self.types:
            for word in (t.code, t.name, *t.words):
                self.by_word.setdefault(word_key(word), t)
        self.other = next((t for t in self.types if t.code == ActivityType.OTHER), None)

    def match(self, word) -> tuple[ActivityType | None, str]:
        text = " ".join(clean_text(word).split())
        if not text:
            return None, ""
        found = self.by_word.get(word_key(text))
        if found is not None:
            return found, ""
        return self.other, text[:ExpertActivity._meta.get_field("type_word").max_length]


def _typed(fields: dict) -> dict:
    """Fields with `activity_type` as an ActivityType: a code, name or synonym is looked up, and a word
    that matches none becomes 其他 with the word kept in `type_word`. Only 其他 keeps a word."""
    value = fields.get("activity_type")
    if value is None or value == "":
        return fields
    word = ""
    if isinstance(value, str):
        value, word = TypeVocabulary().match(value)
    fields = {**fields, "activity_type": value}
    if value.code != ActivityType.OTHER:
        fields["type_word"] = ""
    elif word:
        fields["type_word"] = fields.get("type_word") or word
    return fields


def may_manage_types(user) -> bool:
    """Office admins of a province and system admins keep the vocabulary (it is shared by the province's
    offices, so a county office may not change what every town's sheets mean)."""
    prefixes = scope_prefixes(user, "manage")
    return prefixes is ALL or any(len(p) == 2 for p in prefixes)


def _type_office(user) -> str:
    prefixes = scope_prefixes(user, "manage")
    return "" if prefixes is ALL else min((p for p in prefixes if len(p) == 2), default="")


def _validate_type(activity_type: ActivityType) -> None:
    errors = {}
    activity_type.name = " ".join(activity_type.name.split())
    words = [" ".join(w.split()) for w in SYNONYM_SPLIT.split(activity_type.synonyms or "")]
    activity_type.synonyms = NAME_SEPARATOR.join(dict.fromkeys(w for w in words if w))
    if activity_type.code == ActivityType.OTHER and not activity_type.active:
        errors["active"] = _("The type 其他 takes every word that matches no type; it cannot be retired.")
    taken = {}
    for other in ActivityType.objects.exclude(pk=activity_type.pk):
        for word in (other.code, other.name, *other.words):
            taken[word_key(word)] = other
    clashes = [w for w in (activity_type.name, *activity_type.words) if word_key(w) in taken]
    if clashes:
        errors["synonyms" if activity_type.name not in clashes else "name"] = _(
            "“%(word)s” already means %(type)s; a word can mean one type only.") % {
            "word": clashes[0], "type": taken[word_key(clashes[0])].name}
    if errors:
        raise ValidationError(errors)


def save_activity_type(actor, activity_type: ActivityType | None = None, **fields) -> ActivityType:
    """Add a type (activity_type None) or change one; then activities filed under 其他 whose word now
    names a type are moved to it (the office that added a synonym need not re-import its sheets)."""
    refuse_unknown(fields, TYPE_FIELDS)
    if not may_manage_types(actor):
        raise PermissionDenied(_("Only a province office's administrators keep the activity types."))
    with transaction.atomic():
        if activity_type is None:
            obj, before, action = ActivityType(**fields), {}, "activitytype.create"
        else:
            obj = ActivityType.objects.select_for_update().get(pk=activity_type.pk)
            before, action = audit.snapshot(obj, TYPE_FIELDS), "activitytype.update"
            if "code" in fields and fields["code"] != obj.code and obj.activities.exists():
                raise ValidationError({"code": _("The code of a type in use cannot change.")})
            for name, value in fields.items():
                setattr(obj, name, value)
        _validate_type(obj)
        obj.full_clean()
        after = audit.snapshot(obj, TYPE_FIELDS)
        if after != before:
            obj.save()
            audit.record(actor, action, obj, before, after, org_code=_type_office(actor))
            reclassify(actor, obj)
    return obj


def reclassify(actor, activity_type: ActivityType) -> int:
    """Move the 其他 activities the actor may change whose kept word is now a name or synonym of
    `activity_type`; one audit row each. Returns how many moved."""
    words = {word_key(w) for w in (activity_type.name, *activity_type.words)}
    if activity_type.code == ActivityType.OTHER or not words:
        return 0
    moved = 0
    candidates = (ExpertActivity.objects.restrict(actor, "change").select_related("town")
                  .filter(activity_type_id=ActivityType.OTHER).exclude(type_word=""))
    for activity in candidates:
        if word_key(activity.type_word) not in words:
            continue
        try:
            update_activity(actor, activity, activity_type=activity_type, type_word="")
        except ValidationError:
            continue  # the same activity is already on record under that type: left as it is
        moved += 1
    return moved


# --- linking names to the pool ------------------------------------------------------------------------

def link_experts(activity: ExpertActivity) -> None:
    """Link the activity to the experts its names denote: a name unique in the province's pool."""
    link_many([activity])


def link_many(activities) -> None:
    """link_experts() for many activities: the pool read once per province, the links replaced in bulk."""
    through = ExpertActivity.experts.through
    by_province: dict[str, set] = {}
    for a in activities:
        by_province.setdefault(a.town_id[:2], set()).update(a.names)
    experts: dict[tuple[str, str], list[int]] = {}
    for province, names in by_province.items():
        for pk, name in Expert.objects.filter(home__code__startswith=province, name__in=names).values_list("pk", "name"):
            experts.setdefault((province, name), []).append(pk)
    ids = [a.pk for a in activities]
    for piece in bulk.pieces(ids, bulk.IN_CHUNK):
        through.objects.filter(expertactivity_id__in=piece).delete()
    through.objects.bulk_create([  # a name two experts of the province share denotes neither
        through(expertactivity_id=a.pk, expert_id=found[0]) for a in activities for name in dict.fromkeys(a.names)
        if len(found := experts.get((a.town_id[:2], name), [])) == 1])


def relink_names(names, province: str) -> None:
    """Re-link the province's activities naming any of `names` (after an expert was added or renamed)."""
    names = [n for n in names if n]
    if not names:
        return
    q = Q()
    for name in names:
        q |= Q(expert_names__contains=name)
    for activity in ExpertActivity.objects.filter(q, town__code__startswith=province):
        if set(activity.names) & set(names):
            link_experts(activity)


# --- figures -----------------------------------------------------------------------------------------

def summarise(queryset) -> dict:
    """Activities, person-times (人次) by kind and in total, problems found and solved, of `queryset`."""
    agg = queryset.order_by().aggregate(
        activities=Count("id"), chief=Sum("chief_designer_count"), planner=Sum("resident_planner_count"),
        adviser=Sum("adviser_count"), found=Sum("problems_found"), solved=Sum("problems_solved"))
    chief, planner, adviser = agg["chief"] or 0, agg["planner"] or 0, agg["adviser"] or 0
    return {
        "activities": agg["activities"],
        "person_times": {"chief_designer": chief, "resident_planner": planner, "development_adviser": adviser,
                         "total": chief + planner + adviser},
        "problems_found": agg["found"] or 0,
        "problems_solved": agg["solved"] or 0,
    }


# --- the problem register (问题清单) ----------------------------------------------------------------------

PROBLEM_FIELDS = ("town", "activity", "description", "owner", "due_date", "status", "reason", "closed_on")
PROBLEM_EDIT_FIELDS = ("activity", "description", "owner", "due_date")
STATUS_FIELDS = ("status", "reason", "closed_on")  # what a step of the life cycle changes
COUNTED = ("problems_found", "problems_solved")  # an activity's figures its problems give

# step → (the statuses it starts from, the status it leads to)
STEPS = {
    "start": ((ProblemStatus.OPEN,), ProblemStatus.IN_PROGRESS),
    "solve": (OPEN_STATUSES, ProblemStatus.SOLVED),
    "dismiss": (OPEN_STATUSES, ProblemStatus.DISMISSED),
    "reopen": ((ProblemStatus.IN_PROGRESS, ProblemStatus.SOLVED, ProblemStatus.DISMISSED), ProblemStatus.OPEN),
}
STEP_TO = {target: step for step, (_from, target) in STEPS.items()}


def counts_of(activity_ids) -> dict[int, tuple[int, int]]:
    """{activity id: (found, solved)} of the activities' problems — every problem on an activity's register
    was found, the solved ones solved — for those that have problems (the others' own figures stand)."""
    counts = {}
    for piece in bulk.pieces(list(activity_ids), bulk.IN_CHUNK):
        counted = (ExpertProblem.objects.filter(activity_id__in=piece).order_by().values("activity_id")
                   .annotate(found=Count("id"), solved=Count("id", filter=Q(status=ProblemStatus.SOLVED))))
        counts.update((c["activity_id"], (c["found"], c["solved"])) for c in counted)
    return counts


def problem_counts(activity: ExpertActivity) -> tuple[int, int] | None:
    """(found, solved) of the activity's problems, or None when it has none (its own figures then stand)."""
    return counts_of([activity.pk]).get(activity.pk)


def _counts_from_problems(activity: ExpertActivity, before: dict, counts: tuple[int, int] | None) -> None:
    """An activity with problems (`counts`: their found and solved, see problem_counts) takes its
    found/solved from them: other figures are refused, and it cannot move to another town (its
    problems are that town's)."""
    if counts is None:
        return
    errors = {}
    if activity.town_id != before.get("town"):
        errors["town"] = _("This activity has problems on its register in its town; it cannot move to another "
                           "town.")
    for name, value in zip(COUNTED, counts, strict=True):
        if getattr(activity, name) != value:
            errors[name] = _("This activity has %(count)s problem(s) on its register: problems found and solved "
                             "are counted from them (%(found)s found, %(solved)s solved).") % {
                "count": counts[0], "found": counts[0], "solved": counts[1]}
    if errors:
        raise ValidationError(errors)


def sync_activity_counts(actor, activity_ids) -> None:
    """Set the activities' problems found/solved from their problems, an audit row for each that changes:
    the activities locked (in key order) and their problems counted once for all."""
    ids = sorted(set(activity_ids))
    if not ids:
        return
    locked = ExpertActivity.objects.select_for_update(of=("self",)).select_related("activity_type").order_by("pk")
    activities = list(bulk.where_in(locked, "pk", ids))
    counts, changed = counts_of(ids), []
    for activity in activities:
        found = counts.get(activity.pk)
        if found is None or (activity.problems_found, activity.problems_solved) == found:
            continue
        changed.append((activity, audit.snapshot(activity, COUNTED)))
        activity.problems_found, activity.problems_solved = found
    bulk.update(ExpertActivity, [a for a, _before in changed], COUNTED)
    audit.record_all(actor, (("activity.update", a, before, audit.snapshot(a, COUNTED), a.town_id)
                             for a, before in changed))


def validate_problem(problem: ExpertProblem) -> None:
    """Rules of one problem (its natural key is ProblemBatch's to hold)."""
    errors = {}
    problem.description = " ".join((problem.description or "").split())
    problem.owner = " ".join((problem.owner or "").split())
    problem.reason = " ".join((problem.reason or "").split())
    if not problem.description:
        errors["description"] = _("Describe the problem.")
    if problem.status == ProblemStatus.DISMISSED and not problem.reason:
        errors["reason"] = _("A dismissed problem (不予处理) needs the reason why.")
    if problem.activity_id and problem.activity.date and problem.due_date and problem.due_date < problem.activity.date:
        errors["due_date"] = _("The due date (%(due)s) cannot be before the activity that found the problem "
                               "(%(date)s).") % {"due": problem.due_date, "date": problem.activity.date}
    if errors:
        raise ValidationError(errors)


def _set_status(problem: ExpertProblem, status: str, reason: str = "") -> None:
    """Give `problem` `status`: a dismissed one keeps the reason why, a solved or dismissed one the day it
    closed. The same status and reason again change nothing (not the day it closed)."""
    reason = " ".join((reason or "").split()) if status == ProblemStatus.DISMISSED else ""
    if (status, reason) == (problem.status, problem.reason):
        return
    problem.status, problem.reason = status, reason
    problem.closed_on = None if status in OPEN_STATUSES else timezone.localdate()


def create_problem(actor, activity: ExpertActivity, description: str, owner: str = "", due_date=None,
                   status: str = ProblemStatus.OPEN, reason: str = "") -> ExpertProblem:
    """Record a problem found by `activity` (in its town); an import may give it a status straight away.
    The one-problem case of ProblemBatch."""
    return bulk.one(ProblemBatch(actor), (None, {"activity": activity, "description": description, "owner": owner,
                                                 "due_date": due_date, "status": status, "reason": reason}))


def update_problem(actor, problem: ExpertProblem, **fields) -> ExpertProblem:
    """Edit what a problem is (activity, description, owner, due date); its status moves by step_problem.
    The one-problem case of ProblemBatch."""
    refuse_unknown(fields, PROBLEM_EDIT_FIELDS)
    return bulk.one(ProblemBatch(actor), (problem, fields))


def step_problem(actor, problem: ExpertProblem, step: str, reason: str = "") -> ExpertProblem:
    """Move a problem one step: start (待解决 → 解决中), solve (→ 已解决), dismiss (→ 不予处理, a reason
    required) or reopen (→ 待解决). A step from a status it does not start from is refused."""
    if step not in STEPS:
        raise ValidationError({"step": _("Unknown step %(step)s.") % {"step": step}})
    return bulk.one(ProblemBatch(actor, step=step), (problem, {"status": STEPS[step][1], "reason": reason}))


class ProblemBatch(RecordBatch):
    """Problems recorded and changed for one actor in one transaction: the batch shape of core/records.py
    (bulk.one() is the one-record case — create_problem(), update_problem(), step_problem() —, the
    problems import the many). A change may give a status (and a dismissal's reason): the import brings a
    problem to any status, where step_problem() (`step`) moves it only from the statuses the step starts
    from. write() writes new problems in bulk, changed ones in one UPDATE, an audit row each — and for a
    change `problem.update` for what the problem is, `problem.<step>` for its status —, then the found and
    solved counts of the activities whose problems changed.

    The changed problems are locked and read once with their activities; the natural keys (activity,
    description) of the activities the items name are read once for all."""

    model = ExpertProblem
    accepts = (*PROBLEM_EDIT_FIELDS, "status", "reason")
    fields = PROBLEM_FIELDS
    key_fields, key_group = ("activity_id", "description"), "activity_id"

    def __init__(self, actor, step: str | None = None):
        super().__init__(actor)
        self.step = step

    def scope(self, problem) -> str:
        return problem.town_id

    def require(self, problem, action: str) -> None:
        require_write(self.actor, action, problem.activity)

    def locked(self):
        return ExpertProblem.objects.prefetch_related("activity")  # read apart: a join would lock them too

    def prepare(self, items) -> None:
        wanted = set()
        for problem, fields, *_expected in items:
            held = self.now.get(problem.pk) if problem is not None else None
            activity = fields.get("activity", held.activity if held is not None else None)
            wanted.add(getattr(activity, "pk", activity))
        self.hold_keys(wanted)

    def build(self, fields: dict) -> ExpertProblem:
        fields = dict(fields)
        activity = fields.get("activity")
        if activity is None:
            raise ValidationError({"activity": ExpertProblem._meta.get_field("activity").error_messages["blank"]})
        status, reason = fields.pop("status", ProblemStatus.OPEN), fields.pop("reason", "")
        problem = ExpertProblem(town_id=activity.town_id, **fields)
        _set_status(problem, status, reason)
        return problem

    def assign(self, problem, fields: dict) -> None:
        fields = dict(fields)
        moving = {name: fields.pop(name) for name in ("status", "reason") if name in fields}
        super().assign(problem, fields)
        problem.town_id = problem.activity.town_id  # a problem is its activity's town's
        if moving:
            _set_status(problem, moving.get("status", problem.status), moving.get("reason", problem.reason))

    def clean(self, problem, before) -> None:
        if self.step is not None and before["status"] not in STEPS[self.step][0]:
            raise ValidationError({"status": _("A problem that is %(status)s cannot be moved to %(target)s.") % {
                "status": ProblemStatus(before["status"]).label, "target": ProblemStatus(problem.status).label}})
        if problem.status not in ProblemStatus.values:
            raise ValidationError({"status": _("Unknown status %(status)s.") % {"status": problem.status}})
        validate_problem(problem)
        super().clean(problem, before)

    def clash(self, problem) -> ValidationError:
        return ValidationError({"description": _("This activity already has the problem “%(text)s”.") % {
            "text": problem.description}})

    def write_related(self, new: list, changed: list) -> None:
        """The activities that gained, lost or re-counted problems take their found and solved from them."""
        sync_activity_counts(self.actor, {p.activity_id for p in new} | {
            pk for p in changed for pk in (p.activity_id, self.original[p.pk].activity_id)})

    def audit_changes(self, new: list, changed: list) -> None:
        def parts(problem) -> tuple[dict, dict]:  # (what the problem is, where it stands)
            data = self.snapshot(problem)
            return ({k: v for k, v in data.items() if k not in STATUS_FIELDS},
                    {k: v for k, v in data.items() if k in STATUS_FIELDS})

        def rows():
            yield from (("problem.create", p, {}, self.snapshot(p), p.town_id) for p in new)
            for p in changed:
                (was, stood), (now, stands) = parts(self.original[p.pk]), parts(p)
                if was != now:
                    yield "problem.update", p, was, now, p.town_id
                if stood != stands:
                    yield f"problem.{STEP_TO[p.status]}", p, stood, stands, p.town_id
        audit.record_all(self.actor, rows())


def allowed_steps(problem: ExpertProblem) -> list[str]:
    return [step for step, (sources, _target) in STEPS.items() if problem.status in sources]


def delete_problem(actor, problem: ExpertProblem) -> None:
    delete_problems(actor, [problem])


def delete_problems(actor, problems) -> None:
    """Remove problems (an import undone removes many at once): an audit row each, then their activities'
    found and solved counts, once for all."""
    for problem in problems:
        require_write(actor, "delete", problem.activity)
    with transaction.atomic():
        audit.record_all(actor, (("problem.delete", p, audit.snapshot(p, PROBLEM_FIELDS), {}, p.town_id)
                                 for p in problems))
        for piece in bulk.pieces([p.pk for p in problems], bulk.IN_CHUNK):
            ExpertProblem.objects.filter(pk__in=piece).delete()
        sync_activity_counts(actor, {p.activity_id for p in problems})


def problem_figures(queryset, today=None) -> dict:
    """Problems of `queryset` by status, and how many are overdue."""
    today = today or timezone.localdate()
    agg = queryset.order_by().aggregate(
        total=Count("id"), overdue=Count("id", filter=Q(status__in=OPEN_STATUSES, due_date__lt=today)),
        **{s: Count("id", filter=Q(status=s)) for s in ProblemStatus.values})
    return agg

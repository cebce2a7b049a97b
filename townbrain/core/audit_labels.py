"""Words for the audit log's codes: actions, sources, object types, field names and markers.

The log stores stable codes (`orgunit.update`, `web`, `orgunit`, `population`) and the API
returns them unchanged, for integrators. Pages and exports show these labels instead, in the
reader's language:

- **actions** from `ACTION_LABELS`, which every app extends with `register_actions()` for the
  codes it records (a test fails for any `audit.record(actor, "<code>", …)` without a label);
- **sources** from `SOURCE_LABELS`;
- **object types and field names** from the model's `verbose_name` when the object type is the
  `model_name` of an installed model, else from `OBJECT_TYPE_LABELS` / `FIELD_LABELS`;
- **values**: a choice field's display label, and the secret markers of `audit.SECRET` /
  `audit.CHANGED` in words.

An unknown code is shown as it is, never hidden.
"""

import json
from functools import cache

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import audit

ACTION_LABELS: dict = {}


def register_actions(labels: dict) -> None:
    """Add `{action code: lazy label}` for the actions an app records (call it at import or in ready())."""
    ACTION_LABELS.update(labels)


# core
register_actions({
    "orgunit.update": _("Edited profile"),
    "divisions.load": _("Loaded the division list"),
    "personal.export": _("Exported contact details"),
    "personal.purge": _("Removed contact details (retention)"),
    "backup.create": _("Backed up the database and uploads"),
    "backup.restore": _("Restored a backup"),
})

# The floors above core record these. They are listed here until each app registers its own
# from its AppConfig.ready() (core imports nothing of theirs: these are only strings).
register_actions({
    # access
    "user.create": _("Created user"),
    "user.update": _("Edited user"),
    "user.password": _("Changed password"),
    "membership.grant": _("Granted role"),
    "membership.revoke": _("Revoked role"),
    # programmes
    "programme.create": _("Created programme"),
    "programme.update": _("Edited programme"),
    "category.add": _("Added category"),
    "role.add": _("Added programme role"),
    "batch.add": _("Added batch"),
    "enrolment.save": _("Saved enrolment"),
    "enrolment.event": _("Recorded enrolment change"),
    "target.save": _("Saved target"),
    # projects
    "project.create": _("Created project"),
    "project.update": _("Edited project"),
    "project.delete": _("Deleted project"),
    "project.progress": _("Updated project progress"),
    "project.plan": _("Set monthly plan"),
    "progress.report": _("Reported monthly progress"),
    "progress.delete": _("Deleted monthly report"),
    # indicators
    "dataelement.save": _("Saved data element"),
    "indicator.save": _("Saved indicator"),
    "validationrule.save": _("Saved validation rule"),
    "datavalue.save": _("Saved data value"),
    "datavalue.delete": _("Deleted data value"),
    # assessments
    "scheme.import": _("Imported assessment scheme"),
    "scheme.update": _("Edited assessment scheme"),
    "scheme.delete": _("Deleted assessment scheme"),
    "criterion.update": _("Edited criterion"),
    "run.create": _("Ran assessment"),
    "run.freeze": _("Froze assessment run"),
    "run.delete": _("Deleted assessment run"),
    "run.consequences": _("Applied the consequences of grades"),
    "published.record": _("Recorded published results"),
    # reporting cycle
    "deadline.rule": _("Set reporting deadline"),
    "deadline.override": _("Moved a reporting deadline"),
    # exchange (imports)
    "import.apply": _("Applied import"),
    "import.undo": _("Undid import"),
})

SOURCE_LABELS = {
    "web": _("Web page"),
    "api": _("API"),
    "cli": _("Command line"),
    "internal": _("Internal"),
}

# Object types that are not the model_name of a model.
OBJECT_TYPE_LABELS = {
    "divisions": _("Division list"),
    "backup": _("Backup"),
}

# Field names a model does not name (or names differently from the pages), by object type.
FIELD_LABELS = {
    ("user", "first_name"): _("Full name"),
    ("user", "password"): _("Password"),
    ("divisions", "provinces"): _("Provinces"),
    ("divisions", "villages"): _("Villages"),
    ("divisions", "created"): _("Created"),
    ("divisions", "renamed"): _("Renamed"),
    ("divisions", "unchanged"): _("Unchanged"),
    ("project", "plan"): _("Monthly plan"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def source_label(code: str) -> str:
    label = SOURCE_LABELS.get(code)
    return str(label) if label is not None else code


@cache
def _models_by_name() -> dict:
    found = {}
    # Our own apps first: their model names win over a third-party model of the same name.
    for model in sorted(apps.get_models(), key=lambda m: not m.__module__.startswith("townbrain.")):
        found.setdefault(model._meta.model_name, model)
    return found


def model_of(object_type: str):
    """The model whose model_name is `object_type`, or None."""
    return _models_by_name().get(object_type)


def object_type_label(object_type: str) -> str:
    if object_type in OBJECT_TYPE_LABELS:
        return str(OBJECT_TYPE_LABELS[object_type])
    model = model_of(object_type)
    return capfirst(str(model._meta.verbose_name)) if model is not None else object_type


def _field(object_type: str, name: str):
    model = model_of(object_type)
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    # A snapshot key can also name a reverse relation (e.g. "plan"); only real columns have labels.
    return field if getattr(field, "concrete", False) else None


def field_label(object_type: str, name: str) -> str:
    if (object_type, name) in FIELD_LABELS:
        return str(FIELD_LABELS[(object_type, name)])
    field = _field(object_type, name)
    verbose = getattr(field, "verbose_name", None)
    return capfirst(str(verbose)) if verbose else name


def value_label(object_type: str, name: str, value):
    """A stored value as a reader wants it: choices by their label, secret markers in words."""
    if name in audit.SECRET_FIELDS or name in audit.PERSONAL_FIELDS:
        if value == audit.CHANGED:
            return gettext("(changed)")
        if value == audit.SECRET:
            return gettext("(hidden)")
    field = _field(object_type, name)
    if field is None or value is None:
        return value
    if field.choices and isinstance(value, str | int):
        return str(dict(field.flatchoices).get(value, value))
    return value


def _text(value) -> str:
    """A value as stored, as text: the log shows what was saved (181234, 128.40), not a rounding of it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def change_rows(entry) -> list[dict]:
    """[{field, label, before, after, change}] of an audit row's changes in words (text: "before → after")."""
    rows = []
    for name, pair in (entry.changes or {}).items():
        before, after = (list(pair) + [None, None])[:2] if isinstance(pair, list | tuple) else (None, pair)
        before = _text(value_label(entry.object_type, name, before))
        after = _text(value_label(entry.object_type, name, after))
        rows.append({"field": name, "label": field_label(entry.object_type, name), "before": before,
                     "after": after, "change": f"{before} → {after}"})
    return rows


class LabelledChanges(dict):
    """{field label: "before → after"}: one line each on a page, one string in a CSV/xlsx cell."""

    def __str__(self):
        return "; ".join(gettext("%(field)s: %(change)s") % {"field": k, "change": v} for k, v in self.items())


def labelled_changes(entry) -> LabelledChanges:
    return LabelledChanges((r["label"], r["change"]) for r in change_rows(entry))

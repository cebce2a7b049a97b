"""The whole demo (top floor: it may use every app): org tree and users, then the project ledger."""

from townbrain.access.demo import DEMO_PASSWORD, DEMO_USERS
from townbrain.access.demo import load_demo as load_people
from townbrain.projects.demo import load as load_projects

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "load_demo"]


def load_demo(villages: bool = True, progress=None) -> dict:
    summary = load_people(villages=villages, progress=progress)
    summary.update(load_projects(progress=progress))
    return summary

"""The users of `townbrain bench load` (locust; run by townbrain/bench/load.py, never imported by Django).

Three kinds of user, as an area's offices use TownBrain in a working day, each with a think time
(default 5–15 s) between clicks — a person reads a page before the next click:
- a leader (the province's, a city's or the county's office) opens the cockpit of their area or of a
  unit below for a month, and reads the same figures through GET /api/rollups/;
- a county officer filters the project list (by town, status), downloads a roll-up export (CSV) and
  accepts a reported event (受理) — POST /api/events/<id>/accept/;
- a town editor submits a monthly report (POST /api/progress/, replacing the month's report with the
  project's own figures and a new note of problems) and reports an event (POST /api/events/).
Pages go with the session cookie made for the user, API calls with its token; nothing logs in during
the run (logging in is rate-limited on purpose). The plan (users, units, projects, months) is the
JSON file named by TOWNBRAIN_LOAD_PLAN; TOWNBRAIN_LOAD_MAX_REQUESTS bounds the count of requests.
"""

import itertools
import json
import os
import random

from locust import FastHttpUser, between, events, task

PLAN = json.loads(open(os.environ["TOWNBRAIN_LOAD_PLAN"], encoding="utf-8").read())
MAX_REQUESTS = int(os.environ.get("TOWNBRAIN_LOAD_MAX_REQUESTS") or 0)
THINK = PLAN.get("think", [5, 15])  # seconds between one user's clicks, at least / at most
_count = itertools.count(1)
_reported = []  # ids of events reported in this run, for the county officer to accept


@events.request.add_listener
def _bounded(**kwargs):
    # Bounded in count as well as in time: stop every user once the level has sent MAX_REQUESTS.
    if MAX_REQUESTS and next(_count) >= MAX_REQUESTS:
        runner = getattr(_bounded, "runner", None)
        if runner is not None:
            runner.quit()


@events.init.add_listener
def _keep_runner(environment, **kwargs):
    _bounded.runner = environment.runner


class _User(FastHttpUser):
    abstract = True
    wait_time = between(*THINK)
    role = ""

    def on_start(self):
        self.me = random.choice(PLAN["users"][self.role])
        # A new connection per click, as a browser makes after a think time longer than the server's
        # keep-alive (gunicorn: 2 s); reusing an idle one races the server closing it.
        self.page_headers = {"Cookie": f"{PLAN['session_cookie']}={self.me['session']}",
                             "Accept-Language": "zh-hans", "Connection": "close"}
        self.api_headers = {"Authorization": f"Token {self.me['token']}", "Accept": "application/json",
                            "Connection": "close"}

    def month(self):
        return random.choice(PLAN["periods"])

    def page(self, url, name, headers=None):
        """A GET that counts only a 200 as success: a redirect to the login page is a failure here."""
        with self.client.get(url, headers=headers or self.page_headers, name=name, allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")


class Leader(_User):
    weight = 3
    role = "leader"

    @task(3)
    def cockpit(self):
        unit = random.choice(self.me["units"])
        self.page(f"/cockpit/{unit}/?programme={PLAN['programme']}&period={self.month()}", "cockpit")

    @task(2)
    def rollups_api(self):
        unit = random.choice(self.me["units"])
        self.page(f"/api/rollups/?org={unit}&period={self.month()}&programme={PLAN['programme']}", "api rollups",
                  self.api_headers)


class CountyOfficer(_User):
    weight = 4
    role = "county"

    @task(3)
    def project_list(self):
        town = random.choice(PLAN["towns"])
        self.page(f"/projects/?town={town}&status=started", "project list filter")

    @task(1)
    def export(self):
        self.page(f"/rollups/?org={PLAN['county']}&period={self.month()}&programme={PLAN['programme']}&export=csv",
                  "roll-up export csv")

    @task(1)
    def accept_event(self):
        if not _reported:
            return
        event = _reported.pop()
        self.client.post(f"/api/events/{event}/accept/", json={"comment": "受理"}, headers=self.api_headers,
                         name="event accept")


class TownEditor(_User):
    weight = 3
    role = "town"

    @task(3)
    def monthly_report(self):
        project = random.choice(self.me["projects"])
        self.client.post("/api/progress/", json={
            "project": project["id"], "period": PLAN["report_period"], "status": project["status"],
            "cumulative_investment": project["cumulative_investment"],
            "progress_percent": project["progress_percent"],
            # a real change each time (the problems noted), so every report is written and audited
            "problems": f"压力测试 {random.randrange(10**9)}"}, headers=self.api_headers, name="progress report")

    @task(1)
    def report_event(self):
        if not PLAN.get("category"):
            return
        with self.client.post("/api/events/", json={
                "town": self.me["town"], "platform": PLAN["category"]["platform"],
                "category": PLAN["category"]["code"], "description": "压力测试：路灯不亮",
                "source": "grid"}, headers=self.api_headers, name="event report", catch_response=True) as response:
            if response.status_code == 201:
                _reported.append(response.json()["id"])
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

"""The scenario runner: the conformance format of ``shared/scenarios/README.md``.

Each scenario runs through the real doors: the newcomer through the register
import (``POST /newcomers``), every event through the HTTP API (in-process client,
a token of the right role), and time advanced only by the real sweep at 02:00 of
each day; events are entered at 09:00 on their ``recorded_on`` (``on`` when absent),
in that order and then in file order, with ``on`` in the body as the day the fact
happened (scenarios README "Late-recorded facts").
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable, Iterable, Optional

from jsonschema import Draft202012Validator
from sqlmodel import func, select

from engine.clock import ManualClock, brussels_instant, business_date
from engine.models import DueTimer
from engine.service import Engine, bootstrap
from engine.settings import Settings
from timers.sweep import SWEEP_TIME, sweep

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "engine" / "schemas" / "scenario.json").read_text())
EVENT_TIME = time(9, 0)
OUTCOME_TIME = time(23, 0)  # the end of ``until``: after its sweep and its events
ENFORCEMENT_EVENTS = {"enforcement_decision"}


class ScenarioError(ValueError):
    """A scenario file that does not validate; names the file and the JSON path."""


@dataclass
class Scenario:
    source: str
    data: dict

    @property
    def name(self) -> str:
        return self.data["name"]


def _json_path(parts: Iterable) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def load_scenarios(paths: list[str]) -> list[Scenario]:
    """Read and validate every file first; any error stops everything before anything runs."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.exists():
            files.append(path)
        else:
            raise ScenarioError(f"{raw}: no such file or directory")
    if not files:
        raise ScenarioError("no scenario files found")
    validator = Draft202012Validator(SCHEMA)
    scenarios = []
    for path in files:
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ScenarioError(f"{path}: not valid JSON: line {err.lineno}: {err.msg}") from None
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            raise ScenarioError(f"{path}: {_json_path(errors[0].absolute_path)}: {errors[0].message}")
        _check_dates(path, data)
        scenarios.append(Scenario(str(path), data))
    return scenarios


def _check_dates(path: Path, data: dict) -> None:
    def parse(value: str, where: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ScenarioError(f"{path}: {where}: {value} is not a calendar date") from None

    start = parse(data["newcomer"]["obligation_start"], "$.newcomer.obligation_start")
    parse(data["newcomer"]["birth_date"], "$.newcomer.birth_date")
    until = parse(data["until"], "$.until")
    if until < start:
        raise ScenarioError(f"{path}: $.until: {until} is before the obligation start {start}")
    for index, event in enumerate(data["events"]):
        on = parse(event["on"], f"$.events[{index}].on")
        for key in ("from", "to"):
            if key in event:
                parse(event[key], f"$.events[{index}].{key}")
        entered = parse(event["recorded_on"], f"$.events[{index}].recorded_on") if "recorded_on" in event else on
        # An effective date after the entry day or before the obligation start is the API's to refuse
        # (scenarios README "Late-recorded facts": it "is refused" and listed under refused_events); the
        # run itself can only enter events from the obligation start to ``until``.
        if entered < start:
            raise ScenarioError(f"{path}: $.events[{index}].{'recorded_on' if 'recorded_on' in event else 'on'}: "
                                f"{entered} is before the obligation start ({start}), when the run begins")
        if entered > until:
            raise ScenarioError(f"{path}: $.events[{index}].{'recorded_on' if 'recorded_on' in event else 'on'}: "
                                f"{entered} is after until ({until})")


def entry_order(events: list[dict]) -> list[tuple[int, dict]]:
    """(index, event) in the order they are entered: by ``recorded_on`` (``on`` when absent), then file order."""
    return sorted(enumerate(events), key=lambda item: (item[1].get("recorded_on", item[1]["on"]), item[0]))


@dataclass(order=True)
class _Action:
    """One thing that happens on the timeline, in order: instant, then imports before events before
    reading an outcome, then scenario and file order."""

    instant: datetime
    rank: int  # 0 import, 1 event, 2 outcome
    scenario: int
    index: int
    event: dict | None = None


def _actions(number: int, data: dict) -> list[_Action]:
    start = date.fromisoformat(data["newcomer"]["obligation_start"])
    until = date.fromisoformat(data["until"])
    out = [_Action(brussels_instant(start, time(0, 0)), 0, number, -1)]
    for index, event in entry_order(data["events"]):
        entered = date.fromisoformat(event.get("recorded_on", event["on"]))
        out.append(_Action(brussels_instant(entered, EVENT_TIME), 1, number, index, event))
    out.append(_Action(brussels_instant(until, OUTCOME_TIME), 2, number, len(data["events"])))
    return out


class ScenarioRun:
    """Scenarios through one engine and its API, on the store's one clock: imports at 00:00 of the
    obligation start, the 02:00 sweep of every day a timer is due, events at 09:00 of the day they
    are entered, and each outcome read at the end of its ``until`` (after that day's events)."""

    def __init__(self, engine: Engine, settings: Settings):
        from fastapi.testclient import TestClient

        from api.app import create_app
        from api.auth import issue_token

        self.engine = engine
        self.clock = engine.clock
        self.settings = settings
        self.client = TestClient(create_app(engine, settings), raise_server_exceptions=True)
        self._issue = issue_token

    def _token(self, role: str, agency: Optional[str] = None) -> dict:
        token = self._issue(self.settings, role=role, user=f"scenario-{role}", agency=agency,
                            now=self.clock.now())
        return {"Authorization": f"Bearer {token}"}

    def _sweep_before(self, instant: datetime) -> None:
        """Run the 02:00 sweep of every day on which a timer is due, up to ``instant``."""
        while True:
            due = next_sweep(self.engine)
            if due is None:
                return
            due_day, sweep_at = due
            sweep_at = max(sweep_at, self.clock.now())
            if sweep_at > instant:
                return
            self.clock.set(sweep_at)
            report = sweep(self.engine, sweep_at)
            if report.errors:
                raise RuntimeError(f"sweep of {due_day} failed: {report.errors}")
            if not report.dossiers:  # nothing could fire at this instant: look again a second later
                self.clock.set(sweep_at + timedelta(seconds=1))

    def run_all(self, scenarios: list[dict]) -> list[dict]:
        """Run the scenarios on one timeline; their outcomes in input order."""
        actions = sorted(a for number, data in enumerate(scenarios) for a in _actions(number, data))
        now = self.clock.now()
        if actions and now > actions[0].instant:
            raise ScenarioError(f"the store's clock is at {now.isoformat()}, after the first scenario's start "
                                f"({actions[0].instant.isoformat()}): scenarios run only into a store whose "
                                "clock has not passed them (a store's clock never goes back)")
        outcomes: list[dict] = [{} for _ in scenarios]
        refused: list[list] = [[] for _ in scenarios]
        for action in actions:
            self._sweep_before(action.instant)
            self.clock.set(action.instant)
            data = scenarios[action.scenario]
            if action.rank == 0:
                response = self.client.post("/newcomers", json=data["newcomer"], headers=self._token("admin"))
                if response.status_code != 201:
                    raise ScenarioError(f"register import refused the newcomer: {response.status_code} "
                                        f"{response.text}")
            elif action.rank == 1:
                self._post_event(data, action, refused[action.scenario])
            else:
                outcomes[action.scenario] = self._outcome(data, refused[action.scenario])
        return outcomes

    def _post_event(self, data: dict, action: _Action, refused: list) -> None:
        event, dossier_id = action.event, data["newcomer"]["id"]
        body = {k: v for k, v in event.items() if k not in ("type", "recorded_on")}
        response = self.client.post(f"/dossiers/{dossier_id}/events/{event['type']}", json=body,
                                    headers=self._headers_for(event["type"], dossier_id))
        if response.status_code >= 400:
            refused.append({"index": action.index, "on": event["on"], "type": event["type"],
                            "status": response.status_code, "message": _message(response)})

    def _outcome(self, data: dict, refused: list) -> dict:
        response = self.client.get(f"/dossiers/{data['newcomer']['id']}", headers=self._token("auditor"))
        response.raise_for_status()
        view = response.json()
        outcome = {"name": data["name"], **{k: view[k] for k in (
            "target_group", "reasons", "agency", "region", "infractions", "attest_on", "b1_check", "fees_eur")}}
        outcome["refused_events"] = sorted(refused, key=lambda r: r["index"])
        return outcome

    def _headers_for(self, event_type: str, dossier_id: str) -> dict:
        if event_type in ENFORCEMENT_EVENTS:
            return self._token("enforcement_officer")
        agency = self.engine.dossier_state(dossier_id).agency
        return self._token("caseworker", agency) if agency else self._token("admin")


def next_sweep(engine: Engine) -> Optional[tuple[date, datetime]]:
    """The day and the 02:00 instant of the first daily sweep that fires the soonest due timer (the same
    day's sweep when the timer is due by 02:00, else the next day's); None when no timer waits."""
    with engine.reading() as connection:
        first = connection.execute(select(func.min(DueTimer.due_at))).scalar()
    if first is None:
        return None
    due_day = business_date(datetime.fromtimestamp(first).astimezone())
    sweep_at = brussels_instant(due_day, SWEEP_TIME)
    if sweep_at.timestamp() < first:
        due_day += timedelta(days=1)
        sweep_at = brussels_instant(due_day, SWEEP_TIME)
    return due_day, sweep_at


def sweep_through(engine: Engine, clock: ManualClock, day: date,
                  after_each: Callable[[date], None] | None = None) -> None:
    """Run the 02:00 sweep of every day up to ``day`` on which a timer is due (the days between change
    nothing); ``after_each(day)`` is called after each sweep."""
    while True:
        due = next_sweep(engine)
        if due is None:
            return
        due_day, sweep_at = due
        if due_day > day:
            return
        clock.set(sweep_at)
        report = sweep(engine, sweep_at)
        if report.errors:
            raise RuntimeError(f"sweep of {due_day} failed: {report.errors}")
        if after_each is not None:
            after_each(due_day)


def _message(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return body.get("message") or body.get("detail") or json.dumps(body)


def compare(expect: dict, outcome: dict) -> list[str]:
    """Differences between an ``expect`` object and an outcome, one line per field.

    ``refused_events`` entries are compared on the keys the expected entry gives: a scenario
    written by hand can name the event (index, on, type) and its status without repeating the
    engine's wording of the message."""
    diffs = []
    for key, wanted in expect.items():
        got = outcome.get(key)
        if key == "refused_events" and _refusals_match(wanted, got):
            continue
        if got != wanted:
            diffs.append(f"{key}: expected {json.dumps(wanted)}, got {json.dumps(got)}")
    return diffs


def _refusals_match(wanted, got) -> bool:
    if not isinstance(wanted, list) or not isinstance(got, list) or len(wanted) != len(got):
        return False
    return all(isinstance(w, dict) and isinstance(g, dict) and all(k in g and g[k] == v for k, v in w.items())
               for w, g in zip(wanted, got))


def run_scenarios(scenarios: list[Scenario], *, database_url: Optional[str] = None,
                  on_result: Callable[[Scenario, dict, list], None] | None = None,
                  settings: Optional[Settings] = None) -> tuple[list[dict], int]:
    """Run each scenario in a fresh store of its own, or all of them into ``database_url`` on that store's
    one clock (a manual clock: the store must be new or its clock not past the first scenario's start);
    returns the outcomes (in input order) and the number of scenarios whose ``expect`` differs."""
    base = settings or Settings(jwt_secret="scenario-runner-signing-key-not-secret-0001", demo_data=False)

    def run_into(url: str, batch: list[Scenario]) -> list[dict]:
        first = min(date.fromisoformat(s.data["newcomer"]["obligation_start"]) for s in batch)
        run_settings = Settings(database_url=url, jwt_secret=base.jwt_secret, demo_data=False, clock_mode="manual",
                                clock_start=brussels_instant(first).isoformat())
        engine = bootstrap(run_settings)
        if engine.clock.mode != "manual":
            engine.db.dispose()
            raise ScenarioError(f"{url}: the store follows the wall clock; scenarios need a store with a manual "
                                "clock (a new store gets one)")
        try:
            return ScenarioRun(engine, run_settings).run_all([s.data for s in batch])
        finally:
            engine.db.dispose()

    outcomes: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="inburgering-scenarios-") as tmp:
        if database_url:
            outcomes = run_into(database_url, scenarios)
        else:
            for number, scenario in enumerate(scenarios):
                outcomes += run_into(f"sqlite:///{tmp}/scenario-{number}.db", [scenario])
    failures = 0
    for scenario, outcome in zip(scenarios, outcomes):
        diffs = compare(scenario.data.get("expect", {}), outcome)
        failures += bool(diffs)
        if on_result:
            on_result(scenario, outcome, diffs)
    return outcomes, failures

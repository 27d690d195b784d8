"""The figures parliament asks for, read from the recorded facts alone (TRAJECTORY.md §8).

:func:`report` reads journal entries only — never the current dossier rows — and reads
every decision as it was recorded (:mod:`engine.facts`: a test's pass, a contract's
components in its regime, a deadline's last day): nothing is recomputed with today's rules,
so a later change of a parameter or a ruleset leaves past reports unchanged. With ``as_of``
it gives the "foto" a report published on that date saw (only entries recorded by the end of
that day). Facts are counted by their effective date (the day they happened). Classification
(target group, region, agency) is the one in force *when the fact was recorded*: the latest
``target_group_decided`` before it in the dossier's journal. Journals of release 0.1 are read
through :mod:`engine.upcast`.

Definitions (year Y, horizon H = ``as_of``, or the latest business date in the journal):

``registrations`` (000 Q1)
    ``registered`` facts dated in Y, by agency/region and target group.
``first_registrations`` (000 Q1, Tabel 1, in its shape)
    persons whose first ``registered`` fact is dated in Y ("unieke eerste aanmeldingen"), per
    reporting region and, within it, per office of registration (the ``office`` recorded with the
    fact; its name and region from the dated ``agency_offices`` list on the registration day; a
    registration without an office is counted under its region as ``office`` None), by target
    group: ``obligated`` (plicht), ``entitled`` (recht), ``undetermined`` (onbepaald: any other or
    no decision), ``total``. Every region is listed, in the order of Tabel 1; offices only when they
    have a registration.
``centrumsteden`` (000 Q1, "opdeling voor de centrumsteden")
    the same persons per centrumstad: the municipality (NIS code) the newcomer lived in on the
    registration day — the import's code and the moves recorded before the fact — in the dated
    ``centrumsteden`` list of that day. All 13 are listed, then their total.
``advice`` (000 Q2)
    ``intake_recorded`` facts dated in Y, by advice and target group (shares per target group).
``vdab_within_2_months`` (001 §6)
    contracts (``contract_signed``) dated in Y whose regime requires ``vdab`` and whose window
    (contract + the ``vdab_months`` recorded with it, the last timely day) ended on or before H;
    fulfilled in time when ``vdab_registered``/``vdab_exempted`` (also before the contract) or an
    automatic fulfilment (pension age) is dated on or before the last timely day;
    ``share_by_horizon`` counts fulfilment up to H. Suspensions are not counted (a
    statistical, not a legal, window). ``pending``: contracts whose window is still open.
``attest_duration_months`` (001 §10)
    attests (``attest_issued``, ``attest_on`` in Y): months from the contract date to
    ``attest_on`` (whole calendar months plus the fraction of the next month), median
    overall, by advice (``none`` without an intake) and by target group.
``mo_tests`` (004 Q1)
    MO tests (``test_judged``, not the exemption test) dated in Y, passed as recorded (the pass
    rule of the test's day); per test and per person (a person passed when one test in Y passed).
``attests`` (004 Q3)
    ``attest_issued`` facts with ``attest_on`` in Y, by target group and agency.
``first_infractions`` (001 §11)
    dossiers whose first ``infraction_established`` (withdrawn ones left out) is dated in Y, by type.
``handed_over`` / ``first_handed_over`` (001 §11, "per jaar van doorsturen")
    infractions handed to enforcement in Y by type (recalled hand-overs left out); dossiers
    whose first hand-over is in Y.

Formats: :func:`format_table` (an English developer table, as the simulation prints it),
:func:`to_csv` (tidy: section,row,measure,value). The chart and the tables people read are drawn in
their language by ``api/web/charts.py`` (Dutch by default).
"""
from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from sqlmodel import func, select

from rules import dates, offices, parameters

from .models import JournalEntry
from .projection import read
from .replay import Recorded, SourceStore

__all__ = ["report", "format_table", "to_csv", "tables", "months_between", "TARGET_GROUPS",
           "REGIONS", "REGISTRATION_GROUPS"]

TARGET_GROUPS = ("obligated", "entitled", "excluded")
#: the columns of seed 000's Tabel 1: plicht, recht, onbepaald
REGISTRATION_GROUPS = ("obligated", "entitled", "undetermined")
#: the reporting regions in the order of seed 000's Tabel 1 (TRAJECTORY.md §1)
REGIONS = ("antwerpen_stad", "gent_stad", "provincie_antwerpen", "limburg", "oost_vlaanderen", "vlaams_brabant",
           "west_vlaanderen", "brussel")
#: the journal kinds the report reads (release 0.1's kinds too: they are read through engine/upcast.py)
_KINDS = ("import", "target_group_decided", "registered", "intake_recorded", "contract_signed", "vdab_registered",
          "vdab_exempted", "component_fulfilled", "deadline_armed", "test_judged", "attest_issued",
          "infraction_established", "infraction_closed", "handed_over",
          "rule_decision", "command", "newcomer_changed")


# ---------------------------------------------------------------- helpers


def months_between(start: date, end: date) -> float:
    """Whole calendar months from ``start`` to ``end`` plus the elapsed fraction of the next month."""
    if end < start:
        return -months_between(end, start)
    whole = (end.year - start.year) * 12 + end.month - start.month
    while whole > 0 and dates.add_months(start, whole) > end:
        whole -= 1
    anchor = dates.add_months(start, whole)
    following = dates.add_months(start, whole + 1)
    return whole + (end - anchor).days / (following - anchor).days


def _share(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def _median(values: list[float]) -> Optional[float]:
    return round(statistics.median(values), 2) if values else None


def _in_year(day: Optional[date], year: int) -> bool:
    return day is not None and day.year == year


@dataclass
class _Classification:
    target_group: Optional[str] = None
    region: Optional[str] = None
    agency: Optional[str] = None


@dataclass
class _Fact:
    """A recorded fact with the dossier's classification when it was recorded."""

    seq: int
    on: date
    who: _Classification
    fact: object
    #: the dossier's municipality on the fact's day, by the moves recorded before it (``registered`` only)
    nis_code: Optional[str] = None


@dataclass
class _History:
    """One dossier's recorded facts the reports need, by kind, each with its classification."""

    by_kind: dict = field(default_factory=lambda: defaultdict(list))
    withdrawn: set = field(default_factory=set)  # infraction ids
    recalled_hand_overs: set = field(default_factory=set)  # infraction ids

    def of(self, kind: str) -> list:
        return self.by_kind.get(kind, [])

    def last_before(self, kind: str, seq: int) -> Optional[_Fact]:
        found = [f for f in self.of(kind) if f.seq < seq]
        return found[-1] if found else None


def _histories(entries: list[tuple[str, Recorded]]) -> dict[str, _History]:
    out: dict[str, _History] = {}
    current: dict[str, _Classification] = {}
    municipalities: dict[str, list] = {}  # dossier → [(day it applies from or None, NIS code)], recorded order
    for dossier_id, entry in entries:
        history = out.setdefault(dossier_id, _History())
        for stored in read([entry]):
            fact = stored.fact
            if fact.kind == "target_group_decided":
                current[dossier_id] = _Classification(fact.target_group, fact.region, fact.agency)
                continue
            if fact.kind == "import":
                municipalities[dossier_id] = [(None, fact.newcomer.get("nis_code"))]
                continue
            if fact.kind == "newcomer_changed":
                if fact.field == "nis_code":
                    municipalities.setdefault(dossier_id, []).append((fact.on, fact.value))
                continue
            if fact.kind == "infraction_closed":
                if fact.outcome == "withdrawn":
                    history.withdrawn.add(fact.infraction)
                if fact.recalled_hand_over is not None:
                    history.recalled_hand_overs.add(fact.infraction)
            who = current.setdefault(dossier_id, _Classification())
            item = _Fact(stored.seq, stored.effective, who, fact)
            if fact.kind == "registered":
                item.nis_code = _municipality_on(municipalities.get(dossier_id, []), stored.effective)
            history.by_kind[fact.kind].append(item)
    return out


def _municipality_on(moves: list, day: Optional[date]) -> Optional[str]:
    """The NIS code in force on ``day`` among the recorded ones (the import's, then each move from its day)."""
    code = None
    for since, moved_to in moves:
        if since is None or day is None or since <= day:
            code = moved_to
    return code


def _by_group() -> dict:
    return {group: 0 for group in TARGET_GROUPS}


def _group(who: _Classification) -> str:
    return who.target_group if who.target_group in TARGET_GROUPS else "excluded"


# ---------------------------------------------------------------- the report


def report(source, year: int, as_of: Optional[date] = None) -> dict:
    """The yearly figures for ``year`` from the recorded facts of ``source`` (Engine, URL, SQLAlchemy
    engine or Session); with ``as_of``, only what was recorded by the end of that day (the "foto" a
    report published then saw). Nothing is recomputed: every decision is read as it was recorded."""
    if as_of is not None and not isinstance(as_of, date):
        raise TypeError(f"as_of must be a date, got {as_of!r}")
    store = SourceStore(source)
    try:
        until = as_of.isoformat() if as_of else None
        entries = store.entries(kinds=_KINDS, until_date=until)
        with store.session() as session:
            query = select(func.max(JournalEntry.business_date))
            if until:
                query = query.where(JournalEntry.business_date <= until)
            latest = session.exec(query).one()
    finally:
        store.close()
    horizon = date.fromisoformat(until or latest) if (until or latest) else date(year, 12, 31)
    histories = _histories(entries)
    return {
        "year": year,
        "as_of": until,
        "horizon": horizon.isoformat(),
        "dossiers": len(histories),
        "journal_entries_read": len(entries),
        "registrations": _registrations(histories, year),
        **_first_registrations(histories, year),
        "advice": _advice(histories, year),
        "vdab_within_2_months": _vdab(histories, year, horizon),
        "attest_duration_months": _attest_durations(histories, year),
        "mo_tests": _mo_tests(histories, year),
        "attests": _attests(histories, year),
        "first_infractions": _first_infractions(histories, year),
        "handed_over": _handed_over(histories, year),
        "first_handed_over": _first_handed_over(histories, year),
    }


def _registrations(histories: dict[str, _History], year: int) -> dict:
    rows: dict[tuple, dict] = {}
    total = {**_by_group(), "total": 0}
    for history in histories.values():
        for item in history.of("registered"):
            if not _in_year(item.on, year):
                continue
            key = (item.who.agency, item.who.region)
            row = rows.setdefault(key, {"agency": key[0], "region": key[1], **_by_group(), "total": 0})
            group = _group(item.who)
            row[group] += 1
            row["total"] += 1
            total[group] += 1
            total["total"] += 1
    ordered = sorted(rows.values(), key=lambda r: (r["agency"] or "", r["region"] or ""))
    return {"rows": ordered, "total": total}


def _registration_counts(**keys) -> dict:
    return {**keys, **{group: 0 for group in REGISTRATION_GROUPS}, "total": 0}


def _count_registration(row: dict, who: _Classification) -> None:
    group = who.target_group if who.target_group in ("obligated", "entitled") else "undetermined"
    row[group] += 1
    row["total"] += 1


def _first_registrations(histories: dict[str, _History], year: int) -> dict:
    """000 Q1 in the shape of its Tabel 1 (per region and office) and its centrumsteden breakdown."""
    regions = {region: _registration_counts(region=region, offices=[]) for region in REGIONS}
    office_rows: dict[tuple, dict] = {}
    total = _registration_counts()
    cities: dict[str, dict] = {}
    cities_total = _registration_counts()
    latest = date(year, 12, 31)
    for history in histories.values():
        found = history.of("registered")
        if not found:
            continue
        first = min(found, key=lambda item: (item.on, item.seq))
        if not _in_year(first.on, year):
            continue
        code = getattr(first.fact, "office", None)
        office = offices.office_on(code, first.on) if code else None
        region = office.region if office else first.who.region
        row = regions.setdefault(region, _registration_counts(region=region, offices=[]))
        key = (region, code)
        if key not in office_rows:
            office_rows[key] = _registration_counts(office=code, name=office.name if office else None)
            row["offices"].append(office_rows[key])
        for bucket in (row, office_rows[key], total):
            _count_registration(bucket, first.who)
        city = offices.centrumstad_of(first.nis_code, first.on)
        if city is not None:
            bucket = cities.setdefault(city, _registration_counts(city=city))
            _count_registration(bucket, first.who)
            _count_registration(cities_total, first.who)
    for row in regions.values():  # offices by name; registrations without an office last
        row["offices"].sort(key=lambda r: (r["office"] is None, r["name"] or "", r["office"] or ""))
    ordered = [regions[r] for r in REGIONS] + [r for k, r in regions.items() if k not in REGIONS]
    listed = offices.centrumsteden_on(latest)  # the 13 of the year's end, then any other seen in the year
    city_rows = [cities.get(city) or _registration_counts(city=city) for city in listed]
    city_rows += [row for city, row in cities.items() if city not in listed]
    return {"first_registrations": {"rows": ordered, "total": total},
            "centrumsteden": {"rows": city_rows, "total": cities_total}}


def _advice(histories: dict[str, _History], year: int) -> dict:
    counts: dict[str, dict] = {}
    totals = {**_by_group(), "total": 0}
    for history in histories.values():
        for item in history.of("intake_recorded"):
            if not _in_year(item.on, year):
                continue
            advice = item.fact.advice or "none"
            row = counts.setdefault(advice, {"advice": advice, **_by_group(), "total": 0})
            group = _group(item.who)
            row[group] += 1
            row["total"] += 1
            totals[group] += 1
            totals["total"] += 1
    rows = []
    for advice in sorted(counts):
        row = counts[advice]
        row["share"] = _share(row["total"], totals["total"])
        for group in ("obligated", "entitled"):
            row[f"share_{group}"] = _share(row[group], totals[group])
        rows.append(row)
    return {"rows": rows, "total": totals}


def _vdab_window(contract: _Fact) -> date:
    """The statistical two-month window of a contract: the months recorded with it (or, for a contract
    of release 0.1, which recorded none, the months of the parameter on its day)."""
    cited = (contract.fact.law or {}).get("vdab_months")
    months = cited["value"] if cited else parameters.value("vdab_months", contract.on)
    return dates.last_timely_day(contract.on, months=months)


def _vdab(histories: dict[str, _History], year: int, horizon: date) -> dict:
    def empty() -> dict:
        return {"contracts": 0, "within": 0, "fulfilled_by_horizon": 0, "pending": 0}

    overall = empty()
    by_group: dict[str, dict] = {}
    for history in histories.values():
        for contract in history.of("contract_signed"):
            if not _in_year(contract.on, year) or "vdab" not in (contract.fact.required or []):
                continue
            last = _vdab_window(contract)
            group = by_group.setdefault(_group(contract.who), empty())
            if last > horizon:
                overall["pending"] += 1
                group["pending"] += 1
                continue
            done = [i.on for i in history.of("vdab_registered") + history.of("vdab_exempted")]
            done += [i.on for i in history.of("component_fulfilled")
                     if i.fact.component == "vdab" and i.fact.by not in ("not_in_contract", "not_in_regime")]
            first = min((d for d in done if d <= horizon), default=None)
            for bucket in (overall, group):
                bucket["contracts"] += 1
                bucket["within"] += first is not None and first <= last
                bucket["fulfilled_by_horizon"] += first is not None
    for bucket in (overall, *by_group.values()):
        bucket["share"] = _share(bucket["within"], bucket["contracts"])
        bucket["share_by_horizon"] = _share(bucket["fulfilled_by_horizon"], bucket["contracts"])
    return {**overall, "by_target_group": dict(sorted(by_group.items()))}


def _attest_durations(histories: dict[str, _History], year: int) -> dict:
    overall: list[float] = []
    by_advice: dict[str, list] = defaultdict(list)
    by_group: dict[str, list] = defaultdict(list)
    for history in histories.values():
        for attest in history.of("attest_issued"):
            if not _in_year(attest.on, year):
                continue
            contract = history.last_before("contract_signed", attest.seq + 1)
            if contract is None:
                continue
            months = months_between(contract.on, attest.on)
            intake = history.last_before("intake_recorded", attest.seq + 1)
            advice = (intake.fact.advice if intake else None) or "none"
            overall.append(months)
            by_advice[advice].append(months)
            by_group[_group(attest.who)].append(months)

    def summary(values: list[float]) -> dict:
        return {"n": len(values), "median": _median(values)}

    return {**summary(overall),
            "by_advice": {k: summary(v) for k, v in sorted(by_advice.items())},
            "by_target_group": {k: summary(v) for k, v in sorted(by_group.items())}}


def _mo_tests(histories: dict[str, _History], year: int) -> dict:
    def empty() -> dict:
        return {"tests": 0, "passed": 0, "persons": 0, "persons_passed": 0}

    overall = empty()
    by_group: dict[str, dict] = {}
    for history in histories.values():
        person: dict[str, bool] = {}
        for item in history.of("test_judged"):
            if item.fact.component != "mo" or item.fact.test != "test" or not _in_year(item.on, year):
                continue
            passed = bool(item.fact.passed)  # as judged when recorded, by the rule of its day
            group = _group(item.who)
            bucket = by_group.setdefault(group, empty())
            for b in (overall, bucket):
                b["tests"] += 1
                b["passed"] += passed
            person[group] = person.get(group, False) or passed
        if person:
            passed_any = any(person.values())
            overall["persons"] += 1
            overall["persons_passed"] += passed_any
            group = next(reversed(person))  # the target group at the person's last test
            by_group[group]["persons"] += 1
            by_group[group]["persons_passed"] += passed_any
    for bucket in (overall, *by_group.values()):
        bucket["pass_rate"] = _share(bucket["passed"], bucket["tests"])
        bucket["person_pass_rate"] = _share(bucket["persons_passed"], bucket["persons"])
    return {**overall, "by_target_group": dict(sorted(by_group.items()))}


def _attests(histories: dict[str, _History], year: int) -> dict:
    by_group: Counter = Counter()
    by_agency: Counter = Counter()
    for history in histories.values():
        for attest in history.of("attest_issued"):
            if _in_year(attest.on, year):
                by_group[_group(attest.who)] += 1
                by_agency[attest.who.agency or "none"] += 1
    return {"total": sum(by_group.values()), "by_target_group": dict(sorted(by_group.items())),
            "by_agency": dict(sorted(by_agency.items()))}


def _infractions(history: _History) -> list:
    """Infractions as recorded, without the withdrawn ones (they never legally existed)."""
    return [i for i in history.of("infraction_established") if i.fact.infraction not in history.withdrawn]


def _hand_overs(history: _History) -> list:
    return [h for h in history.of("handed_over") if h.fact.infraction not in history.recalled_hand_overs]


def _first_infractions(histories: dict[str, _History], year: int) -> dict:
    by_type: Counter = Counter()
    for history in histories.values():
        found = _infractions(history)
        if found:
            first = min(found, key=lambda item: (item.on, item.seq))
            if _in_year(first.on, year):
                by_type[first.fact.type] += 1
    return {"total": sum(by_type.values()), "by_type": dict(sorted(by_type.items()))}


def _handed_over(histories: dict[str, _History], year: int) -> dict:
    by_type: Counter = Counter()
    for history in histories.values():
        for item in _hand_overs(history):
            if _in_year(item.on, year):
                by_type[item.fact.type] += 1
    return {"total": sum(by_type.values()), "by_type": dict(sorted(by_type.items()))}


def _first_handed_over(histories: dict[str, _History], year: int) -> dict:
    by_type: Counter = Counter()
    for history in histories.values():
        found = _hand_overs(history)
        if found:
            first = min(found, key=lambda item: (item.on, item.seq))
            if _in_year(first.on, year):
                by_type[first.fact.type] += 1
    return {"total": sum(by_type.values()), "by_type": dict(sorted(by_type.items()))}


# ---------------------------------------------------------------- output formats


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def tables(rep: dict) -> list[tuple[str, str, list[str], list[list]]]:
    """The report as tables: ``(section, title, headers, rows)``; the first column is the row key."""
    y = rep["year"]
    out = []
    reg = rep["registrations"]
    out.append(("registrations", f"Registrations in {y} by agency/region and target group (000 Q1)",
                ["agency/region", *TARGET_GROUPS, "total"],
                [[f"{r['agency'] or '-'}/{r['region'] or '-'}", *(r[g] for g in TARGET_GROUPS), r["total"]]
                 for r in reg["rows"]] + [["total", *(reg["total"][g] for g in TARGET_GROUPS),
                                           reg["total"]["total"]]]))
    first = rep["first_registrations"]
    groups = list(REGISTRATION_GROUPS)
    rows = []
    for region in first["rows"]:
        rows.append([f"region={region['region'] or '-'}", *(region[g] for g in groups), region["total"]])
        for office in region["offices"]:
            rows.append([f"office={office['office'] or '-'}", *(office[g] for g in groups), office["total"]])
    rows.append(["total", *(first["total"][g] for g in groups), first["total"]["total"]])
    out.append(("first_registrations", f"Persons with a first registration in {y}, by region, office of "
                                       f"registration and target group (000 Q1, Tabel 1)",
                ["region/office", *groups, "total"], rows))
    cities = rep["centrumsteden"]
    out.append(("centrumsteden", f"Persons with a first registration in {y} per centrumstad (000 Q1)",
                ["centrumstad", *groups, "total"],
                [[f"city={c['city']}", *(c[g] for g in groups), c["total"]] for c in cities["rows"]]
                + [["total", *(cities["total"][g] for g in groups), cities["total"]["total"]]]))
    adv = rep["advice"]
    out.append(("advice", f"Advice at intake in {y} (000 Q2)",
                ["advice", "obligated", "share_obligated", "entitled", "share_entitled", "total", "share"],
                [[r["advice"], r["obligated"], r["share_obligated"], r["entitled"], r["share_entitled"],
                  r["total"], r["share"]] for r in adv["rows"]]
                + [["total", adv["total"]["obligated"], None, adv["total"]["entitled"], None,
                    adv["total"]["total"], None]]))
    vdab = rep["vdab_within_2_months"]
    out.append(("vdab_within_2_months", f"VDAB registration within 2 months of a contract signed in {y} (001 §6)",
                ["target_group", "contracts", "within", "share", "fulfilled_by_horizon", "share_by_horizon",
                 "pending"],
                [[g, b["contracts"], b["within"], b["share"], b["fulfilled_by_horizon"], b["share_by_horizon"],
                  b["pending"]] for g, b in vdab["by_target_group"].items()]
                + [["total", vdab["contracts"], vdab["within"], vdab["share"], vdab["fulfilled_by_horizon"],
                    vdab["share_by_horizon"], vdab["pending"]]]))
    dur = rep["attest_duration_months"]
    out.append(("attest_duration_months", f"Median months from contract to attest, attests in {y} (001 §10)",
                ["group", "n", "median_months"],
                [[f"advice={k}", v["n"], v["median"]] for k, v in dur["by_advice"].items()]
                + [[f"target_group={k}", v["n"], v["median"]] for k, v in dur["by_target_group"].items()]
                + [["total", dur["n"], dur["median"]]]))
    mo = rep["mo_tests"]
    out.append(("mo_tests", f"MO test results in {y} (004 Q1)",
                ["target_group", "tests", "passed", "pass_rate", "persons", "persons_passed", "person_pass_rate"],
                [[g, b["tests"], b["passed"], b["pass_rate"], b["persons"], b["persons_passed"],
                  b["person_pass_rate"]] for g, b in mo["by_target_group"].items()]
                + [["total", mo["tests"], mo["passed"], mo["pass_rate"], mo["persons"], mo["persons_passed"],
                    mo["person_pass_rate"]]]))
    att = rep["attests"]
    out.append(("attests", f"Attests issued in {y} (004 Q3)", ["group", "attests"],
                [[f"target_group={k}", v] for k, v in att["by_target_group"].items()]
                + [[f"agency={k}", v] for k, v in att["by_agency"].items()] + [["total", att["total"]]]))
    for section, title in (("first_infractions", f"Dossiers with their first infraction established in {y} (001 §11)"),
                           ("handed_over", f"Infractions handed over to enforcement in {y}"),
                           ("first_handed_over", f"Dossiers first handed over to enforcement in {y} (001 §11)")):
        part = rep[section]
        out.append((section, title, ["type", "dossiers" if section != "handed_over" else "infractions"],
                    [[k, v] for k, v in part["by_type"].items()] + [["total", part["total"]]]))
    return out


def _cell(header: str, value) -> str:
    if value is None:
        return "–"
    if header.startswith("share") or header.endswith("rate"):
        return _pct(value)
    return str(value)


def _row_label(key, names: dict) -> str:
    """A row key for reading: an office by its name, indented under its region (seed 000's Tabel 1)."""
    kind, _, code = str(key).partition("=")
    if kind == "office":
        return "  " + ("(office not recorded)" if code == "-" else names.get(code) or code)
    return code if kind in ("region", "city") else str(key)


def format_table(rep: dict) -> str:
    """A plain-text rendering (fixed-width tables, shares as percentages)."""
    lines = [f"Inburgering report {rep['year']} — "
             + (f"as journaled on {rep['as_of']}" if rep["as_of"] else f"journal up to {rep['horizon']}")
             + f" — {rep['dossiers']} dossiers"]
    names = {o["office"]: o["name"] for r in rep["first_registrations"]["rows"] for o in r["offices"]}
    for _, title, headers, rows in tables(rep):
        rows = [[_row_label(row[0], names), *row[1:]] for row in rows]
        cells = [headers] + [[_cell(h, v) for h, v in zip(headers, row)] for row in rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(headers))]
        lines += ["", title, "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                                        for i, (h, w) in enumerate(zip(headers, widths))),
                  "  ".join("-" * w for w in widths)]
        for row in cells[1:]:
            lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines) + "\n"


def to_csv(rep: dict) -> str:
    """Tidy CSV: ``section,row,measure,value`` (shares as fractions, empty when undefined)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["year", "as_of", "section", "row", "measure", "value"])
    for section, _, headers, rows in tables(rep):
        for row in rows:
            for header, value in zip(headers[1:], row[1:]):
                writer.writerow([rep["year"], rep["as_of"] or "", section, row[0], header,
                                 "" if value is None else value])
    return buffer.getvalue()

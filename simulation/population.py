"""A deterministic synthetic population of adult newcomers for one year, calibrated on the
2023 annual report (seed 001; figures and citations in :mod:`simulation.calibration`).

Each person is a newcomer dict (``engine/schemas/newcomer.json``; NIS codes valid per
``rules/geography.py``) plus a list of dated events in the scenario event format
(``shared/scenarios/README.md`` "Events"), i.e. one conformance scenario per person
(:meth:`Person.scenario`).

How it is built (``generate(year, scale, seed)``):

1. **Facts.** The inflow (001 §2: 54,786 × scale) is split over the seven Flemish
   regions (Figuur 2.1.2) and over residence statuses (Tabel 2.3.1). Statuses that can
   carry the obligation (refugees, family of third-country nationals or of Belgians, ...)
   form the "O" class, sized per region so that — after the exemptions the facts carry
   (age 65+, diploma, attest, EU+ second nationality, ...) — the obligated share lands on
   23 % overall, 15 % in Vlaams-Brabant and 30 % in Antwerpen stad (Figuur 2.3.5, 2.3.6).
   Movers from Brussels/Wallonia follow Figuur 2.4.1/2.4.2.
2. **Target group.** Each person's target group is decided by the real ruleset
   (:func:`rules.target_group.decide`) on the generated facts — the planner only uses it
   to choose behaviour (obligated newcomers register on time more often, ...); the driver
   imports through the real import, which decides again and journals it.
3. **Behaviour.** Registration delays (§10.1), contract within a month (§10.2), advice
   (§4.5), VDAB (§6), MO exemption test and course (§5.1-5.3), NT2 durations by advice
   (§5.9, Tabel 10.3), infractions (§11), B1 (no published figures: ASSUMPTIONs).
   Shares are *dealt* (largest-remainder quotas over a shuffled list), not drawn one by
   one, so a small scale keeps the published shares instead of their sampling noise.

Every random choice comes from ``random.Random`` seeded with the seed and a stage name:
the same (year, scale, seed) gives the same population on every machine. Dates of
infractions, notices and hand-overs that the planner needs (to schedule an officer's
decision after a hand-over) use the same legal date arithmetic as the engine
(:mod:`rules.dates`, dated parameters), as any scenario author would.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist
from typing import Callable, Optional

from rules import b1 as b1_rules
from rules import dates as legal
from rules import geography, offices, parameters, target_group
from rules.components import at_or_above_pension_age

from . import calibration as cal

__all__ = ["Person", "Population", "generate", "quotas"]

# ----------------------------------------------------------------------------- municipalities (REFNIS)

NIS_CODES = {
    "antwerpen_stad": ["11002"],
    "gent_stad": ["44021"],
    "provincie_antwerpen": ["11001", "11005", "11008", "11029", "11040", "12021", "12025", "12040", "13008",
                            "13011", "13025", "13040"],
    "vlaams_brabant": ["23002", "23016", "23025", "23027", "23077", "23088", "23094", "24001", "24020",
                       "24062", "24107"],
    "west_vlaanderen": ["31005", "33011", "34022", "34027", "35013", "36015", "37015", "38025"],
    "oost_vlaanderen": ["41002", "41018", "42006", "42025", "43005", "44020", "45035", "46021"],
    "limburg": ["71004", "71016", "71022", "71053", "72020", "73006", "73083", "73107"],
    "brussel": ["21001", "21004", "21012", "21015"],
}
#: Walloon municipalities: a move there takes the newcomer outside the area (excluded, outside_area).
OUTSIDE_AREA = ["62063", "52011", "92094", "57081", "25072"]

# ----------------------------------------------------------------------------- statuses (Tabel 2.3.1)

EU_PLUS = {"RO": 28, "NL": 16, "BG": 10, "PL": 10, "ES": 8, "FR": 7, "IT": 6, "PT": 5, "DE": 4, "HU": 2,
           "GR": 2, "SK": 1, "LT": 1}
NATIONALITIES = {  # ASSUMPTION: plausible mixes after 001 Tabel 2.3.2 and Figuur 2.2.3/2.2.4
    "recognised_refugee": {"AF": 30, "SY": 25, "ER": 12, "PS": 10, "TR": 6, "SO": 5, "IR": 4, "IQ": 4, "YE": 2,
                           "SD": 2},
    "subsidiary_protection": {"AF": 40, "SY": 20, "PS": 15, "IQ": 10, "SO": 10, "YE": 5},
    "family_reunification_refugee": {"AF": 35, "SY": 25, "ER": 15, "PS": 10, "SO": 10, "IQ": 5},
    "family_reunification_subsidiary": {"AF": 60, "SY": 20, "SO": 10, "IQ": 10},
    "family_reunification_third_country": {"MA": 20, "IN": 14, "TR": 12, "BR": 5, "CM": 5, "PK": 5, "PH": 5,
                                           "US": 5, "NP": 4, "TN": 4, "DZ": 4, "RU": 4, "CN": 3, "SY": 3, "AF": 2},
    "family_reunification_belgian": {"MA": 25, "TR": 12, "AF": 8, "BR": 6, "CM": 5, "TN": 5, "DZ": 5, "TH": 5,
                                     "CD": 5, "IN": 5, "RU": 5, "PH": 4, "US": 3, "UA": 2},
    "family_reunification_eu": {"MA": 15, "BR": 15, "UA": 10, "TR": 10, "AL": 10, "RS": 10, "IN": 10, "US": 10,
                                "CO": 10},
    "student_third_country": {"CN": 20, "IN": 20, "IR": 8, "TR": 8, "NG": 6, "PK": 6, "US": 6, "CM": 6, "BR": 5,
                              "ET": 5, "ID": 5, "VN": 5},
    "labour_migrant_third_country": {"IN": 30, "TR": 20, "US": 8, "BR": 6, "PH": 6, "CN": 5, "UA": 5, "JP": 4,
                                     "RU": 4, "MX": 4, "ZA": 4, "MA": 4},
    "regularised": {"MA": 25, "CD": 15, "AM": 10, "TR": 10, "RU": 10, "DZ": 10, "GN": 10, "CM": 10},
    "other_third_country": {"MA": 15, "TR": 15, "AF": 10, "IN": 10, "BR": 10, "US": 10, "CN": 10, "RU": 10,
                            "UA": 10},
    "temporary_protection": {"UA": 100},
    "temporary_purpose": {"PH": 20, "US": 15, "CA": 10, "AU": 10, "NZ": 5, "JP": 10, "KR": 10, "MA": 10, "UA": 10},
}
TEMPORARY_PURPOSES = ("working_holiday", "au_pair", "seasonal_worker", "temporary_worker_short",
                      "exchange_student_short", "discretionary_short")

#: Statuses of Tabel 2.3.1 that can carry the obligation (third-country nationals with a durable
#: residence, Belgian newcomers): the "O" class. "andere reden derdelander", the 140 "onbepaald" and
#: 29 of the 249 "overige" are counted as other third-country nationals (ASSUMPTION).
O_FIXED = {
    "recognised_refugee": 3_826,
    "family_reunification_belgian": 3_121,
    "family_reunification_refugee": 932,
    "other_third_country": 636 + 140 + 29,
    "regularised": 348,
    "family_reunification_subsidiary": 213,
    "belgian_newcomer": 203,
    "subsidiary_protection": 195,
}
#: The rest of the inflow (entitled by their status or nationality, or excluded). 220 of the 249
#: "overige" are temporary purposes of stay (excluded): that makes 54,786 - 12,812 - 41,754 = 220.
E_FIXED = {
    "labour_migrant_eu": 15_548,
    "temporary_protection": 4_791,
    "student_third_country": 4_668,
    "sufficient_means_eu": 4_361,
    "labour_migrant_third_country": 3_862,
    "family_reunification_eu": 2_699,
    "student_eu": 1_888,
    "eu_provisional": 989,
    "temporary_purpose": 220,
}
FAMILY_THIRD_COUNTRY = 6_117  # split between O (sponsor durable) and E (sponsor a temporary migrant), 001 §4.4
#: Share of the family members of EU+ citizens who are EU+ nationals themselves: 001 §2.2 (24,518 EU+)
#: minus the EU+ statuses of Tabel 2.3.1 (22,786) over the 2,699 family members of EU+ citizens.
FAMILY_EU_WITH_EU_NATIONALITY = (cal.EU_PLUS_INFLOW - 22_786) / 2_699

#: ASSUMPTION: exemption evidence in the O class (TRAJECTORY.md §2), besides age 65+.
O_EVIDENCE = {"diploma_be_nl": 0.012, "reception_education": 0.008, "has_attest": 0.005,
              "illness_disability": 0.005, "free_movement": 0.002, "eu_dual_nationality": 0.003}
#: Age on the obligation start: 45 % 18-29 (001 §2.3 Figuur 2.3.1; "the higher the age category, the
#: smaller the group"); the other shares are an ASSUMPTION.
AGE_BUCKETS = {(18, 29): 0.45, (30, 39): 0.29, (40, 49): 0.14, (50, 64): 0.095, (65, 75): 0.025}
#: ASSUMPTION: relative obligated shares of the regions without a published share (001 §2.3 Fig. 2.3.6
#: names only the lowest and the highest; West-Vlaanderen receives, with Antwerpen stad, the most
#: obligated newcomers in absolute numbers; Amal (Gent) has the largest entitled share, §4.4).
OBLIGATED_WEIGHT = {"west_vlaanderen": 1.25, "provincie_antwerpen": 1.0, "limburg": 1.0, "oost_vlaanderen": 1.0,
                    "gent_stad": 0.85}
MOVED_IN_FROM = {"brussels": 0.55, "french_area": 0.43, "german_area": 0.02}  # ASSUMPTION

# ----------------------------------------------------------------------------- behaviour (ASSUMPTIONs unless cited)

#: Obligated registration: most within the 3-month deadline; the late ones mostly regularise within
#: the notice period; a few are handed over once (r_handed_over), twice (r_twice: also
#: late_registration_after_infraction) or never register and move out of the area (r_never). Sized so
#: that the obligated first infraction dossiers are about 5.7 % of the obligated inflow (001 §11.1:
#: 734 of 12,812), with irregular participation the most frequent type (Figuur 11.1.2).
OBLIGATED_REGISTRATION = {"r_month": 0.40, "r_3m": 0.465, "r_regularised": 0.11, "r_handed_over": 0.010,
                          "r_twice": 0.005, "r_never": 0.010}
#: Registration delay buckets (001 §10.1): within 1 month, 1-3 months, 3-12 months, more than a year.
REGISTRATION_BUCKETS = {"m1": cal.REGISTRATION_WITHIN_1_MONTH,
                        "m3": cal.REGISTRATION_WITHIN_3_MONTHS - cal.REGISTRATION_WITHIN_1_MONTH,
                        "m12": 1 - cal.REGISTRATION_WITHIN_3_MONTHS - cal.REGISTRATION_AFTER_1_YEAR,
                        "late": cal.REGISTRATION_AFTER_1_YEAR}
#: Flemish registrations (001 §3.1: 30,106 minus 3,130 in Brussels) per inflow: the entitled
#: registrants are what remains after the obligated ones.
REGISTRATION_RATE = (cal.REGISTRATIONS - cal.REGISTRATIONS_BRUSSELS) / cal.INFLOW_TOTAL
OBLIGATED_CONTRACT = {"contract": 0.955, "refused_regularised": 0.005, "refused_handed_over": 0.003,
                      "no_contract_moves": 0.037}
#: 001 §4.4: about 3 in 4 entitled newcomers do not start; of the Flemish entitled registrants ~75 % sign.
ENTITLED_CONTRACT = {"contract": 0.75, "no_contract": 0.25}
CONTRACT_DELAY = {"c_month": cal.CONTRACT_WITHIN_1_MONTH, "c_3m": 0.12,
                  "c_late": 1 - cal.CONTRACT_WITHIN_1_MONTH - 0.12}
DROPOUT = {"obligated": 0.02, "entitled": 0.10}  # 001 §5.2 (drop-outs), §9
#: Low-literate newcomers are more often obligated (001 Inleiding, footnote 4): the obligated advice
#: profile (ASSUMPTION); the entitled profile is what makes the overall shares those of §4.5.
OBLIGATED_ADVICE = {"cbe_alfa": 0.12, "cbe": 0.055, "cbe_nt2": 0.09, "cvo_extended": 0.11, "cvo_standard": 0.46,
                    "cvo_short_utc": 0.165}
VDAB_EXEMPT_OBLIGATED = 0.24  # ASSUMPTION; the entitled share makes the 34 % of 001 §6
#: Non-exempt VDAB timing (001 §6, Tabel 6.1, rounded to the 76 % of the text). The obligated are in
#: time as often as the rest (so that the share does not depend on the mix of a year's contracts) and,
#: when late, register within the notice period: only 14 VDAB infraction dossiers in 2023 (§11.1).
VDAB_OVERALL = {"within": cal.VDAB_WITHIN_2_MONTHS, "v_window": 0.055, "v_3_6": 0.07, "v_6p": 0.045, "v_never": 0.07}
VDAB_OBLIGATED = {"v_before": 0.11, "v_within": 0.62, "v_exempt_event": 0.03, "v_window": 0.238, "v_handed": 0.002}
VDAB_WITHIN_SPLIT = {"v_before": 0.15, "v_within": 0.80, "v_exempt_event": 0.05}
#: MO: exemption test 5,563 / 24,912 contracts, 83 % pass, 8 % exempt at the contract (001 §5.1).
MO_ROUTE = {"mo_exempt_before": cal.MO_EXEMPT_AT_CONTRACT, "mo_exempt_after": 0.10, "mo_exempt_failed": 0.04,
            "course": 0.78}
#: First-attempt / retest results, so that the persons' pass rate lands on 97 % / 90 % (001 §5.2).
#: ``fail_drop``: fails and stops (001 §5.2 counts drop-outs as not passed).
MO_RESULT = {"obligated": {"pass1": 0.945, "pass2": 0.03, "pass3": 0.005, "fail_drop": 0.02},
             "entitled": {"pass1": 0.86, "pass2": 0.05, "pass3": 0.01, "fail_drop": 0.08}}
MO_WAIT_MONTHS = {(0, 3): 0.78, (3, 6): 0.16, (6, 12): 0.04, (12, 18): 0.02}  # 001 §5.3
#: NT2: months from contract to A2 ~ lognormal around the median months to attest per advice of
#: Tabel 10.3 (the attest waits for A2 above all, §10.3), spread ``NT2_SIGMA`` (ASSUMPTION).
NT2_SIGMA = 0.55
#: The attest waits for the last component (max of MO, NT2, VDAB, PNT): NT2 runs a little shorter than
#: the attest medians; obligated newcomers take longer (Tabel 10.3: 15 vs 10 months overall).
NT2_GROUP_FACTOR = {"obligated": 1.05, "entitled": 0.86}
NT2_FAILED_FIRST = 0.12
TRAJECTORY_INFRACTIONS = {"irregular_regularised": 0.003, "irregular_handed_over": 0.028,
                          "refused_test_regularised": 0.0015, "refused_test_handed_over": 0.0015,
                          "pnt_regularised": 0.001, "pnt_handed_over": 0.001}
ENTITLED_LOW_ATTENDANCE = 0.03  # reported, but no infraction for the entitled since the 2022 reform (§11)
LIFE_EVENTS = {"suspended": 0.02, "moved_within": 0.015, "moved_to_brussels": 0.004}
#: B1 check at attest + 24 months (003 §F). No published figures yet (001 Inleiding): ASSUMPTION.
B1_ROUTE = {"activity": 0.55, "b1_pass": 0.25, "b1_fail_pass": 0.05, "b1_proof": 0.03,
            "b1_infraction_regularised": 0.036, "b1_infraction_handed_over": 0.084}
#: 001 §11.1 Figuur 11.1.3: a fine in 47 % of the decisions; the split of the rest is an ASSUMPTION.
DECISIONS = {"fine": cal.FINE_SHARE, "no_fine": 0.40, "no_follow_up": 1 - cal.FINE_SHARE - 0.40}
FINES_EUR = (100, 150, 200, 250, 300, 400, 500)


# ----------------------------------------------------------------------------- helpers


def quotas(n: int, weights: dict) -> dict:
    """Split ``n`` over the keys of ``weights`` by largest remainder (ties: key order)."""
    total = sum(weights.values())
    if n <= 0 or total <= 0:
        return {k: 0 for k in weights}
    exact = {k: n * w / total for k, w in weights.items()}
    out = {k: math.floor(v) for k, v in exact.items()}
    rest = n - sum(out.values())
    order = sorted(weights, key=lambda k: (-(exact[k] - out[k]), list(weights).index(k)))
    for k in order[:rest]:
        out[k] += 1
    return out


def deal(rng: random.Random, items: list, weights: dict) -> dict:
    """Assign each item a category: exact quotas over a shuffled copy (item → category)."""
    shuffled = list(items)
    rng.shuffle(shuffled)
    out, i = {}, 0
    for category, count in quotas(len(shuffled), weights).items():
        for item in shuffled[i:i + count]:
            out[item] = category
        i += count
    return out


def pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randint(0, (last - first).days))


def am(day: date, months: int) -> date:
    return legal.add_months(day, months)


def months_later(start: date, months: float) -> date:
    whole = int(months)
    anchor = am(start, whole)
    return anchor + timedelta(days=round((months - whole) * 30.44))


def notice_period_last(established: date) -> date:
    """Last day to regularise after the notice issued on ``established`` (TRAJECTORY.md §6.1)."""
    return legal.last_timely_day(established, days=parameters.value("regularisation_days", established))


def hand_over_day(established: date) -> date:
    """The day a not-regularised infraction established on ``established`` is handed over (§6.3)."""
    return legal.day_established(notice_period_last(established))


# ----------------------------------------------------------------------------- the population


@dataclass
class Person:
    newcomer: dict
    events: list = field(default_factory=list)
    plan: dict = field(default_factory=dict)  # planning notes (not sent to the engine)
    _seq: int = 0

    @property
    def id(self) -> str:
        return self.newcomer["id"]

    @property
    def start(self) -> date:
        return date.fromisoformat(self.newcomer["obligation_start"])

    def add(self, on: date, event_type: str, **fields) -> dict:
        event = {"on": on.isoformat(), "type": event_type, **fields}
        self._seq += 1
        event["_order"] = (on, self._seq)
        self.events.append(event)
        return event

    def finish(self) -> None:
        self.events.sort(key=lambda e: e["_order"])
        for event in self.events:
            del event["_order"]

    def scenario(self, until: date) -> dict:
        """This person as a conformance scenario (``shared/scenarios/README.md``) up to ``until``."""
        return {"name": self.id, "newcomer": self.newcomer,
                "events": [e for e in self.events if e["on"] <= until.isoformat()], "until": until.isoformat()}


@dataclass
class Population:
    year: int
    scale: float
    seed: int
    persons: list

    def __len__(self) -> int:
        return len(self.persons)

    def events(self, until: Optional[date] = None) -> int:
        limit = until.isoformat() if until else "9999"
        return sum(1 for p in self.persons for e in p.events if e["on"] <= limit)

    def planned(self) -> Counter:
        return Counter(p.plan.get("target_group") for p in self.persons)


def generate(year: int = 2023, scale: float = 1.0, seed: int = 1,
             on_progress: Optional[Callable[[int, int], None]] = None, *, workers: int = 1) -> Population:
    """The synthetic adult inflow of ``year`` at ``scale`` (1.0 = 54,786 newcomers), deterministic in ``seed``.

    ``workers`` > 1: the target-group decisions (three quarters of the time) are shared with
    ``workers - 1`` processes when there are enough newcomers to repay starting them
    (:data:`PARALLEL_DECISIONS`); the population is the same."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    if workers < 1:
        raise ValueError("workers must be 1 or more")
    n = max(1, round(cal.INFLOW_TOTAL * scale))
    persons = _facts(year, n, seed)
    _decide(persons, on_progress, workers)
    _Planner(year, seed, persons).plan()
    for person in persons:
        person.finish()
    return Population(year, scale, seed, persons)


def _rng(seed: int, stage: str) -> random.Random:
    return random.Random(f"inburgering-simulation:{seed}:{stage}")


def exemption_rate() -> float:
    """Expected share of the O class that the rules exempt (evidence, or 65+ on the obligation start)."""
    evidence = sum(O_EVIDENCE.values())
    return evidence + (1 - evidence) * AGE_BUCKETS[(65, 75)]


def obligated_shares() -> dict[str, float]:
    """Target obligated share per region: the two published ones, the others scaled to the total."""
    fixed = cal.OBLIGATED_SHARE_BY_REGION
    fixed_count = sum(cal.INFLOW_BY_REGION[r] * s for r, s in fixed.items())
    rest = {r: cal.INFLOW_BY_REGION[r] * w for r, w in OBLIGATED_WEIGHT.items()}
    factor = (cal.OBLIGATED_INFLOW - fixed_count) / sum(rest.values())
    return {**fixed, **{r: w * factor for r, w in OBLIGATED_WEIGHT.items()}}


def _facts(year: int, n: int, seed: int) -> list[Person]:
    rng = _rng(seed, "facts")
    scale = n / cal.INFLOW_TOTAL
    keep = 1 - exemption_rate()
    regions = quotas(n, cal.INFLOW_BY_REGION)
    shares = obligated_shares()
    o_total = min(n, round(cal.OBLIGATED_INFLOW * scale / keep))
    o_by_region = quotas(o_total, {r: regions[r] * shares[r] for r in regions})
    slots = []
    for region in regions:
        o = min(o_by_region[region], regions[region])
        slots += [(region, "O")] * o + [(region, "E")] * (regions[region] - o)
    rng.shuffle(slots)
    o_slots = [i for i, s in enumerate(slots) if s[1] == "O"]
    e_slots = [i for i, s in enumerate(slots) if s[1] == "E"]
    o_published = cal.OBLIGATED_INFLOW / keep
    o_weights = {**O_FIXED, "family_reunification_third_country": max(0.0, o_published - sum(O_FIXED.values()))}
    e_weights = {**E_FIXED, "family_of_temporary_migrant": FAMILY_THIRD_COUNTRY - o_weights[
        "family_reunification_third_country"]}
    status = {**deal(rng, o_slots, o_weights), **deal(rng, e_slots, e_weights)}
    evidence = deal(rng, o_slots, {**O_EVIDENCE, "none": 1 - sum(O_EVIDENCE.values())})
    ages = deal(rng, list(range(n)), AGE_BUCKETS)
    movers: dict[int, str] = {}
    for cls, count, spread in (("O", cal.OBLIGATED_MOVERS / keep, cal.OBLIGATED_MOVERS_BY_REGION),
                               ("E", cal.ENTITLED_MOVERS, cal.ENTITLED_MOVERS_BY_REGION)):
        per_region = quotas(round(count * scale), spread)
        for region, k in per_region.items():
            members = [i for i in (o_slots if cls == "O" else e_slots) if slots[i][0] == region
                       and status[i] != "temporary_purpose"]
            rng.shuffle(members)
            for i in members[:k]:
                movers[i] = pick(rng, MOVED_IN_FROM)
    first_day = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first_day).days
    persons = []
    for i, (region, cls) in enumerate(slots):
        start = first_day + timedelta(days=rng.randrange(days))
        low, high = ages[i]
        age = rng.randint(low, high)
        birth = am(start, -12 * age) - timedelta(days=rng.randint(0, 364))
        kind = status[i]
        newcomer = {"id": f"SIM{year}-{i + 1:06d}", "birth_date": birth.isoformat(), "nationalities": [],
                    "residence": kind, "nis_code": rng.choice(NIS_CODES[region]),
                    "obligation_start": start.isoformat()}
        if kind == "family_of_temporary_migrant":
            newcomer["residence"] = "family_reunification_third_country"
            newcomer["evidence"] = ["family_of_temporary_migrant"]
            newcomer["nationalities"] = [pick(rng, NATIONALITIES["family_reunification_third_country"])]
        elif kind == "temporary_purpose":
            newcomer["residence"] = rng.choice(TEMPORARY_PURPOSES)
            newcomer["nationalities"] = [pick(rng, NATIONALITIES["temporary_purpose"])]
        elif kind == "belgian_newcomer":
            newcomer["nationalities"] = ["BE"]
            newcomer["belgian_born_abroad"] = True
        elif kind in ("labour_migrant_eu", "sufficient_means_eu", "student_eu", "eu_provisional"):
            newcomer["nationalities"] = [pick(rng, EU_PLUS)]
        elif kind == "family_reunification_eu":
            eu = rng.random() < FAMILY_EU_WITH_EU_NATIONALITY
            newcomer["nationalities"] = [pick(rng, EU_PLUS if eu else NATIONALITIES[kind])]
        else:
            newcomer["nationalities"] = [pick(rng, NATIONALITIES[kind])]
        proof = evidence.get(i, "none")
        if cls == "O" and proof == "eu_dual_nationality":
            newcomer["nationalities"].append(pick(rng, EU_PLUS))
        elif cls == "O" and proof != "none":
            newcomer["evidence"] = [proof]
        if i in movers:
            newcomer["moved_in_from"] = movers[i]
        persons.append(Person(newcomer, plan={"class": cls, "status": kind, "region": region}))
    return persons


#: the fewest newcomers whose decisions :func:`generate` shares with other processes (a process
#: starts in about half a second; a decision takes about 0.13 ms)
PARALLEL_DECISIONS = 10_000


def _decide(persons: list[Person], on_progress, workers: int = 1) -> None:
    """Each person's target group and agency, as the rules decide them on the obligation start.

    With ``workers`` > 1 and at least :data:`PARALLEL_DECISIONS` persons, the persons are cut in
    ``workers`` parts and all but the first are decided in processes of their own, under the
    package's law (only when that is the law in force here: a caller's other law stays in this
    process); a decision depends on the person and the law alone, so the result is the same."""
    parallel = (workers > 1 and len(persons) >= PARALLEL_DECISIONS
                and parameters.current() is parameters.default_law())
    if not parallel:
        _decide_here(persons, on_progress, len(persons))
        return
    from concurrent.futures import ProcessPoolExecutor

    from engine.workers import spawn_context

    size = -(-len(persons) // workers)
    parts = [persons[i:i + size] for i in range(0, len(persons), size)]
    with ProcessPoolExecutor(len(parts) - 1, mp_context=spawn_context()) as pool:
        elsewhere = [pool.submit(decisions, [(p.newcomer, p.start) for p in part]) for part in parts[1:]]
        _decide_here(parts[0], on_progress, len(persons))
        done = len(parts[0])
        for part, future in zip(parts[1:], elsewhere):
            for person, (group, agency) in zip(part, future.result()):
                person.plan["target_group"], person.plan["agency"] = group, agency
            done += len(part)
            if on_progress:
                on_progress(done, len(persons))


def _decide_here(persons: list[Person], on_progress, total: int) -> None:
    """:func:`_decide` in this process, for the first persons of ``total``."""
    for number, person in enumerate(persons, start=1):
        decision = target_group.decide(person.newcomer, person.start)
        person.plan["target_group"] = decision.target_group
        person.plan["agency"] = decision.agency
        if on_progress and number % 500 == 0:
            on_progress(number, total)


def decisions(items: list[tuple[dict, date]]) -> list[tuple[str, Optional[str]]]:
    """(target group, agency) of each (newcomer, obligation start), under the package's law (a worker
    process of :func:`_decide`)."""
    out = []
    for newcomer, start in items:
        decision = target_group.decide(newcomer, start)
        out.append((decision.target_group, decision.agency))
    return out


# ----------------------------------------------------------------------------- behaviour


class _Planner:
    def __init__(self, year: int, seed: int, persons: list[Person]):
        self.year = year
        self.seed = seed
        self.persons = persons
        self.decisions: list[dict] = []  # enforcement_decision events, decisions dealt at the end

    def rng(self, stage: str) -> random.Random:
        return _rng(self.seed, stage)

    def group(self, name: str) -> list[int]:
        return [i for i, p in enumerate(self.persons) if p.plan["target_group"] == name]

    def plan(self) -> None:
        obligated, entitled = self.group("obligated"), self.group("entitled")
        registrants = self._registration(obligated, entitled)
        signers = self._contracts(registrants)
        self._trajectories(signers)
        self._deal_decisions()
        self._offices()

    # ----- office of registration (seed 000 Q1, Tabel 1) ---------------------------------
    def _offices(self) -> None:
        """Each registration names an office serving the region the person lives in on its day (the moves
        planned before it), picked in the proportions of seed 000's Tabel 1 (2020); its own random stage,
        so the other stages draw exactly as before."""
        rng = self.rng("office")
        for person in self.persons:
            for event in person.events:
                if event["type"] != "registered":
                    continue
                on = event["on"]
                code = person.newcomer["nis_code"]
                for moved in sorted((e for e in person.events if e["type"] == "moved"), key=lambda e: e["on"]):
                    if moved["on"] <= on:
                        code = moved["nis_code"]
                where = geography.locate(code)
                serving = offices.offices_of_region(where.region if where else None, date.fromisoformat(on))
                weights = [cal.OFFICE_REGISTRATIONS_2020.get(o.code, 1) for o in serving]
                if serving:
                    event["office"] = rng.choices(serving, weights=weights)[0].code

    # ----- registration (001 §10.1) ---------------------------------------------
    def _registration(self, obligated: list[int], entitled: list[int]) -> list[int]:
        rng = self.rng("registration")
        kinds = deal(rng, obligated, OBLIGATED_REGISTRATION)
        registered = []
        buckets = Counter()
        for i in obligated:
            person = self.persons[i]
            kind = kinds[i]
            person.plan["registration"] = kind
            start = person.start
            last = legal.last_timely_day(start, months=parameters.value("registration_months", start))
            established = legal.day_established(last)
            hand = hand_over_day(established)
            reregistration_last = legal.last_timely_day(hand, months=parameters.value("reregistration_months", hand))
            if kind == "r_month":
                on = between(rng, start, am(start, 1))
            elif kind == "r_3m":
                on = between(rng, am(start, 1) + timedelta(days=1), last)
            elif kind == "r_regularised":
                on = between(rng, established, notice_period_last(established))
            elif kind == "r_handed_over":
                on = between(rng, hand, reregistration_last)
                self.decision(person, "late_registration", hand)
            elif kind == "r_twice":
                established2 = legal.day_established(reregistration_last)
                hand2 = hand_over_day(established2)
                on = between(rng, hand2, hand2 + timedelta(days=75))
                self.decision(person, "late_registration", hand)
                self.decision(person, "late_registration_after_infraction", hand2)
            else:  # r_never: leaves the area after the hand-over, before a second infraction
                leave = between(rng, hand + timedelta(days=10), min(hand + timedelta(days=80),
                                                                    legal.day_established(reregistration_last)
                                                                    - timedelta(days=1)))
                self.decision(person, "late_registration", hand, before=leave)
                person.add(leave, "moved", nis_code=rng.choice(OUTSIDE_AREA))
                continue
            person.plan["registered_on"] = on
            person.add(on, "registered")
            registered.append(i)
            buckets[_bucket(start, on)] += 1
        # Entitled registrants: the Flemish registrations minus the obligated ones; their delays make the
        # overall distribution that of 001 §10.1.
        total_registrants = min(len(registered) + len(entitled),
                                max(len(registered), round(len(self.persons) * REGISTRATION_RATE)))
        chosen = [i for i, k in deal(rng, entitled, {"yes": total_registrants - len(registered),
                                                     "no": len(entitled) - total_registrants + len(registered)}
                                     ).items() if k == "yes"]
        want = quotas(total_registrants, REGISTRATION_BUCKETS)
        residual = {b: max(0, want[b] - buckets[b]) for b in REGISTRATION_BUCKETS}
        ent_buckets = deal(rng, sorted(chosen), quotas(len(chosen), residual) if sum(residual.values())
                           else REGISTRATION_BUCKETS)
        for i in sorted(chosen):
            person = self.persons[i]
            start = person.start
            bucket = ent_buckets[i]
            if bucket == "m1":
                on = between(rng, start, am(start, 1))
            elif bucket == "m3":
                on = between(rng, am(start, 1) + timedelta(days=1), am(start, 3))
            elif bucket == "m12":
                on = between(rng, am(start, 3) + timedelta(days=1), am(start, 12))
            else:
                on = between(rng, am(start, 12) + timedelta(days=1), am(start, 30))
            person.plan["registration"] = bucket
            person.plan["registered_on"] = on
            person.add(on, "registered")
            registered.append(i)
        return sorted(registered)

    # ----- contract (001 §4, §10.2) -----------------------------------------------
    def _contracts(self, registrants: list[int]) -> list[int]:
        rng = self.rng("contract")
        obligated = [i for i in registrants if self.persons[i].plan["target_group"] == "obligated"]
        entitled = [i for i in registrants if self.persons[i].plan["target_group"] == "entitled"]
        kinds = {**deal(rng, obligated, OBLIGATED_CONTRACT), **deal(rng, entitled, ENTITLED_CONTRACT)}
        plain = [i for i in registrants if kinds[i] == "contract"]
        ob_set = set(obligated)
        delays = {**deal(rng, [i for i in plain if i in ob_set], CONTRACT_DELAY),
                  **deal(rng, [i for i in plain if i not in ob_set], CONTRACT_DELAY)}
        signers = []
        for i in registrants:
            person = self.persons[i]
            reg = person.plan["registered_on"]
            kind = kinds[i]
            person.plan["contract"] = kind
            if kind == "no_contract":
                continue
            if kind == "no_contract_moves":  # leaves the area (after any pending decision: no annulment)
                person.add(_after_decisions(person, between(rng, reg + timedelta(days=60), reg + timedelta(days=365))),
                           "moved", nis_code=rng.choice(OUTSIDE_AREA))
                continue
            if kind == "contract":
                delay = delays[i]
                if delay == "c_month":
                    on = between(rng, reg, am(reg, 1))
                elif delay == "c_3m":
                    on = between(rng, am(reg, 1) + timedelta(days=1), am(reg, 3))
                else:
                    on = between(rng, am(reg, 3) + timedelta(days=1), am(reg, 9))
            else:  # refused the intake or the contract first (caseworker record)
                refused = reg + timedelta(days=rng.randint(3, 15))
                person.add(refused, "refused_intake_or_contract")
                if kind == "refused_regularised":
                    on = between(rng, refused + timedelta(days=1), notice_period_last(refused))
                else:
                    hand = hand_over_day(refused)
                    self.decision(person, "refused_intake_or_contract", hand)
                    on = between(rng, hand + timedelta(days=1), hand + timedelta(days=60))
            person.plan["contract_on"] = on
            signers.append(i)
        return signers

    # ----- the trajectory (001 §4.5, §5, §6, §10.3, §11) --------------------------
    def _trajectories(self, signers: list[int]) -> None:
        rng = self.rng("trajectory")
        persons = self.persons
        for i in signers:
            plan = persons[i].plan
            reg, contract = plan["registered_on"], plan["contract_on"]
            plan["intake_on"] = reg if rng.random() < 0.4 else between(rng, reg, contract)
        # Shares are dealt per stratum (in the year / later), so that the year's own report sees the
        # published mix although the obligated register and sign earlier than the entitled.
        in_year = lambda key: (lambda i: persons[i].plan[key].year == self.year)  # noqa: E731
        advice = {}
        for stratum in _strata(signers, in_year("intake_on")):
            advice.update(self._advice(rng, stratum))
        vdab = {}
        for stratum in _strata(signers, in_year("contract_on")):
            vdab.update(self._vdab_routes(rng, stratum))
        by_group = {g: [i for i in signers if persons[i].plan["target_group"] == g] for g in ("obligated", "entitled")}
        dropout = {}
        for g, members in by_group.items():
            dropout.update(deal(rng, members, {"drop": DROPOUT[g], "stay": 1 - DROPOUT[g]}))
        mo_route = deal(rng, signers, MO_ROUTE)
        # MO course: first test date first, then results dealt per group among the first tests of the year
        # and the later ones (the report counts a year's tests: 001 §5.2 pass rates).
        takers = [i for i in signers if dropout[i] == "stay" and mo_route[i] in ("course", "mo_exempt_failed")]
        for i in takers:
            plan = persons[i].plan
            base = plan["contract_on"]
            if mo_route[i] == "mo_exempt_failed":
                base = between(rng, base + timedelta(days=1), base + timedelta(days=45))
                plan["mo_exemption_failed_on"] = base
            low, high = pick(rng, MO_WAIT_MONTHS)
            plan["mo_first_test"] = (months_later(base, rng.uniform(low, high))
                                     + timedelta(days=cal.MO_COURSE_DAYS + rng.randint(-7, 10)))
        mo_result = {}
        for g in ("obligated", "entitled"):
            members = [i for i in takers if persons[i].plan["target_group"] == g]
            for stratum in _strata(members, in_year("mo_first_test")):
                mo_result.update(deal(rng, stratum, MO_RESULT[g]))
        nt2_route = deal(rng, signers, {"a2_already": cal.NT2_A2_AT_CONTRACT, "course": 1 - cal.NT2_A2_AT_CONTRACT})
        # NT2 durations: evenly spaced quantiles of the lognormal per advice, group and contract year
        # (a stratified sample), so that even a small scale has the published spread (Tabel 10.3).
        learners = [i for i in signers if dropout[i] == "stay" and nt2_route[i] == "course"]
        cells: dict = {}
        for i in learners:
            plan = persons[i].plan
            cells.setdefault((advice[i], plan["target_group"], plan["contract_on"].year == self.year), []).append(i)
        normal = NormalDist()
        for key in sorted(cells):
            members = cells[key]
            rng.shuffle(members)
            for k, i in enumerate(members):
                persons[i].plan["nt2_z"] = normal.inv_cdf((k + 0.5) / len(members))
        staying_obligated = [i for i in by_group["obligated"] if dropout[i] == "stay"]
        infractions = deal(rng, staying_obligated, {**TRAJECTORY_INFRACTIONS,
                                                    "none": 1 - sum(TRAJECTORY_INFRACTIONS.values())})
        low_attendance = deal(rng, [i for i in by_group["entitled"] if dropout[i] == "stay"],
                              {"low": ENTITLED_LOW_ATTENDANCE, "none": 1 - ENTITLED_LOW_ATTENDANCE})
        quiet = [i for i in signers if dropout[i] == "stay" and infractions.get(i, "none") == "none"
                 and vdab[i] not in ("v_handed", "v_never")]
        life = deal(rng, quiet, {**LIFE_EVENTS, "none": 1 - sum(LIFE_EVENTS.values())})
        b1_candidates = []
        for i in signers:
            person = persons[i]
            done = self._one_trajectory(rng, person, advice[i], dropout[i], vdab[i], mo_route[i], mo_result.get(i),
                                        nt2_route[i], infractions.get(i, "none"), low_attendance.get(i, "none"),
                                        life.get(i, "none"))
            if done is not None:
                b1_candidates.append(i)
        routes = deal(rng, b1_candidates, B1_ROUTE)
        for i in b1_candidates:
            self._b1(rng, persons[i], routes[i])

    def _advice(self, rng: random.Random, members: list[int]) -> dict:
        """Obligated profile; the entitled get what makes the published shares of 001 §4.5."""
        obligated = [i for i in members if self.persons[i].plan["target_group"] == "obligated"]
        entitled = [i for i in members if self.persons[i].plan["target_group"] != "obligated"]
        want = quotas(len(members), cal.ADVICE_SHARES)
        out = deal(rng, obligated, OBLIGATED_ADVICE)
        got = Counter(out.values())
        residual = {a: max(0, want[a] - got[a]) for a in cal.ADVICE_SHARES}
        out.update(deal(rng, entitled, quotas(len(entitled), residual) if sum(residual.values())
                        else cal.ADVICE_SHARES))
        return out

    def _vdab_routes(self, rng: random.Random, members: list[int]) -> dict:
        """001 §6: 34 % exempt (not in the contract); of the others 76 % in time, Tabel 6.1 for the rest."""
        persons = self.persons
        old = [i for i in members if legal.age_on(_birth(persons[i]), persons[i].plan["contract_on"]) >= 63]
        old_set = set(old)
        ob = [i for i in members if persons[i].plan["target_group"] == "obligated" and i not in old_set]
        ent = [i for i in members if persons[i].plan["target_group"] != "obligated" and i not in old_set]
        out = {i: "exempt" for i in old}
        ob_exempt = deal(rng, ob, {"exempt": VDAB_EXEMPT_OBLIGATED, "non_exempt": 1 - VDAB_EXEMPT_OBLIGATED})
        exempt_want = round(len(members) * cal.VDAB_EXEMPT)
        ent_exempt_n = max(0, min(len(ent), exempt_want - len(old) - sum(v == "exempt" for v in ob_exempt.values())))
        ent_exempt = deal(rng, ent, {"exempt": ent_exempt_n, "non_exempt": len(ent) - ent_exempt_n})
        out.update({i: "exempt" for i, v in {**ob_exempt, **ent_exempt}.items() if v == "exempt"})
        ob_non = [i for i in ob if i not in out]
        ent_non = [i for i in ent if i not in out]
        out.update(deal(rng, ob_non, VDAB_OBLIGATED))
        got = Counter(out[i] for i in ob_non)
        want = quotas(len(ob_non) + len(ent_non), VDAB_OVERALL)
        ent_within = max(0, min(len(ent_non), want["within"] - got["v_before"] - got["v_within"]
                                - got["v_exempt_event"]))
        late = {k: w for k, w in VDAB_OVERALL.items() if k != "within"}
        residual = {"within": ent_within, **quotas(len(ent_non) - ent_within, late)}
        routes = deal(rng, ent_non, residual)
        within_split = deal(rng, [i for i in ent_non if routes[i] == "within"], VDAB_WITHIN_SPLIT)
        for i in ent_non:
            out[i] = within_split.get(i, routes[i])
        return out

    def _one_trajectory(self, rng, person: Person, advice, dropout, vdab, mo_route, mo_result, nt2_route,
                        infraction, low_attendance, life) -> Optional[date]:
        plan = person.plan
        group = plan["target_group"]
        reg, contract = plan["registered_on"], plan["contract_on"]
        plan.update(advice=advice, vdab=vdab, mo=mo_route, nt2=nt2_route, dropout=dropout)
        intake = plan["intake_on"]
        person.add(intake, "intake", advice=advice)
        # --- before the contract: MO exemption test, VDAB registration
        mo_done: Optional[date] = None
        if mo_route in ("mo_exempt_before",):
            person.add(between(rng, intake, contract), "mo_exemption_test", **_mo_scores(rng, True))
        vdab_done: Optional[date] = None
        if vdab == "v_before" and contract > reg:
            person.add(between(rng, reg, contract - timedelta(days=1)), "vdab_registered")
            vdab_done = contract
        elif vdab == "v_before":
            vdab = "v_within"
        components = []
        if mo_route != "mo_exempt_before":
            components.append("mo")
        if nt2_route == "course":
            components.append("nt2")
        if vdab != "exempt":
            components.append("vdab")
        pnt = group == "obligated" and bool(parameters.value("pnt_component", contract))
        if pnt:
            components.append("pnt")
        if not components:  # no empty contracts since the 2022 reform: MO is listed (and already fulfilled)
            components.append("mo")
        person.add(contract, "contract_signed", components=components)
        # --- VDAB after the contract
        vdab_last = legal.last_timely_day(contract, months=parameters.value("vdab_months", contract))
        if vdab == "exempt":
            vdab_done = contract
        elif vdab == "v_within":
            vdab_done = between(rng, contract, vdab_last)
            person.add(vdab_done, "vdab_registered")
        elif vdab == "v_exempt_event":
            vdab_done = between(rng, contract, vdab_last)
            person.add(vdab_done, "vdab_exempt", reason=rng.choice(("working", "working", "unfit_for_work")))
        elif vdab == "v_window":
            established = legal.day_established(vdab_last)
            vdab_done = between(rng, established, notice_period_last(established))
            person.add(vdab_done, "vdab_registered")
        elif vdab == "v_handed":
            hand = hand_over_day(legal.day_established(vdab_last))
            vdab_done = between(rng, hand + timedelta(days=1), hand + timedelta(days=90))
            person.add(vdab_done, "vdab_registered")
            self.decision(person, "late_vdab_registration", hand)
        elif vdab == "v_3_6":
            vdab_done = between(rng, am(contract, 3) + timedelta(days=1), am(contract, 6))
            person.add(vdab_done, "vdab_registered")
        elif vdab == "v_6p":
            vdab_done = between(rng, am(contract, 6) + timedelta(days=1), am(contract, 14))
            person.add(vdab_done, "vdab_registered")
        # v_never: no registration, no attest
        if dropout == "drop":
            if group == "obligated":  # leaves the area (after the VDAB step, if any)
                after = max(contract, vdab_done or contract)
                leave = between(rng, after + timedelta(days=30), after + timedelta(days=270))
                person.add(_after_decisions(person, leave), "moved", nis_code=rng.choice(OUTSIDE_AREA))
                return None
            return None
        # --- MO (001 §5.1-5.3)
        if mo_route == "mo_exempt_before":
            mo_done = contract
        elif mo_route == "mo_exempt_after":
            mo_done = between(rng, contract + timedelta(days=1), contract + timedelta(days=60))
            person.add(mo_done, "mo_exemption_test", **_mo_scores(rng, True))
        else:
            if mo_route == "mo_exempt_failed":
                person.add(plan["mo_exemption_failed_on"], "mo_exemption_test", **_mo_scores(rng, False))
            mo_done = self._mo_course(rng, person, plan["mo_first_test"], mo_result)
        # --- NT2 (001 §5.9, Tabel 10.3)
        nt2_done = contract
        if nt2_route == "course":
            median = cal.ATTEST_MEDIAN_BY_ADVICE[advice] * NT2_GROUP_FACTOR[group]
            months = max(3.0, median * math.exp(NT2_SIGMA * plan["nt2_z"]))
            nt2_done = months_later(contract, months)
        suspended = None
        if life == "suspended" and nt2_route == "course" and vdab_done and (nt2_done - vdab_done).days > 120:
            start = between(rng, vdab_done + timedelta(days=1), nt2_done - timedelta(days=90))
            end = start + timedelta(days=rng.randint(30, 120))
            suspended = (start, end)
            nt2_done = nt2_done + (end - start) + timedelta(days=1)
        # --- PNT (obligated, contract since pnt_component)
        pnt_done = contract
        if pnt:
            latest = nt2_done - timedelta(days=7) if nt2_route == "course" else contract + timedelta(days=150)
            pnt_done = between(rng, contract + timedelta(days=30), max(contract + timedelta(days=30),
                                                                      min(latest, contract + timedelta(days=300))))
        # --- infractions during the trajectory (obligated) and low attendance (entitled, no infraction)
        if infraction != "none":
            nt2_done, pnt_done = self._trajectory_infraction(rng, person, infraction, contract, components, mo_done,
                                                             nt2_done, pnt_done)
        if low_attendance == "low" and "nt2" in components and (nt2_done - contract).days > 60:
            person.add(between(rng, contract + timedelta(days=30), nt2_done - timedelta(days=20)), "attendance",
                       component="nt2", percent=rng.randint(30, 75))
        if nt2_route == "course":
            if rng.random() < NT2_FAILED_FIRST and (nt2_done - contract).days > 120:
                failed_on = between(rng, contract + timedelta(days=60), nt2_done - timedelta(days=60))
                level = rng.choice(("A1", "below_A1"))
                # Taking a test after refusing one regularises the refusal (no hand-over): a newcomer planned
                # to be handed over for a refused NT2 test takes no test until the final one.
                refused_on = person.plan.get("nt2_test_refused_on")
                if refused_on is None or failed_on < refused_on:
                    person.add(failed_on, "test_result", component="nt2", level=level)
            person.add(nt2_done, "test_result", component="nt2", level="A2")
        if pnt:
            person.add(pnt_done, "pnt_hours", hours=40)
        if suspended:
            person.add(suspended[0], "suspended", **{"from": suspended[0].isoformat(), "to": suspended[1].isoformat()})
        if vdab_done is None or mo_done is None:
            return None
        attest = max(mo_done, nt2_done, vdab_done, pnt_done)
        plan["attest_on"] = attest
        # --- moves (no running deadline then)
        if life in ("moved_within", "moved_to_brussels") and (attest - vdab_done).days > 30:
            on = _after_decisions(person, between(rng, vdab_done + timedelta(days=1), attest - timedelta(days=7)))
            if on >= attest - timedelta(days=7):
                life = "none"  # an officer's decision is still pending then: no move
        if life in ("moved_within", "moved_to_brussels") and (attest - vdab_done).days > 30:
            if life == "moved_within":
                here = plan["region"]
                regions = {r: w for r, w in cal.INFLOW_BY_REGION.items() if r != here}
                region = pick(rng, regions)
            else:
                region = "brussel"
            person.add(on, "moved", nis_code=rng.choice(NIS_CODES[region]))
            plan["moved_to"] = region
            if region == "brussel":
                return None  # entitled from then on: no B1 check
        if group != "obligated" or not b1_rules.in_scope(group, contract):
            return None
        due = b1_rules.due_on(attest)
        if at_or_above_pension_age(_birth(person), due):
            return None
        plan["b1_due_on"] = due
        return due

    def _mo_course(self, rng, person: Person, test: date, result: str) -> Optional[date]:
        """MO test(s) after the course; the pass date, or None for a newcomer who fails and stops."""
        if result == "fail_drop":
            person.add(test, "test_result", component="mo", **_mo_scores(rng, False))
            return None
        for _ in range({"pass1": 0, "pass2": 1, "pass3": 2}[result]):
            person.add(test, "test_result", component="mo", **_mo_scores(rng, False))
            test = test + timedelta(days=rng.randint(45, 120))
        person.add(test, "test_result", component="mo", **_mo_scores(rng, True))
        return test

    def _trajectory_infraction(self, rng, person, kind, contract, components, mo_done, nt2_done, pnt_done):
        """Irregular participation, a refused test or PNT not fulfilled (obligated; 001 §11)."""
        component = "nt2" if "nt2" in components and (nt2_done - contract).days > 150 else None
        if kind.startswith("irregular") or kind.startswith("refused_test"):
            if component is None:
                return nt2_done, pnt_done
            on = between(rng, contract + timedelta(days=45), nt2_done - timedelta(days=100))
            if kind.startswith("irregular"):
                person.add(on, "attendance", component="nt2", percent=rng.randint(30, 75))
            else:
                person.add(on, "test_refused", component="nt2")
            if kind.endswith("regularised"):
                fix = between(rng, on + timedelta(days=5), notice_period_last(on) - timedelta(days=2))
                if kind.startswith("irregular"):
                    person.add(fix, "attendance", component="nt2", percent=rng.randint(80, 95))
                else:
                    person.add(fix, "test_result", component="nt2", level="A1")
            else:
                if kind.startswith("refused_test"):
                    person.plan["nt2_test_refused_on"] = on
                self.decision(person, "irregular_participation" if kind.startswith("irregular") else "refused_test",
                              hand_over_day(on))
            return nt2_done, pnt_done
        if "pnt" not in components:
            return nt2_done, pnt_done
        on = contract + timedelta(days=rng.randint(240, 330))
        person.add(on, "pnt_not_fulfilled")
        if kind.endswith("regularised"):
            pnt_done = between(rng, on + timedelta(days=5), notice_period_last(on) - timedelta(days=2))
        else:
            hand = hand_over_day(on)
            self.decision(person, "pnt_not_fulfilled", hand)
            pnt_done = between(rng, hand + timedelta(days=10), hand + timedelta(days=90))
        return nt2_done, pnt_done

    # ----- B1 (003 §F; ASSUMPTIONs) ------------------------------------------------
    def _b1(self, rng, person: Person, route: str) -> None:
        attest, due = person.plan["attest_on"], person.plan["b1_due_on"]
        person.plan["b1"] = route
        if route == "activity":
            first = between(rng, attest, am(due, -7))
            last = min(due, months_later(first, rng.uniform(6, 14)))
            person.add(last, "activity", kind=rng.choice(("work", "work", "work", "study", "training")),
                       **{"from": first.isoformat(), "to": last.isoformat()})
        elif route == "b1_pass":
            person.add(between(rng, am(attest, 6), due - timedelta(days=14)), "b1_test", passed=True)
        elif route == "b1_fail_pass":
            fail = between(rng, am(attest, 6), am(attest, 16))
            person.add(fail, "b1_test", passed=False)
            person.add(between(rng, fail + timedelta(days=60), due - timedelta(days=7)), "b1_test", passed=True)
        elif route == "b1_proof":
            person.add(between(rng, am(attest, 3), due - timedelta(days=7)), "b1_attained")
        else:
            established = legal.day_established(due)
            if route == "b1_infraction_regularised":
                person.add(between(rng, established + timedelta(days=3), notice_period_last(established)
                                   - timedelta(days=2)), "b1_test", passed=True)
            else:
                self.decision(person, "b1_not_attained", hand_over_day(established))

    # ----- enforcement (001 §11.1) ---------------------------------------------------
    def decision(self, person: Person, infraction: str, handed_over_on: date, *, before: Optional[date] = None):
        rng = self.rng(f"decision:{person.id}:{infraction}:{handed_over_on}")
        on = handed_over_on + timedelta(days=rng.randint(14, 120))
        if before is not None and on >= before:
            return None
        event = person.add(on, "enforcement_decision", infraction=infraction, decision="no_fine")
        person.plan["decided_until"] = max(on, person.plan.get("decided_until", on))
        self.decisions.append(event)
        return event

    def _deal_decisions(self) -> None:
        """In date order, each decision takes the kind furthest behind its share: every period that a run
        covers (up to any ``until``) holds the published mix to within one decision."""
        rng = self.rng("decisions")
        given = Counter()
        ordered = sorted(self.decisions, key=lambda e: (e["_order"][0], e["infraction"]))
        for number, event in enumerate(ordered, start=1):
            kind = max(DECISIONS, key=lambda k: (DECISIONS[k] * number - given[k], -list(DECISIONS).index(k)))
            given[kind] += 1
            event["decision"] = kind
            if kind == "fine":
                event["fine_eur"] = rng.choice(FINES_EUR)


def _mo_scores(rng: random.Random, passed: bool) -> dict:
    if passed:
        return {"core_percent": rng.randint(55, 100), "total_percent": rng.randint(55, 100)}
    if rng.random() < 0.5:
        return {"core_percent": rng.randint(15, 49), "total_percent": rng.randint(35, 70)}
    return {"core_percent": rng.randint(50, 80), "total_percent": rng.randint(20, 49)}


def _after_decisions(person: Person, day: date) -> date:
    """A move that may change the target group comes after the person's pending officer decisions."""
    decided = person.plan.get("decided_until")
    return max(day, decided + timedelta(days=1)) if decided else day


def _strata(members: list[int], key) -> list[list[int]]:
    inside = [i for i in members if key(i)]
    outside = [i for i in members if not key(i)]
    return [inside, outside]


def _birth(person: Person) -> date:
    return date.fromisoformat(person.newcomer["birth_date"])


def _bucket(start: date, on: date) -> str:
    if on <= am(start, 1):
        return "m1"
    if on <= am(start, 3):
        return "m3"
    if on <= am(start, 12):
        return "m12"
    return "late"

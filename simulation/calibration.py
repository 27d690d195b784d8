"""The published 2023 figures the simulation is calibrated on, with their seed citations,
and the comparison of a simulated run with them.

Seed: ``../shared/seeds/001_0a65420c9798f1a4.txt`` — *Jaarrapport Inburgering 2023*
(Agentschap Binnenlands Bestuur, 24.06.2024), cited as ``001 §n``. Every number below
is copied from that file; derived targets say how they are derived.

Two kinds of simulated figure are compared (see :func:`compare`):

* ``report`` — straight from the auditors' report, :func:`engine.reports.report` for the
  year (advice at intake, VDAB within 2 months, MO pass rate, attests, ...).
* ``cohort`` — figures the published report computes *looking back from* the year
  (registration delay of the registrations in 2023, months from contract to attest of the
  attests in 2023, ...). A one-year synthetic inflow has no earlier cohorts, so the year's
  own report cannot see them; with a constant inflow the look-back distribution equals the
  look-forward distribution of one cohort, which :func:`cohort_figures` measures from the
  journal (import, rule decisions, commands, attests, hand-overs — never the dossier rows).

Each indicator also has an **origin** (:attr:`Indicator.origin`): ``input`` when the population
generator alone determines it (a journal written straight from ``generate()``, without BPMN,
sweep or command, gives the same value: :mod:`simulation.origins`), ``engine`` when it needs what
only the engine decides (attests, hand-overs, recorded decisions). Only the engine-derived ones
say something about the engine; the inputs check that the engine carried the inflow faithfully.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Optional

SEED = "001_0a65420c9798f1a4.txt"

# ----------------------------------------------------------------------------- inflow (001 §2)

#: 001 §2.1 (Figuur 2.1.2 text): adult inflow 2023 per region of the Flemish Region
#: (cities not counted in their province). Sum = 54,786 = the inflow of 001 "Inleiding" and Tabel 2.3.1.
INFLOW_BY_REGION = {
    "vlaams_brabant": 11_475,
    "antwerpen_stad": 9_009,
    "provincie_antwerpen": 8_572,
    "west_vlaanderen": 8_109,
    "limburg": 6_593,
    "oost_vlaanderen": 6_481,
    "gent_stad": 4_547,
}
INFLOW_TOTAL = 54_786  # 001 Inleiding; §2.3 Tabel 2.3.1 "totaal"
assert sum(INFLOW_BY_REGION.values()) == INFLOW_TOTAL

#: 001 §2.3 Tabel 2.3.1 "Instroom 2023 naar verblijfsstatuut" (totaal column), Flemish Region.
INFLOW_BY_RESIDENCE_STATUS = {
    "arbeidsmigrant EU+": 15_548,
    "gezinsh. met derd.": 6_117,
    "tijdelijk ontheemde": 4_791,
    "student derdelander": 4_668,
    "beschik. vold. best. EU+": 4_361,
    "arbeidsmigrant derd.": 3_862,
    "erkend vluchteling": 3_826,
    "gezinshereniging met Belg": 3_121,
    "gezinshereniging met EU+": 2_699,
    "student EU+": 1_888,
    "EU+ voorlopig statuut": 989,
    "gezinsh. met erkend vlucht.": 932,
    "andere reden derdelander": 636,
    "geregulariseerd": 348,
    "gezinsher. met subs. besch.": 213,
    "Belg nieuwkomer": 203,
    "subsidiaire bescherming": 195,
    "onbepaald": 140,
    "overige": 249,
}
assert sum(INFLOW_BY_RESIDENCE_STATUS.values()) == INFLOW_TOTAL

#: 001 §2.3 Figuur 2.3.5: "41.754 of 76% ... rechthebbende en 12.812 of (23%) ... verplichte".
OBLIGATED_INFLOW = 12_812
ENTITLED_INFLOW = 41_754
#: 001 §2.3 Figuur 2.3.6: obligated share lowest in Vlaams-Brabant (15 %), highest in Antwerpen stad (30 %).
OBLIGATED_SHARE_BY_REGION = {"vlaams_brabant": 0.15, "antwerpen_stad": 0.30}
#: 001 §2.2: 24,518 EU+ (45 %) and 29,430 third-country nationals (54 %).
EU_PLUS_INFLOW = 24_518
#: 001 §2.3 Figuur 2.3.1: 45 % of the adult inflow is 18-29.
SHARE_AGED_18_29 = 0.45
#: 001 §2.4 Figuur 2.4.1: 2,837 obligated movers from Brussels/Wallonia, by region of settlement.
OBLIGATED_MOVERS = 2_837
OBLIGATED_MOVERS_BY_REGION = {"west_vlaanderen": 0.21, "antwerpen_stad": 0.19, "vlaams_brabant": 0.18,
                              "oost_vlaanderen": 0.16, "provincie_antwerpen": 0.11, "limburg": 0.09,
                              "gent_stad": 0.06}
#: 001 §2.4 Figuur 2.4.2: 3,189 entitled movers; 58 % Vlaams-Brabant, 10 % provincie Antwerpen,
#: 10 % Oost-Vlaanderen ("naar de andere regio's ... veel minder": the remaining 22 % spread evenly, ASSUMPTION).
ENTITLED_MOVERS = 3_189
ENTITLED_MOVERS_BY_REGION = {"vlaams_brabant": 0.58, "provincie_antwerpen": 0.10, "oost_vlaanderen": 0.10,
                             "west_vlaanderen": 0.055, "limburg": 0.055, "antwerpen_stad": 0.055,
                             "gent_stad": 0.055}

# ----------------------------------------------------------------------------- registration, contract (001 §3, §4, §10)

#: 001 §3.1: 30,106 first registrations in 2023 (Flanders and Brussels), of which Brussels 3,130.
REGISTRATIONS = 30_106
REGISTRATIONS_BRUSSELS = 3_130
#: 001 §10.1 Figuur 10.1.1: of the registrations in 2023, 32 % within a month of the inflow,
#: 59 % within 3 months, 18 % after a year or more.
REGISTRATION_WITHIN_1_MONTH = 0.32
REGISTRATION_WITHIN_3_MONTHS = 0.59
REGISTRATION_AFTER_1_YEAR = 0.18
#: Seed 000 (answer to question 181 of 2021), Tabel 1, "totaal" column: persons with a first registration
#: in 2020 per office of registration (codes of rules/parameters/agency_offices.yaml). The simulation picks
#: the office of a registration among the offices of the newcomer's region in these proportions.
OFFICE_REGISTRATIONS_2020 = {
    "atlas": 4440, "in_gent": 1514,
    "loket_boom": 126, "loket_geel": 46, "loket_herentals": 101, "loket_hoogstraten": 42, "loket_kapellen": 173,
    "loket_lier": 190, "loket_mechelen": 399, "loket_mol": 89, "loket_mortsel": 234, "loket_schoten": 57,
    "loket_turnhout": 707, "loket_willebroek": 52,
    "contactpunt_hasselt": 492, "regiohuis_limburg": 60, "vestiging_beringen": 157, "vestiging_genk": 274,
    "vestiging_heusden_zolder": 258, "vestiging_lommel": 17, "vestiging_maasmechelen": 253, "vestiging_pelt": 201,
    "vestiging_sint_truiden": 173, "vestiging_tongeren": 92,
    "loket_aalst": 404, "loket_deinze": 152, "loket_dendermonde": 152, "loket_eeklo": 93, "loket_gent": 205,
    "loket_geraardsbergen": 83, "loket_hamme": 20, "loket_lokeren": 128, "loket_ninove": 94,
    "loket_oudenaarde": 77, "loket_ronse": 138, "loket_sint_niklaas": 675, "loket_temse": 2, "loket_wetteren": 100,
    "loket_zele": 23, "loket_zelzate": 78, "loket_zottegem": 25,
    "infopunt_aarschot": 55, "infopunt_asse": 7, "infopunt_tienen": 76, "vlaams_brabant": 63, "vestiging_diest": 83,
    "vestiging_dilbeek": 211, "vestiging_halle": 302, "vestiging_leuven": 993, "vestiging_vilvoorde": 685,
    "loket_ieper": 153, "loket_koksijde": 12, "loket_tielt": 27, "vestiging_brugge": 637, "vestiging_kortrijk": 670,
    "vestiging_oostende": 547, "vestiging_roeselare": 710,
    "bon_anderlecht": 84, "bon_brussel": 1579, "bon_molenbeek": 791, "bon_schaarbeek": 144,
}
#: 001 §10.2 Figuur 10.2: 82 % of the contracts of 2023 were signed within a month of registration.
CONTRACT_WITHIN_1_MONTH = 0.82
#: 001 §4.1, §4.4: 24,912 first contracts in 2023; 11,754 obligated, 13,158 entitled (Flanders + Brussels).
CONTRACTS = 24_912
CONTRACTS_OBLIGATED = 11_754

#: 001 §4.5 Figuur 4.5.5/4.5.6: advice of the first contracts of 2023: alfa 8 %, CBE (alfa + CBE) 19 %,
#: CVO verlengd 9 %, CVO standaard 45 %, CVO verkort/UTC 23 % (4 % undetermined). The 11 % CBE is split
#: between ``cbe`` and ``cbe_nt2`` in the ratio of their attests in 001 §10.3 Tabel 10.3 (609 : 1,131).
ADVICE_PUBLISHED = {"cbe_alfa": 0.08, "cbe_and_cbe_nt2": 0.11, "cvo_extended": 0.09, "cvo_standard": 0.45,
                    "cvo_short_utc": 0.23}
ADVICE_SHARES = {"cbe_alfa": 0.08, "cbe": 0.11 * 609 / 1740, "cbe_nt2": 0.11 * 1131 / 1740,
                 "cvo_extended": 0.09, "cvo_standard": 0.45, "cvo_short_utc": 0.23}

# ----------------------------------------------------------------------------- MO (001 §5)

#: 001 §5.1: 5,563 took the MO exemption test in 2023; 83 % passed. Figuur 5.1.4: at the first contract
#: 8 % already had an MO exemption and 7 % had NT2 level A2.
MO_EXEMPTION_TEST_TAKERS = 5_563
MO_EXEMPTION_TEST_PASS = 0.83
MO_EXEMPT_AT_CONTRACT = 0.08
NT2_A2_AT_CONTRACT = 0.07
#: 001 §5.3 Figuur 5.3.1 (contracts 2022): 78 % start MO within 3 months, 94 % within 6, 98 % within a year;
#: Inleiding: a course takes about two months (61 days).
MO_START_WITHIN = {3: 0.78, 6: 0.94, 12: 0.98}
MO_COURSE_DAYS = 61
#: 001 §5.2 (Figuur 5.2.10/5.2.11, Flemish Region): pass rate of MO since 2022 94 %; obligated 97 %,
#: entitled 90 % (drop-outs counted as not passed).
MO_PASS_RATE = 0.94
MO_PASS_RATE_BY_GROUP = {"obligated": 0.97, "entitled": 0.90}

# ----------------------------------------------------------------------------- NT2 and attest (001 §5.9, §10.3)

#: 001 §5.9 Figuur 5.9.1: median months from the first A1 lesson to the A2 decision, decisions of 2023.
NT2_A1_TO_A2_MONTHS = {"alfa": 53, "cbe_nt2": 41, "cvo_extended": 19, "cvo_standard": 9, "cvo_short_utc": 8}
#: 001 §10.3 Tabel 10.3: median months from contract to attest, attests of 2023, and their number (N).
ATTEST_MEDIAN_MONTHS = 12
ATTEST_MEDIAN_BY_GROUP = {"obligated": 15, "entitled": 10}
ATTEST_MEDIAN_BY_ADVICE = {"cbe_alfa": 48, "cbe": 39, "cbe_nt2": 26, "cvo_extended": 17, "cvo_standard": 10,
                           "cvo_short_utc": 9}
ATTESTS_BY_ADVICE = {"cbe_alfa": 655, "cbe": 609, "cbe_nt2": 1_131, "cvo_extended": 1_855,
                     "cvo_standard": 6_030, "cvo_short_utc": 3_264}
#: 001 §10.3 Figuur 10.3: of the attests of 2023, 51 % within a year of the contract, 76 % within 2 years,
#: 85 % within 3 years (6 % 3-4 years, 10 % longer).
ATTEST_WITHIN_YEARS = {1: 0.51, 2: 0.76, 3: 0.85}
#: 001 Inleiding: 15,477 attests in 2023.
ATTESTS = 15_477

# ----------------------------------------------------------------------------- VDAB (001 §6)

#: 001 §6: 34 % of the contracts of 2023 were exempt from VDAB registration; of the non-exempt, 76 %
#: registered within 2 months of the contract (Inleiding: 94 % in all); Tabel 6.1 (n = 14,830):
#: < 2 m 11,515; 2-3 m 774; 3-6 m 966; 6 m+ 623; not registered 952.
VDAB_EXEMPT = 0.34
VDAB_WITHIN_2_MONTHS = 0.76
VDAB_TABLE_6_1 = {"<2m": 11_515, "2-3m": 774, "3-6m": 966, "6m+": 623, "never": 952}

# ----------------------------------------------------------------------------- infractions (001 §11)

#: 001 §11.1 Figuur 11.1.1: 734 persons with a first infraction dossier in 2023 (per year of hand-over
#: to the enforcement officers); 1,175 infraction dossiers in all. Figuur 11.1.2: most frequent
#: "niet regelmatig deelgenomen" (irregular participation), then "na inbreuk niet tijdig aangemeld" and
#: "niet tijdig aangemeld"; 14 for VDAB. Figuur 11.1.3: a fine in 47 % of the decisions.
#: Figuur 11.2.2: 1 % of the first dossiers entitled (incoming, not fined).
FIRST_INFRACTION_DOSSIERS = 734
INFRACTION_DOSSIERS = 1_175
VDAB_INFRACTION_DOSSIERS = 14
FINE_SHARE = 0.47


# ----------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    source: str
    published: float
    basis: str  # "report" (engine.reports.report for the year) or "cohort" (journal, one cohort forward)
    unit: str = "share"  # "share" (compared in percentage points) or "months" or "count"
    calibrated: bool = True  # asserted within ±5 pp by tests/simulation
    tolerance: Optional[float] = None  # for non-share units (months)
    #: "input": the population generator alone puts the value in the journal (the engine only carries it);
    #: "engine": it needs what only the engine writes (attests, hand-overs, recorded decisions). Measured,
    #: not assumed: simulation/origins.py runs the experiment and tests/simulation checks these labels.
    origin: str = "input"


def _pp(value: float) -> float:
    return round(value, 4)


INDICATORS: list[Indicator] = [
    Indicator("obligated_share", "obligated share of the adult inflow", "001 §2.3 Fig. 2.3.5",
              _pp(OBLIGATED_INFLOW / INFLOW_TOTAL), "cohort"),
    Indicator("obligated_share:vlaams_brabant", "obligated share, Vlaams-Brabant", "001 §2.3 Fig. 2.3.6",
              0.15, "cohort"),
    Indicator("obligated_share:antwerpen_stad", "obligated share, Antwerpen stad", "001 §2.3 Fig. 2.3.6",
              0.30, "cohort"),
    Indicator("eu_plus_share", "EU+ nationals in the inflow", "001 §2.2", _pp(EU_PLUS_INFLOW / INFLOW_TOTAL),
              "cohort"),
    Indicator("aged_18_29", "inflow aged 18-29", "001 §2.3 Fig. 2.3.1", SHARE_AGED_18_29, "cohort"),
    *[Indicator(f"region:{region}", f"inflow share {region}", "001 §2.1 Fig. 2.1.2",
                _pp(count / INFLOW_TOTAL), "cohort") for region, count in INFLOW_BY_REGION.items()],
    Indicator("registration_within_1_month", "registered within 1 month of the inflow",
              "001 §10.1 Fig. 10.1.1", REGISTRATION_WITHIN_1_MONTH, "cohort"),
    Indicator("registration_within_3_months", "registered within 3 months of the inflow",
              "001 §10.1 Fig. 10.1.1", REGISTRATION_WITHIN_3_MONTHS, "cohort"),
    Indicator("registration_after_1_year", "registered after a year or more", "001 §10.1 Fig. 10.1.1",
              REGISTRATION_AFTER_1_YEAR, "cohort"),
    Indicator("contract_within_1_month", "contract within 1 month of registration", "001 §10.2 Fig. 10.2",
              CONTRACT_WITHIN_1_MONTH, "cohort"),
    *[Indicator(f"advice:{advice}", f"advice {advice.replace('_and_', ' + ')}", "001 §4.5 Fig. 4.5.5/4.5.6",
                share, "report") for advice, share in ADVICE_PUBLISHED.items()],
    Indicator("vdab_exempt", "contracts exempt from VDAB registration", "001 §6", VDAB_EXEMPT, "cohort"),
    Indicator("vdab_within_2_months", "VDAB within 2 months (non-exempt)", "001 §6 Tabel 6.1",
              VDAB_WITHIN_2_MONTHS, "report"),
    Indicator("mo_exemption_test_pass", "MO exemption test pass rate", "001 §5.1", MO_EXEMPTION_TEST_PASS,
              "cohort"),
    Indicator("mo_pass_rate", "MO pass rate (persons)", "001 §5.2 Fig. 5.2.10", MO_PASS_RATE, "report"),
    Indicator("mo_pass_rate:obligated", "MO pass rate, obligated", "001 §5.2 Fig. 5.2.11",
              MO_PASS_RATE_BY_GROUP["obligated"], "report"),
    Indicator("mo_pass_rate:entitled", "MO pass rate, entitled", "001 §5.2 Fig. 5.2.11",
              MO_PASS_RATE_BY_GROUP["entitled"], "report"),
    # Censoring-consistent shares: a cohort's contracts of the year are followed to the horizon (at
    # least 36 months), so attests are compared among those obtained within 3 years: 51/85 and 76/85.
    Indicator("attest_within_1_year_of_3", "attests within 1 year (of those within 3)", "001 §10.3 Fig. 10.3",
              _pp(ATTEST_WITHIN_YEARS[1] / ATTEST_WITHIN_YEARS[3]), "cohort", origin="engine"),
    Indicator("attest_within_2_years_of_3", "attests within 2 years (of those within 3)",
              "001 §10.3 Fig. 10.3", _pp(ATTEST_WITHIN_YEARS[2] / ATTEST_WITHIN_YEARS[3]), "cohort",
              origin="engine"),
    Indicator("attest_median", "median months contract → attest", "001 §10.3 Tabel 10.3",
              ATTEST_MEDIAN_MONTHS, "cohort", unit="months", tolerance=2, origin="engine"),
    *[Indicator(f"attest_median:{group}", f"median months to attest, {group}", "001 §10.3 Tabel 10.3",
                months, "cohort", unit="months", tolerance=3, calibrated=group == "entitled", origin="engine")
      for group, months in ATTEST_MEDIAN_BY_GROUP.items()],
    *[Indicator(f"attest_median:{advice}", f"median months to attest, {advice}", "001 §10.3 Tabel 10.3",
                months, "cohort", unit="months", tolerance=3,
                calibrated=advice in ("cvo_standard", "cvo_short_utc", "cvo_extended"), origin="engine")
      for advice, months in ATTEST_MEDIAN_BY_ADVICE.items()],
    Indicator("first_hand_over_share", "obligated with a first infraction dossier (hand-over)",
              "001 §11.1 Fig. 11.1.1", _pp(FIRST_INFRACTION_DOSSIERS / OBLIGATED_INFLOW), "cohort", origin="engine"),
    Indicator("fine_share", "decisions that fine", "001 §11.1 Fig. 11.1.3", FINE_SHARE, "cohort", origin="engine"),
]
ORIGINS = ("input", "engine")
assert all(ind.origin in ORIGINS for ind in INDICATORS)


def _safe_share(part: float, whole: float) -> Optional[float]:
    return part / whole if whole else None


def simulated_values(report: dict, cohort: dict) -> dict[str, Optional[float]]:
    """The simulated value of every indicator, from the auditors' report and the cohort figures."""
    values: dict[str, Optional[float]] = dict(cohort)
    advice_rows = {row["advice"]: row for row in report["advice"]["rows"]}
    total = report["advice"]["total"]["total"]
    for advice in ADVICE_PUBLISHED:
        parts = ("cbe", "cbe_nt2") if advice == "cbe_and_cbe_nt2" else (advice,)
        values[f"advice:{advice}"] = _safe_share(sum(advice_rows.get(p, {}).get("total", 0) for p in parts), total)
    vdab = report["vdab_within_2_months"]
    values["vdab_within_2_months"] = vdab["share"]
    mo = report["mo_tests"]
    values["mo_pass_rate"] = mo["person_pass_rate"]
    for group in ("obligated", "entitled"):
        values[f"mo_pass_rate:{group}"] = (mo["by_target_group"].get(group) or {}).get("person_pass_rate")
    return values


def compare(report: dict, cohort: dict) -> list[dict]:
    """One row per indicator: published, simulated, difference (percentage points for shares)."""
    values = simulated_values(report, cohort)
    rows = []
    for ind in INDICATORS:
        sim = values.get(ind.key)
        if ind.unit == "share":
            diff = None if sim is None else round((sim - ind.published) * 100, 1)
            ok = diff is not None and abs(diff) <= 5.0
        else:
            diff = None if sim is None else round(sim - ind.published, 1)
            ok = diff is not None and abs(diff) <= (ind.tolerance or 0)
        rows.append({"key": ind.key, "label": ind.label, "source": ind.source, "basis": ind.basis,
                     "unit": ind.unit, "published": ind.published, "simulated": sim, "diff": diff,
                     "calibrated": ind.calibrated, "within_tolerance": ok, "origin": ind.origin})
    return rows


def format_comparison(rows: list[dict], title: str = "") -> str:
    """Simulated vs published, as a fixed-width text table (shares in %, differences in pp)."""
    def show(value, unit):
        if value is None:
            return "–"
        return f"{value * 100:.1f}%" if unit == "share" else f"{value:.1f}"

    header = ["indicator", "source", "basis", "origin", "published", "simulated", "Δ", "ok"]
    body = []
    for row in rows:
        diff = row["diff"]
        delta = "–" if diff is None else (f"{diff:+.1f} pp" if row["unit"] == "share" else f"{diff:+.1f} mo")
        mark = ("yes" if row["within_tolerance"] else "NO") if row["calibrated"] else "(info)"
        body.append([row["label"], row["source"], row["basis"], row.get("origin", "?"),
                     show(row["published"], row["unit"]), show(row["simulated"], row["unit"]), delta, mark])
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) if i < 4 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    lines.append("  ".join("-" * w for w in widths))
    for r in body:
        lines.append("  ".join(str(c).ljust(w) if i < 4 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    lines.append("")
    lines.append(origin_summary(rows))
    return "\n".join(lines) + "\n"


def origin_summary(rows: list[dict]) -> str:
    """How many calibrated indicators are within tolerance, apart for the engine-derived ones."""
    calibrated = [r for r in rows if r["calibrated"]]
    engine = [r for r in calibrated if r.get("origin") == "engine"]
    inputs = [r for r in calibrated if r.get("origin") == "input"]
    return (f"calibrated within tolerance: {sum(r['within_tolerance'] for r in calibrated)}/{len(calibrated)} — "
            f"engine-derived {sum(r['within_tolerance'] for r in engine)}/{len(engine)} (attests, hand-overs, "
            f"decisions: what the engine decides), input {sum(r['within_tolerance'] for r in inputs)}/{len(inputs)} "
            "(set by the population generator; the engine only carries them: simulation/origins.py)")


# ----------------------------------------------------------------------------- cohort figures from the journal


_COHORT_KINDS = ("import", "target_group_decided", "command", "attest_issued", "handed_over", "decision_recorded",
                 "infraction_established", "test_judged", "rule_decision")  # rule_decision: release 0.1


def _months_between(start: date, end: date) -> float:
    from engine.reports import months_between
    return months_between(start, end)


def cohort_figures(source, year: int, horizon: date) -> dict:
    """Look-forward figures of the newcomers whose obligation started in ``year``, from the journal.

    ``source`` is an :class:`engine.service.Engine` (or anything with ``.db``) or an SQLAlchemy engine.
    """
    from rules import dates as legal
    from rules import parameters
    from sqlmodel import Session, select

    from engine.models import JournalEntry

    db = getattr(source, "db", source)
    per: dict[str, dict] = defaultdict(lambda: {"commands": [], "decisions": [], "attests": [], "hand_overs": [],
                                                "decided": [], "exemption_tests": []})
    starts: dict[str, date] = {}
    newcomers: dict[str, dict] = {}
    from engine.projection import read as read_facts

    with Session(db) as session:
        query = (select(JournalEntry.dossier_id, JournalEntry.seq, JournalEntry.kind, JournalEntry.business_date,
                        JournalEntry.payload, JournalEntry.schema_version, JournalEntry.actor,
                        JournalEntry.process_version, JournalEntry.ruleset, JournalEntry.rule_version)
                 .where(JournalEntry.kind.in_(_COHORT_KINDS)).order_by(JournalEntry.dossier_id, JournalEntry.seq))
        rows = [dict(r._mapping) for r in session.exec(query)]
    for row in rows:  # typed facts, release 0.1's entries (and a generator-only journal) through the upcasters
        dossier_id, day = row["dossier_id"], row["business_date"]
        item = per[dossier_id]
        for stored in read_facts([row]):
            fact = stored.fact  # typed: its dates are dates (the payload's JSON dict only where kept whole)
            kind = fact.kind
            if kind == "import":
                newcomer = fact.newcomer
                newcomers[dossier_id] = newcomer
                starts[dossier_id] = date.fromisoformat(newcomer["obligation_start"])
            elif kind == "target_group_decided":
                item["decisions"].append(fact.as_payload())
            elif kind == "command":
                body = fact.payload or {}  # upcast commands: "payload" is the event's body
                item["commands"].append((fact.type, date.fromisoformat(body.get("on") or day), body))
            elif kind == "test_judged" and fact.test == "exemption_test":
                item["exemption_tests"].append(bool(fact.passed))  # as judged when recorded
            elif kind == "attest_issued":
                item["attests"].append(fact.attest_on)
            elif kind == "handed_over":
                item["hand_overs"].append((fact.on, fact.type))
            elif kind == "decision_recorded":
                item["decided"].append(fact.decision)
    cohort = [d for d, start in starts.items() if start.year == year]
    groups = Counter()
    by_region = defaultdict(Counter)
    eu_plus = parameters.value("eu_plus_countries", date(year, 7, 1))
    eu_count = young = 0
    reg_1m = reg_3m = reg_1y = registrants = 0
    contracts = contracts_1m = 0
    year_contracts = year_contracts_no_vdab = 0
    durations: list[tuple[float, Optional[str], str]] = []
    exemption_tests = exemption_passed = 0
    first_hand_overs = 0
    decisions = Counter()
    for dossier_id in cohort:
        item = per[dossier_id]
        newcomer = newcomers[dossier_id]
        start = starts[dossier_id]
        first = item["decisions"][0] if item["decisions"] else {}
        group = first.get("target_group", "excluded")
        groups[group] += 1
        by_region[first.get("region")][group] += 1
        eu_count += any(code in eu_plus for code in newcomer["nationalities"])
        young += legal.age_on(date.fromisoformat(newcomer["birth_date"]), start) < 30
        commands = item["commands"]
        registered = next((on for t, on, _ in commands if t == "registered"), None)
        if registered is not None:
            registrants += 1
            reg_1m += registered <= legal.add_months(start, 1)
            reg_3m += registered <= legal.add_months(start, 3)
            reg_1y += registered > legal.add_months(start, 12)
        contract = next((on for t, on, _ in commands if t == "contract_signed"), None)
        if contract is not None and registered is not None:
            contracts += 1
            contracts_1m += contract <= legal.add_months(registered, 1)
        if contract is not None and contract.year == year:
            listed = next(p.get("components") or [] for t, _, p in commands if t == "contract_signed")
            year_contracts += 1
            year_contracts_no_vdab += "vdab" not in listed
        if contract is not None and contract.year == year and item["attests"]:
            advice = next((p.get("advice") for t, _, p in commands if t == "intake"), None)
            durations.append((_months_between(contract, item["attests"][0]), advice, group))
        exemption_tests += len(item["exemption_tests"])
        exemption_passed += sum(item["exemption_tests"])
        if group == "obligated":
            firsts = sorted(h for h in item["hand_overs"] if h[1] != "b1_not_attained")
            first_hand_overs += bool(firsts)
        decisions.update(item["decided"])
    total = len(cohort)
    out: dict[str, Optional[float]] = {
        "cohort_size": total,
        "obligated_share": _safe_share(groups["obligated"], total),
        "entitled_share": _safe_share(groups["entitled"], total),
        "excluded_share": _safe_share(groups["excluded"], total),
        "eu_plus_share": _safe_share(eu_count, total),
        "aged_18_29": _safe_share(young, total),
        "registration_within_1_month": _safe_share(reg_1m, registrants),
        "registration_within_3_months": _safe_share(reg_3m, registrants),
        "registration_after_1_year": _safe_share(reg_1y, registrants),
        "registrants": registrants,
        "contract_within_1_month": _safe_share(contracts_1m, contracts),
        "contracts": contracts,
        "vdab_exempt": _safe_share(year_contracts_no_vdab, year_contracts),
        "mo_exemption_test_pass": _safe_share(exemption_passed, exemption_tests),
        "first_hand_over_share": _safe_share(first_hand_overs, groups["obligated"]),
        "first_hand_overs": first_hand_overs,
        "fine_share": _safe_share(decisions["fine"], sum(decisions.values())),
        "horizon": horizon.isoformat(),
    }
    for region in INFLOW_BY_REGION:
        counts = by_region.get(region, Counter())
        out[f"region:{region}"] = _safe_share(sum(counts.values()), total)
        out[f"obligated_share:{region}"] = _safe_share(counts["obligated"], sum(counts.values()))
    within3 = [d for d in durations if d[0] <= 36]
    out["attests_of_year_contracts"] = len(durations)
    out["attest_within_1_year_of_3"] = _safe_share(sum(d[0] <= 12 for d in within3), len(within3))
    out["attest_within_2_years_of_3"] = _safe_share(sum(d[0] <= 24 for d in within3), len(within3))
    out["attest_median"] = _median([d[0] for d in durations])
    for group in ATTEST_MEDIAN_BY_GROUP:
        out[f"attest_median:{group}"] = _median([d[0] for d in durations if d[2] == group])
    for advice in ATTEST_MEDIAN_BY_ADVICE:
        out[f"attest_median:{advice}"] = _median([d[0] for d in durations if d[1] == advice])
    return out


def _median(values: list[float]) -> Optional[float]:
    return round(statistics.median(values), 2) if values else None

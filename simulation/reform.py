"""What-if law reforms on a simulated year: ``inburgering simulate --reform REFORM.yaml``.

A reform is a YAML file with a name, a description and dated overrides of the legal
parameters of ``rules/parameters/`` (the format of those files, ``source`` optional); see
``examples/reform-regularisation-60-days.yaml`` (and the README, "What-if reforms").

An override list replaces the law's values of that parameter **from its first date on**; before
that date the law's values stay in force. :func:`load_reform` validates the file against the
parameter files (unknown parameter, wrong kind of value, missing or unordered dates, unknown
keys) and names the path of the first problem; nothing is run on a bad file.

:func:`compare` generates one seeded population **under the law** and runs it twice through the
engine (import, API, daily sweep), each time into a temporary store: once under the law, once
with the reform's overrides in force. The newcomers and their planned behaviour are the same in
both runs — including the officers' planned decisions — so every difference comes from the
engine applying another law. An event the reformed engine refuses (e.g. a decision on an
infraction that was regularised in the longer period) is counted, as in any simulation.
The two reports are set side by side (:func:`format_table`, :func:`to_csv`, :func:`to_png`):
notices, hand-overs, fines, attests and B1 infractions by region, from each run's journal,
and the calibration indicators.
"""
from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import yaml

MEASURES = ("notices", "hand_overs", "fines", "fine_total_eur", "attests", "b1_infractions")
MEASURE_LABELS = {"notices": "notices of default", "hand_overs": "hand-overs to enforcement",
                  "fines": "fines decided", "fine_total_eur": "fines, total EUR", "attests": "attests issued",
                  "b1_infractions": "B1 infractions established"}
_TOP_KEYS = {"name", "description", "parameters"}
_VALUE_KEYS = {"from", "value", "source"}


class ReformError(ValueError):
    """A reform file that cannot be used; the message names the file, the path in it and the problem."""

    def __init__(self, file: str, path: str, problem: str):
        super().__init__(f"{file}: {path}: {problem}" if path else f"{file}: {problem}")
        self.file, self.path, self.problem = file, path, problem


@dataclass(frozen=True)
class Reform:
    """A validated reform. ``overrides``: parameter name → [(start, value, source)], plain data
    (picklable: worker processes receive it)."""

    name: str
    description: str
    overrides: dict
    file: str = ""

    def describe(self) -> list[str]:
        from rules import parameters

        lines = []
        for name, values in self.overrides.items():
            for start, value, source in values:
                try:
                    law = parameters.value(name, start)
                except parameters.NoValueOnDate:
                    law = "(none)"
                lines.append(f"{name} from {start.isoformat()}: {_show(value)} (law: {_show(law)})"
                             + (f" — {source}" if source else ""))
        return lines


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _kind(value: Any) -> str:
    """The kind of a value as the parameter files define it (number, string, boolean, list, mapping):
    the loader's own rule, so a reform is held to exactly what a parameter file would be."""
    from rules.parameters import _kind as parameter_kind

    return parameter_kind(value)


def _start(raw: Any) -> Optional[date]:
    """A ``from`` date as the parameter files accept it (the loader's own rule), or None."""
    from rules.parameters import _parse_start

    return _parse_start(raw)


class _TextDates(yaml.SafeLoader):
    """The safe loader, but dates stay text: a bad date is then reported with its path in the file."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_reform(path: Path | str) -> Reform:
    """Read and validate a reform file; raise :class:`ReformError` naming the first problem's path."""
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise ReformError(file, "", "no such file")
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDates)
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as error:
        raise ReformError(file, "", f"not valid YAML ({error})") from None
    return parse_reform(document, file)


def parse_reform(document: Any, file: str = "reform") -> Reform:
    from rules import parameters

    def fail(where: str, problem: str) -> ReformError:
        return ReformError(file, where, problem)

    if not isinstance(document, dict):
        raise fail("", "the top level must be a mapping with name, description and parameters")
    unknown = sorted(set(map(str, document)) - _TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (expected {', '.join(sorted(_TOP_KEYS))})")
    for key in ("name", "description"):
        if not isinstance(document.get(key), str) or not document[key].strip():
            raise fail(key, "must be a non-empty text")
    overrides_in = document.get("parameters")
    if not isinstance(overrides_in, dict) or not overrides_in:
        raise fail("parameters", "must map at least one parameter name to a list of dated values")
    law = parameters.all_parameters()
    overrides: dict[str, list] = {}
    for name, values in overrides_in.items():
        where = f"parameters.{name}"
        if name not in law:
            close = [n for n in law if n.split("_")[0] == str(name).split("_")[0]]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise fail(where, f"unknown parameter: there is no rules/parameters/{name}.yaml{hint}")
        if not isinstance(values, list) or not values:
            raise fail(where, "must be a non-empty list of {from, value, source?}")
        reference = law[name].values[0].value
        parsed = []
        for index, raw in enumerate(values):
            item = f"{where}[{index}]"
            if not isinstance(raw, dict):
                raise fail(item, "must be a mapping with from, value and (optionally) source")
            extra = sorted(set(map(str, raw)) - _VALUE_KEYS)
            if extra:
                raise fail(f"{item}.{extra[0]}", "unknown key (expected from, value, source)")
            for key in ("from", "value"):
                if key not in raw or raw[key] is None:
                    raise fail(f"{item}.{key}", "missing")
            start = _start(raw["from"])
            if start is None:
                raise fail(f"{item}.from", f"must be a calendar date YYYY-MM-DD, not {raw['from']!r}")
            if parsed and start <= parsed[-1][0]:
                raise fail(f"{item}.from", f"{start.isoformat()} does not come after the previous date "
                                           f"{parsed[-1][0].isoformat()} (dates must strictly increase)")
            value = raw["value"]
            _check_value(fail, f"{item}.value", name, value, reference)
            source = raw.get("source")
            if source is not None and (not isinstance(source, str) or not source.strip()):
                raise fail(f"{item}.source", "must be a non-empty text when given")
            parsed.append((start, value, source.strip() if source else None))
        overrides[name] = parsed
    return Reform(document["name"].strip(), " ".join(document["description"].split()), overrides, file)


def _check_value(fail, where: str, name: str, value, reference) -> None:
    want, got = _kind(reference), _kind(value)
    if want != got:
        raise fail(where, f"{name} takes a {want} (like {_show(reference)}), not a {got} ({value!r})")
    if want == "list" and reference:
        item_kind = _kind(reference[0])
        wrong = next((v for v in value if _kind(v) != item_kind), None)
        if wrong is not None:
            raise fail(where, f"{name} is a list of {item_kind} values; {wrong!r} is a {_kind(wrong)}")
    if want == "mapping":
        missing, extra = sorted(set(reference) - set(value)), sorted(set(value) - set(reference))
        if missing or extra:
            raise fail(where, f"{name} needs exactly the keys {', '.join(map(str, reference))}"
                              + (f"; missing {', '.join(map(str, missing))}" if missing else "")
                              + (f"; unknown {', '.join(map(str, extra))}" if extra else ""))
        for key, item in value.items():
            _check_value(fail, f"{where}.{key}", f"{name}.{key}", item, reference[key])


# ----------------------------------------------------------------------------- the law in force


def reform_law(overrides: dict, name: str = "reform"):
    """The law with ``overrides`` (parameter → [(start, value, source)]): each overridden parameter keeps
    the law's values before its first overriding date and takes the reform's from then on. A
    :class:`rules.parameters.Law`; the real store and the package's law are never touched."""
    from rules import parameters

    law = parameters.default_law()
    if not overrides:
        return law
    changed = {}
    for parameter_name, values in overrides.items():
        base = law.get(parameter_name)
        first = values[0][0]
        kept = [v for v in base.values if v.start < first]
        added = [parameters.DatedValue(start, parameters._freeze(value), source or name)
                 for start, value, source in values]
        changed[parameter_name] = parameters.Parameter(base.name, base.description, base.unit, tuple(kept + added))
    return parameters.Law({**{n: law.get(n) for n in law.names()}, **changed}, name)


@contextmanager
def apply_overrides(overrides: dict) -> Iterator[None]:
    """The law with ``overrides`` in force inside the block, in this thread (:func:`rules.parameters.using`);
    engines built inside it take it with them (simulation/driver.py passes ``parameters.current()``)."""
    from rules import parameters

    with parameters.using(reform_law(overrides)):
        yield


# ----------------------------------------------------------------------------- outcomes from a journal


def outcomes(source) -> dict[str, dict[str, float]]:
    """Counts by region of the facts a reform may change, from the journal of ``source`` (an Engine,
    a URL or an SQLAlchemy engine): {measure: {region: value}}, with a ``total`` region. A fact is
    counted in the region of the dossier's target-group decision in force when it was recorded."""
    import json

    from sqlalchemy import select

    from engine.models import JournalEntry

    db = getattr(source, "db", source)
    owned = None
    if isinstance(source, str):
        from engine.db import make_engine
        db = owned = make_engine(source)
    kinds = ("target_group_decided", "notice_issued", "handed_over", "decision_recorded", "attest_issued",
             "infraction_established", "infraction_closed")
    counts: dict[str, dict[str, float]] = {m: {} for m in MEASURES}
    region: dict[str, Optional[str]] = {}
    table = JournalEntry.__table__
    try:
        with db.connect() as conn:
            rows = conn.execute(select(table.c.dossier_id, table.c.kind, table.c.payload)
                                .where(table.c.kind.in_(kinds)).order_by(table.c.dossier_id, table.c.seq))
            for dossier_id, kind, payload in rows:
                data = json.loads(payload)
                if kind == "target_group_decided":
                    region[dossier_id] = data.get("region")
                    continue
                where = region.get(dossier_id) or "(none)"
                measure, amount = None, 1
                if kind == "notice_issued":
                    measure = "notices"
                elif kind == "handed_over":
                    measure = "hand_overs"
                elif kind == "attest_issued":
                    measure = "attests"
                elif kind == "infraction_established" and data.get("type") == "b1_not_attained":
                    measure = "b1_infractions"
                elif kind == "decision_recorded" and data.get("decision") == "fine":
                    _add(counts["fine_total_eur"], where, data.get("fine_eur") or 0)
                    measure = "fines"
                if measure:
                    _add(counts[measure], where, amount)
    finally:
        if owned is not None:
            owned.dispose()
    for measure in MEASURES:
        counts[measure]["total"] = sum(counts[measure].values())
    return counts


def _add(bucket: dict, key: str, amount: float) -> None:
    bucket[key] = bucket.get(key, 0) + amount


# ----------------------------------------------------------------------------- the comparison


@dataclass
class Comparison:
    reform: Reform
    law: Any  # simulation.driver.SimulationResult
    reformed: Any
    rows: list = field(default_factory=list)  # (measure, region, law, reform)

    def to_dict(self) -> dict:
        return {"reform": {"name": self.reform.name, "description": self.reform.description,
                           "overrides": {k: [(s.isoformat(), v, src) for s, v, src in vals]
                                         for k, vals in self.reform.overrides.items()}},
                "outcomes": [{"measure": m, "region": r, "law": a, "reform": b, "difference": b - a}
                             for m, r, a, b in self.rows],
                "indicators": indicator_rows(self.law.comparison, self.reformed.comparison),
                "law": self.law.to_dict(), "reformed": self.reformed.to_dict()}


def compare(reform: Reform, year: int = 2023, scale: float = 0.02, seed: int = 1, until: Optional[date] = None,
            *, via: str = "api", workers: int = 1,
            on_progress: Optional[Callable[[str, int, int, date], None]] = None) -> Comparison:
    """The same seeded population under the law and under ``reform``, each into a temporary store."""
    from .driver import simulate
    from .population import generate

    population = generate(year, scale, seed)  # under the law: the same newcomers and behaviour in both runs

    def progress(label):
        if on_progress is None:
            return None
        return lambda done, total, day: on_progress(label, done, total, day)

    law = simulate(year, scale, seed, until, None, progress("law"), via=via, population=population,
                   workers=workers)
    reformed = simulate(year, scale, seed, until, None, progress("reform"), via=via, population=population,
                        workers=workers, reform=reform)
    rows = []
    regions = sorted({r for m in MEASURES for r in (*law.outcomes[m], *reformed.outcomes[m]) if r != "total"})
    for measure in MEASURES:
        for region in ("total", *regions):
            rows.append((measure, region, law.outcomes[measure].get(region, 0),
                         reformed.outcomes[measure].get(region, 0)))
    return Comparison(reform, law, reformed, rows)


def indicator_rows(law: list[dict], reformed: list[dict]) -> list[dict]:
    other = {row["key"]: row for row in reformed}
    out = []
    for row in law:
        mine, theirs = row["simulated"], other[row["key"]]["simulated"]
        out.append({"key": row["key"], "label": row["label"], "origin": row.get("origin"), "unit": row["unit"],
                    "published": row["published"], "law": mine, "reform": theirs,
                    "difference": None if mine is None or theirs is None else theirs - mine})
    return out


def _fmt(value, unit: str = "count") -> str:
    if value is None:
        return "–"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "months":
        return f"{value:.1f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _delta(law, reform, unit: str = "count") -> str:
    if law is None or reform is None:
        return "–"
    diff = reform - law
    if unit == "share":
        return f"{diff * 100:+.1f} pp"
    if unit == "months":
        return f"{diff:+.1f} mo"
    text = f"{diff:+,.0f}" if float(diff).is_integer() else f"{diff:+,.1f}"
    return text + (f" ({diff / law * 100:+.0f} %)" if law else "")


def _table(header: list[str], body: list[list[str]], left: int = 2) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return [line(header), "  ".join("-" * w for w in widths), *map(line, body)]


def format_table(result: Comparison) -> str:
    law, reformed, reform = result.law, result.reformed, result.reform
    lines = [f"Reform {reform.name!r}: {reform.description}", *[f"  {line}" for line in reform.describe()],
             f"Population: --year {law.year} --scale {law.scale} --seed {law.seed} ({law.persons} newcomers, "
             f"generated under the law), followed to {law.until}; each run through the engine into its own "
             "temporary store.", "",
             "Outcomes from each run's journal (region of the dossier when the fact was recorded):"]
    body = [[MEASURE_LABELS[m] if r == "total" else "", r, _fmt(a), _fmt(b), _delta(a, b)]
            for m, r, a, b in result.rows if r == "total" or a or b]
    lines += _table(["measure", "region", "law", "reform", "difference"], body)
    lines += ["", "Indicators (engine-derived first; inputs only where they differ):"]
    rows = indicator_rows(law.comparison, reformed.comparison)
    shown = [r for r in rows if r["origin"] == "engine"] + \
            [r for r in rows if r["origin"] != "engine" and r["difference"] not in (None, 0)]
    lines += _table(["indicator", "origin", "published", "law", "reform", "difference"],
                    [[r["label"], r["origin"], _fmt(r["published"], r["unit"]), _fmt(r["law"], r["unit"]),
                      _fmt(r["reform"], r["unit"]), _delta(r["law"], r["reform"], r["unit"])] for r in shown])
    lines += ["", "Runs:"]
    for label, run in (("law", law), ("reform", reformed)):
        lines.append(f"  {label:6s} {run.events} events, {run.timers_fired} timers fired, refused "
                     f"{len(run.refused)}, errors {len(run.errors)}; {run.seconds.get('total', 0):.0f} s")
    refused = len(reformed.refused) - len(law.refused)
    if refused > 0:
        kinds = {}
        for item in reformed.refused:
            kinds[item["type"]] = kinds.get(item["type"], 0) + 1
        lines.append(f"  the reformed engine refused {refused} more planned events than the law "
                     f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}): behaviour was planned under "
                     "the law (e.g. an officer's decision on an infraction regularised in a longer period)")
    return "\n".join(lines) + "\n"


def to_csv(result: Comparison) -> str:
    """Tidy CSV: section, measure, region, law, reform, difference."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "measure", "region", "law", "reform", "difference"])
    for measure, region, law, reform in result.rows:
        writer.writerow(["outcome", measure, region, law, reform, reform - law])
    for row in indicator_rows(result.law.comparison, result.reformed.comparison):
        writer.writerow([f"indicator:{row['origin']}", row["key"], "", "" if row["law"] is None else row["law"],
                         "" if row["reform"] is None else row["reform"],
                         "" if row["difference"] is None else row["difference"]])
    return out.getvalue()


def to_png(result: Comparison, path) -> None:
    """Grouped bars, law vs reform, per region for each measure (matplotlib Agg, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3).flatten()
    fig.suptitle(f"Reform {result.reform.name!r} vs the law — {result.law.persons} newcomers "
                 f"(scale {result.law.scale}, seed {result.law.seed}), to {result.law.until}")
    for ax, measure in zip(axes, MEASURES):
        rows = [(r, a, b) for m, r, a, b in result.rows if m == measure]
        labels = [r for r, _, _ in rows]
        xs = range(len(rows))
        ax.bar([x - 0.2 for x in xs], [a for _, a, _ in rows], width=0.4, label="law", color="tab:blue")
        ax.bar([x + 0.2 for x in xs], [b for _, _, b in rows], width=0.4, label="reform", color="tab:orange")
        ax.set_xticks(list(xs), labels, rotation=35, ha="right", fontsize=7)
        ax.set_title(MEASURE_LABELS[measure])
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=100)

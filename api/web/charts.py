"""The yearly report for people: the one-page chart and the plain-text tables, in the reader's language.

:mod:`engine.reports` computes the figures (and keeps an English developer table for the
simulation); the doors — the web page, ``GET /reports/{year}?format=png|text`` and
``inburgering report`` — render them here from the one catalogue, Dutch by default: titles and
row labels by their catalogue text (never an engine code nor a source code like ``(000 Q1)``),
counts on integer axes, a panel without data says "geen gegevens" instead of drawing an empty
axis, and an undefined figure is a dash, never ``None`` (issue 14.5).
"""
from __future__ import annotations

from . import messages, views
from .i18n import Translator

TARGET_GROUPS = ("obligated", "entitled", "excluded")
_COLOURS = {"obligated": "#1f4e79", "entitled": "#4f9d69", "excluded": "#b0b0b0"}


def _count(tr: Translator, n: int, key: str) -> str:
    return messages.plural(tr.lang, n, key)


def _figure(tr: Translator, value, kind: str = "number") -> str:
    if value is None:
        return tr.t("common.none")
    if kind == "months":
        return messages.number(tr.lang, value, 1)
    return messages.number(tr.lang, value)


def title(tr: Translator, rep: dict) -> str:
    dossiers = _count(tr, rep["dossiers"], "fmt.dossiers")
    if rep.get("as_of"):
        return tr.t("chart.title_as_of", year=rep["year"], day=messages.day(tr.lang, rep["as_of"]), dossiers=dossiers)
    return tr.t("chart.title", year=rep["year"], day=messages.day(tr.lang, rep["horizon"]), dossiers=dossiers)


def _no_data(tr: Translator, ax, heading: str) -> None:
    """An empty panel: its title and "geen gegevens", no axes (a 0-height bar on a −0.04…0.04 axis says nothing)."""
    ax.set_title(heading, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(0.5, 0.5, tr.t("chart.no_data"), ha="center", va="center", transform=ax.transAxes, fontsize=12,
            color="#555555")


def _wrap(label: str, width: int = 18) -> str:
    """A bar's label on lines of ``width`` characters, so neighbouring labels never overlap."""
    import textwrap

    return "\n".join(textwrap.wrap(label, width)) or label


def _integer_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _number_axis(tr: Translator, axis, decimals: int = 0) -> None:
    """Tick labels in the reader's number format (``1.000``, ``2,5``)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _: messages.number(tr.lang, round(x, decimals),
                                                                        decimals if x % 1 else 0)))


def _percent_axis(tr: Translator, ax) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_ylim(0, 112)  # room above a 100 % bar for its label
    ax.set_yticks(range(0, 101, 20))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _: messages.percent(tr.lang, round(x))))


def _share_bars(tr: Translator, ax, heading: str, shares: dict, ylabel: str, color: str) -> None:
    """A panel of shares (catalogue key of the bar's label → fraction or None) as percentage bars."""
    values = list(shares.values())
    bars = ax.bar([_wrap(tr.t(key)) for key in shares], [(s or 0) * 100 for s in values], color=color)
    ax.bar_label(bars, labels=[messages.percent(tr.lang, s * 100) if s is not None else tr.t("common.none")
                               for s in values], fontsize=8)
    _percent_axis(tr, ax)
    ax.set_ylabel(tr.t(ylabel))
    ax.set_title(heading, fontsize=10)


def to_png(tr: Translator, rep: dict, path) -> None:
    """A one-page chart of the report as PNG (``path``: a file name or a binary stream)."""
    figure(tr, rep).savefig(path, format="png", dpi=100)


def figure(tr: Translator, rep: dict):
    """The one-page chart of the report (matplotlib, Agg canvas; thread-safe, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 9.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    fig.suptitle(title(tr, rep), fontsize=14)

    # registrations per agency and region, stacked by target group
    ax = axes[0][0]
    rows = [r for r in rep["registrations"]["rows"] if r["total"]]
    heading = tr.t("chart.registrations", n=_count(tr, rep["registrations"]["total"]["total"], "fmt.registrations"))
    if not rows:
        _no_data(tr, ax, heading)
    else:
        # horizontal bars: an agency's name is long, and reads across, not slanted under a bar
        labels = [f"{tr.v(r['agency']) if r['agency'] else tr.t('common.none')}\n"
                  f"{tr.v(r['region']) if r['region'] else tr.t('common.none')}" for r in rows]
        left = [0] * len(rows)
        for group in TARGET_GROUPS:
            values = [r[group] for r in rows]
            if any(values):
                ax.barh(labels, values, left=left, label=tr.v(group), color=_COLOURS[group])
            left = [b + v for b, v in zip(left, values)]
        ax.invert_yaxis()  # the first agency on top, as in the table
        ax.set_title(heading, fontsize=10)
        ax.set_xlabel(tr.t("chart.count"))
        _integer_axis(ax.xaxis)
        _number_axis(tr, ax.xaxis)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=7, loc="lower right")

    # advice at intake
    ax = axes[0][1]
    adv = [r for r in rep["advice"]["rows"] if r["total"]]
    heading = tr.t("chart.advice", n=_count(tr, rep["advice"]["total"]["total"], "fmt.intakes"))
    if not adv:
        _no_data(tr, ax, heading)
    else:
        ax.barh([tr.v(r["advice"]) if r["advice"] != "none" else tr.t("chart.no_advice") for r in adv],
                [r["total"] for r in adv], color="#6a4c93")
        ax.set_title(heading, fontsize=10)
        ax.set_xlabel(tr.t("chart.count"))
        _integer_axis(ax.xaxis)
        _number_axis(tr, ax.xaxis)
        ax.tick_params(axis="y", labelsize=8)

    # VDAB registration within two months of the contract
    ax = axes[0][2]
    vdab = rep["vdab_within_2_months"]
    heading = tr.t("chart.vdab", n=_count(tr, vdab["contracts"], "fmt.contracts"))
    if not vdab["contracts"]:
        _no_data(tr, ax, heading)
    else:
        _share_bars(tr, ax, heading, {"chart.vdab_within": vdab["share"], "chart.vdab_by_horizon": vdab["share_by_horizon"]},
                    "chart.share", "#2a9d8f")

    # median months from contract to attest, by advice
    ax = axes[1][0]
    dur = rep["attest_duration_months"]
    measured = {k: v for k, v in dur["by_advice"].items() if v["n"] and v["median"] is not None}
    heading = tr.t("chart.duration", median=_figure(tr, dur["median"], "months") if dur["median"] is not None
                   else tr.t("chart.no_data"))
    if not measured:
        _no_data(tr, ax, heading)
    else:
        labels = [tr.v(k) if k != "none" else tr.t("chart.no_advice") for k in measured]
        bars = ax.bar(labels, [v["median"] for v in measured.values()], color="#e76f51")
        ax.bar_label(bars, labels=[f"{_figure(tr, v['median'], 'months')} ({_count(tr, v['n'], 'fmt.attests')})"
                                   for v in measured.values()], fontsize=7)
        ax.set_ylabel(tr.t("chart.months"))
        _number_axis(tr, ax.yaxis, 1)
        ax.set_title(heading, fontsize=10)
        ax.tick_params(axis="x", labelsize=7, labelrotation=20)

    # MO tests and attests
    ax = axes[1][1]
    mo, att = rep["mo_tests"], rep["attests"]
    heading = tr.t("chart.mo", tests=_count(tr, mo["tests"], "fmt.tests"), attests=_count(tr, att["total"],
                                                                                         "fmt.attests"))
    if not mo["tests"]:
        _no_data(tr, ax, heading)
    else:
        _share_bars(tr, ax, heading, {"chart.mo_per_test": mo["pass_rate"], "chart.mo_per_person": mo["person_pass_rate"]},
                    "chart.pass_rate", "#264653")

    # first infractions by type
    ax = axes[1][2]
    first = {k: v for k, v in rep["first_infractions"]["by_type"].items() if v}
    heading = tr.t("chart.first_infractions", n=_count(tr, rep["first_infractions"]["total"], "fmt.dossiers"))
    if not first:
        _no_data(tr, ax, heading)
    else:
        ax.barh([tr.v(k) for k in first], list(first.values()), color="#c1121f")
        ax.set_title(heading, fontsize=10)
        ax.set_xlabel(tr.t("chart.dossiers"))
        _integer_axis(ax.xaxis)
        _number_axis(tr, ax.xaxis)
        ax.tick_params(axis="y", labelsize=8)
    return fig


def to_text(tr: Translator, rep: dict) -> str:
    """The report as fixed-width tables with the web page's titles, labels and number formats."""
    scope = (tr.t("chart.scope_as_of", day=messages.day(tr.lang, rep["as_of"])) if rep.get("as_of")
             else tr.t("chart.scope_horizon", day=messages.day(tr.lang, rep["horizon"])))
    lines = [tr.t("chart.text_title", year=rep["year"], scope=scope,
                  dossiers=_count(tr, rep["dossiers"], "fmt.dossiers"))]
    for table in views.report_tables(tr, rep):
        # an office under its region, indented as in seed 000's Tabel 1
        rows = [["  " + str(row[0]), *row[1:]] if nested else row for row, nested in zip(table["rows"], table["nested"])]
        cells = [table["headers"]] + rows
        widths = [max(len(str(row[i])) for row in cells) for i in range(len(table["headers"]))]
        lines += ["", f"{table['title']} ({rep['year']})",
                  "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                            for i, (c, w) in enumerate(zip(table["headers"], widths))),
                  "  ".join("-" * w for w in widths)]
        for row in rows:
            lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines) + "\n"


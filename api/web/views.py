"""Presentation helpers: days left on the engine clock, timeline lines, report tables."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from engine.clock import business_date

from .i18n import MESSAGES, Translator

#: the caseworker steps and the events that advance or concern each (suggested first on the dossier page)
STEP_EVENTS = {
    "register": ("registered",),
    "intake": ("intake", "contract_signed", "refused_intake_or_contract"),
    "contract": ("contract_signed", "refused_intake_or_contract"),
    "mo": ("test_result", "mo_exemption_test", "attendance", "test_refused"),
    "nt2": ("test_result", "attendance", "test_refused"),
    "vdab": ("vdab_registered", "vdab_exempt"),
    "pnt": ("pnt_hours", "pnt_not_fulfilled"),
}


def today(engine) -> date:
    """The business date now — on the engine's clock, never the wall clock."""
    return business_date(engine.clock.now())


def days_left(last_timely: Optional[str], on: date) -> Optional[int]:
    if not last_timely:
        return None
    return (date.fromisoformat(last_timely) - on).days


def days_text(tr: Translator, days: Optional[int]) -> str:
    if days is None:
        return tr.t("common.none")
    if days > 1:
        return tr.t("days.left", n=days)
    if days == 1:
        return tr.t("days.left_one")
    if days == 0:
        return tr.t("days.today")
    if days == -1:
        return tr.t("days.overdue_one")
    return tr.t("days.overdue", n=-days)


def last_timely_of_fire_day(fire_day: Optional[str]) -> Optional[str]:
    """The worklist gives the day a deadline *fires* (00:00 after the last timely day): the day before it."""
    if not fire_day:
        return None
    return (date.fromisoformat(fire_day) - timedelta(days=1)).isoformat()


def short_time(iso: str) -> str:
    """``2024-02-01T09:00:00+01:00`` → ``2024-02-01 09:00`` (the business time as journaled)."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    return moment.strftime("%Y-%m-%d %H:%M")


def _due_day(iso: Optional[str]) -> str:
    if not iso:
        return ""
    try:
        return business_date(datetime.fromisoformat(iso)).isoformat()
    except ValueError:
        return iso


def timeline_line(tr: Translator, entry: dict) -> str:
    """One journal entry as a short sentence (the full payload stays in the audit view); its days in the
    reader's format (``15 april 2024``)."""
    from . import messages

    kind, p = entry["kind"], entry.get("payload") or {}
    v = tr.v

    def due_day(iso):  # the day of an instant, in words
        return messages.day(tr.lang, _due_day(iso)) if iso else ""

    def d(value):
        return messages.day(tr.lang, value) if value else tr.t("common.none")
    if kind == "import":
        return tr.t("timeline.import", id=(p.get("newcomer") or {}).get("id", ""))
    if kind == "registered" and p.get("office") and p.get("on"):  # seed 000 Q1: the office, by its own name
        from rules import offices

        try:
            found = offices.office_on(p["office"], date.fromisoformat(p["on"]))
        except ValueError:
            found = None
        return tr.t("timeline.registered_office", day=d(p["on"]), office=found.name if found else p["office"])
    if kind == "target_group_decided" or (kind == "rule_decision" and p.get("question") == "target_group"):
        text = tr.t("timeline.rule_target_group", target_group=v(p.get("target_group")))
        if p.get("reasons"):
            text += f" ({tr.vs(p['reasons'])})"
        return text
    if kind in ("infraction_rule_decision", "rule_decision"):
        result = v(p["infraction"]) if p.get("infraction") else tr.t("timeline.no_infraction", reason=v(p.get("reason")))
        return tr.t("timeline.rule_infraction", trigger=v(p.get("trigger")), result=result)
    if kind == "instance_started":
        text = tr.t("timeline.instance_started", process=v(p.get("process")))
        return f"{text} ({p['infraction']})" if p.get("infraction") else text
    if kind in ("timer_armed", "timer_moved", "timer_disarmed"):
        return tr.t("timeline.timer_disarmed" if kind == "timer_disarmed" else "timeline.timer", timer=v(p.get("timer")), due=due_day(p.get("due_at")))
    if kind == "command":
        return tr.t("timeline.command", event=tr.t(f"event.{p.get('type')}"))
    if kind == "task_completed":
        text = tr.t("timeline.task_completed", task=v(p.get("task")))
        decision = (p.get("data") or {}).get("decision")
        return f"{text}: {v(decision)}" if decision else text
    if kind == "fee_charged":
        return tr.t("timeline.fee_charged", item=v(p.get("item")), amount=p.get("amount", p.get("amount_eur")))
    if kind == "component_fulfilled":
        return tr.t("timeline.component_fulfilled", component=v(p.get("component")), by=v(p.get("by")))
    if kind == "deadline_fired":
        return tr.t("timeline.timer_fired", timer=v(p.get("name")), day=d(p.get("last_timely")))
    if kind == "timer_fired":
        return tr.t("timeline.timer_fired", timer=v(p.get("timer")), day=d(p.get("last_timely_day")))
    if kind in ("infraction_established", "handed_over"):
        return tr.t(f"timeline.{'infraction' if kind == 'infraction_established' else kind}",
                    type=v(p.get("type")), infraction=p.get("infraction"))
    if kind == "notice_issued":
        return tr.t("timeline.notice_issued", infraction=p.get("infraction"), day=d(p.get("regularisation_last_day")))
    if kind == "infraction_closed":
        return tr.t("timeline.infraction_closed", infraction=p.get("infraction"), outcome=v(p.get("outcome")))
    if kind == "decision_recorded":
        text = tr.t("timeline.decision_recorded", infraction=p.get("infraction"), decision=v(p.get("decision")))
        return f"{text} (€ {p['fine_eur']})" if p.get("fine_eur") is not None else text
    if kind == "attest_issued":
        return tr.t("timeline.attest_issued", day=d(p.get("attest_on")))
    if kind == "b1_checked":
        return tr.t("timeline.b1_checked", outcome=v(p.get("outcome")))
    if kind == "deadline_extended":
        return tr.t("timeline.deadline_extended", deadline=v(p.get("name", p.get("deadline"))),
                    old=d(p.get("previous", p.get("from"))), new=d(p.get("last_timely", p.get("to"))))
    if kind == "deadline_armed":
        return tr.t("timeline.deadline_armed", deadline=v(p.get("name", p.get("deadline"))), start=d(p.get("start")))
    if kind in ("deadline_stopped", "deadline_met", "deadline_withdrawn"):
        return tr.t("timeline.deadline_stopped", deadline=v(p.get("name", p.get("deadline"))))
    if kind == "annulment_requested":
        return tr.t("timeline.annulment_requested", infraction=p.get("infraction"))
    if kind == "sweep":
        return tr.t("timeline.sweep", timers=tr.vs(p.get("timers") or []))
    if kind == "waiting":
        return tr.t("timeline.waiting", steps=tr.vs(p.get("steps") or []))
    if kind == "suspension_recorded":
        return tr.t("timeline.suspension", start=d(p.get("start")), end=d(p.get("end")), days=p.get("days_added"))
    if kind == "newcomer_changed":
        return tr.t("timeline.newcomer_changed", field=v(p.get("field")), value=v(p.get("value")))
    if "on" in p:  # a step recorded with the day it happened
        return tr.t("timeline.on_day", day=d(p.get("on")))
    return ""


def report_tables(tr: Translator, rep: dict) -> list[dict]:
    """The report's tables (:func:`engine.reports.tables`) with translated titles and row keys."""
    from engine import reports

    out = []
    office_names = {office["office"]: office["name"] for region in rep.get("first_registrations", {}).get("rows", [])
                    for office in region["offices"]}
    for section, _title, headers, rows in reports.tables(rep):
        shown, nested = [], []
        for row in rows:
            key = str(row[0])
            nested.append(key.startswith("office="))
            if key.startswith("office="):  # an office of Tabel 1: its own name (data of the dated office list)
                code = key.partition("=")[2]
                key = office_names.get(code) or (code if code != "-" else tr.t("report.no_office"))
            elif key.startswith("city="):
                key = tr.t(f"report.city.{key.partition('=')[2]}")
            elif "=" in key:
                prefix, _, code = key.partition("=")
                key = tr.t("chart.no_advice") if code == "none" else tr.v(code)
            elif "/" in key:
                key = " / ".join(tr.v(part) if part != "-" else "–" for part in key.split("/"))
            else:
                key = (tr.t("reportcol.total") if key == "total" else tr.t("chart.no_advice") if key == "none"
                       else tr.v(key))
            shown.append([key] + [_cell(tr, h, value) for h, value in zip(headers[1:], row[1:])])
        out.append({"section": section, "title": tr.t(f"report.{section}"),
                    "headers": [_header(tr, h) for h in headers], "rows": shown, "nested": nested,
                    "grouped": any(nested)})
    return out


def _header(tr: Translator, header: str) -> str:
    return tr.t(f"reportcol.{header}")


def _cell(tr: Translator, header: str, value) -> str:
    """A figure in the reader's format: shares as ``12,5 %``, counts as ``1.234``, months as ``7,5``."""
    from . import messages

    if value is None:
        return tr.t("common.none")
    if header.startswith("share") or header.endswith("rate"):
        return messages.percent(tr.lang, value * 100)
    if isinstance(value, (int, float)):
        return messages.number(tr.lang, value, None if isinstance(value, int) else 1)
    return str(value)


def divergence_text(tr: Translator, divergence: dict) -> str:
    """A replay's first divergence (:mod:`engine.replay`) in the reader's words: what differs at which
    journal line; the English ``message`` stays for logs and the API."""
    seq = divergence.get("seq")
    seq = tr.t("common.none") if seq is None else str(seq)
    field = divergence.get("field")
    if divergence.get("kind") == "tamper":
        return tr.t("divergence.tamper", seq=seq)
    if field in ("entry", "decision", "kind", "hash"):
        return tr.t(f"divergence.{field}", seq=seq)
    return tr.t("divergence.field", seq=seq, field=_state_label(tr, field))


def _state_label(tr: Translator, name) -> str:
    """A field of the dossier's state by its label: a form field's, else the dossier page's, else as named."""
    from . import messages

    if f"field.{name}" not in MESSAGES and f"dossier.{name}" in MESSAGES:
        return tr.t(f"dossier.{name}")
    return messages.field_label(tr.lang, name)


def state_divergence_text(tr: Translator, divergence: dict) -> str:
    """The as-of check's divergence: the stored state differs from the journal's fold in these fields."""
    fields = ", ".join(_state_label(tr, name) for name in divergence.get("fields", ()))
    return tr.t("divergence.state", fields=fields or tr.t("common.none"))

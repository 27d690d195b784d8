"""Letters to the newcomer: what each one states, journaled with its content hash (TRAJECTORY.md §6.1,
§6.3, §6.4: the notice of default and every decision of the enforcement officer are sent as a letter;
the hand-over to enforcement is notified the same way).

Design:

* A letter is **decided with the act it announces**: :func:`issue` is called by the service operation
  that emits the notice (``issue_notice``), the hand-over (``hand_over``) or the decision
  (``record_decision``), in the same unit of work. Its :class:`engine.facts.LetterIssued` fact is in
  the same transaction and the same hash chain, and a replay re-derives it like any other fact (a
  letter another version of the code would word with other facts is a divergence).
* ``content`` holds **every fact the letter states** — dates, the infraction, the regularisation
  deadline, the amount or the fine range, the legal basis with its dated source, the objection
  deadline, the officer's motivation, the agency — so the PDF can be rendered again at any time from
  the journal alone (``letters/render.py``) and says exactly what was sent. Nothing in it is read from
  the dossier at rendering time. No personal data (INSZ, birth date, nationality) is in it: the
  register extract has no name or address; the letter is addressed by dossier number and the agency
  mails it to the address in the national register.
* ``hash`` = sha256 of the canonical JSON of ``{"template", "content"}``: the proof of what was sent.
  The template's wording is chosen by the dated parameter ``letter_templates`` (a new wording is a new
  template file from a new date), so the recorded template name re-renders the letter as sent.
* Legal values come from dated parameters (``letter_legal_basis``, ``objection_days``,
  ``regularisation_days``, ``fine_min``, ``fine_max``), each recorded with its value, start date and
  source (:func:`cited`).
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Optional

from rules import dates, parameters

from . import facts as f

#: the letters the engine issues, by the act they announce, with the code that ends their reference
#: (IG ingebrekestelling, OD overdracht, BS beslissing): one of each at most per infraction, so
#: ``{infraction}/{code}`` is unique and depends on nothing else of the history — a journal of an older
#: release, which recorded no letters, is advanced by this one with the same references its replay gives
KINDS = {"notice_of_default": "IG", "hand_over": "OD", "decision": "BS"}
#: who signs the decision: the enforcement officer of the Agentschap Binnenlands Bestuur (TRAJECTORY.md
#: glossary "handhavingsambtenaar (ABB)", §6.4); the other letters come from the dossier's agency (§1)
ENFORCEMENT_SENDER = "abb"


def sender_of(kind: str, agency: Optional[str]) -> Optional[str]:
    """Who sends a letter, and so whose mailing batch it is in (:func:`of_day`)."""
    return ENFORCEMENT_SENDER if kind == "decision" else agency


def cited(name: str, on: date, part: Optional[str] = None) -> dict:
    """A dated parameter as a letter states it: value (or one ``part`` of a mapping), start, source."""
    dated = parameters.current().in_force(name, on)
    value = parameters.value(name, on)
    if part is not None:
        value = value[part]
    return {"parameter": name, "value": value, "from": dated.start.isoformat(), "source": dated.source}


def content_hash(template: str, content: dict) -> str:
    """sha256 of the canonical JSON of the template name and the content (what proves the letter)."""
    text = json.dumps({"template": template, "content": content}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _infraction(infraction) -> dict:
    return {"id": infraction.id, "type": infraction.type, "component": infraction.component,
            "established_on": infraction.established_on.isoformat(), "deadline": infraction.deadline,
            "deadline_last_timely": infraction.deadline_last_timely.isoformat()
            if infraction.deadline_last_timely else None}


def _objection(on: date) -> dict:
    days = cited("objection_days", on)
    # the last day to object, counted like every legal period (TRAJECTORY.md §5, rules/dates.py)
    return {"days": days, "last_day": dates.last_timely_day(on, days=days["value"]).isoformat()}


def _fine_range(on: date) -> dict:
    return {"min": cited("fine_min", on), "max": cited("fine_max", on)}


def notice_content(state, infraction, on: date) -> dict:
    """§6.1: the infraction, the regularisation period and its last day, what may follow (a fine in the
    range in force), how to object."""
    return {
        "regularisation": {"days": cited("regularisation_days", on),
                           "base_last_day": infraction.regularisation_base_last_day.isoformat(),
                           "last_day": infraction.regularisation_last_day.isoformat()},
        "fine_range": _fine_range(on),
        "objection": _objection(on),
    }


def hand_over_content(state, infraction, on: date) -> dict:
    """§6.3: the period that ended without regularisation, the hand-over day, the fine range the officer
    decides in."""
    return {
        "notice_on": infraction.notice_on.isoformat() if infraction.notice_on else None,
        "regularisation": {"last_day": infraction.regularisation_last_day.isoformat()
                           if infraction.regularisation_last_day else None},
        "handed_over_on": on.isoformat(),
        "fine_range": _fine_range(on),
    }


def decision_content(state, infraction, on: date) -> dict:
    """§6.4, §6.8: the decision, the amount of a fine (with the range in force), the officer's
    motivation as written (law of 29 July 1991), how to appeal."""
    return {
        "decision": infraction.decision,
        "outcome": infraction.outcome,
        "fine_eur": infraction.fine_eur,
        "fine_range": _fine_range(on) if infraction.decision == "fine" else None,
        "motivation": infraction.motivation,
        "officer": None,  # filled by issue(): the officer who signed the decision
        "notice_on": infraction.notice_on.isoformat() if infraction.notice_on else None,
        "handed_over_on": infraction.handed_over_on.isoformat() if infraction.handed_over_on else None,
        "objection": _objection(on),
    }


_BUILDERS = {"notice_of_default": notice_content, "hand_over": hand_over_content, "decision": decision_content}


def issue(ctx, kind: str, infraction, on: date, *, process=None, actor: str = "system",
          extra: Optional[dict] = None) -> f.LetterIssued:
    """Emit the :class:`engine.facts.LetterIssued` of ``kind`` for ``infraction`` dated ``on``, after the
    fact of the act it announces was applied (the state holds its dates)."""
    state = ctx.state
    content = {
        "letter": kind,
        "dossier": state.id,
        "reference": f"{infraction.id}/{KINDS[kind]}",
        "on": on.isoformat(),
        "agency": state.agency,
        "sender": sender_of(kind, state.agency),
        "region": state.region,
        "infraction": _infraction(infraction),
        "legal_basis": cited("letter_legal_basis", on, kind),
        **_BUILDERS[kind](state, infraction, on),
        **(extra or {}),
    }
    name = (state.newcomer.get("name") or "").strip()
    if name:  # the register name, when the extract carried one (a letter without it keeps its old content)
        content["addressee"] = name
    template = parameters.value("letter_templates", on)[kind]
    return ctx.emit(f.LetterIssued(on, kind, infraction.id, template, content, content_hash(template, content)),
                    actor=actor, process=process)


# ---------------------------------------------------------------- reading letters back from the journal


def _letter(dossier_id: str, number: int, entry) -> dict:
    data = json.loads(entry.payload)
    return {"dossier_id": dossier_id, "number": number, "reference": data["content"]["reference"], "seq": entry.seq, "letter": data["letter"],
            "on": data["on"], "infraction": data["infraction"], "template": data["template"],
            "content": data["content"], "hash": data["hash"], "issued_at": entry.business_time,
            "sender": data["content"].get("sender")}


def of_dossier(session, dossier_id: str) -> list[dict]:
    """Every letter of a dossier, numbered 1, 2, ... in the order issued (its place in the journal: the
    number in the download address; the letter itself names its reference)."""
    from sqlmodel import select

    from .models import JournalEntry

    entries = session.exec(select(JournalEntry).where(JournalEntry.dossier_id == dossier_id,
                                                      JournalEntry.kind == f.LetterIssued.kind)
                           .order_by(JournalEntry.seq)).all()
    return [_letter(dossier_id, number, entry) for number, entry in enumerate(entries, start=1)]


def of_day(session, day: date, sender: Optional[str] = None) -> list[dict]:
    """The letters issued (entered in the journal) on ``day`` by the store's clock, of one sender or all:
    one agency's mailing of the day, by dossier and letter number."""
    from sqlmodel import func, select

    from .models import JournalEntry

    entries = session.exec(select(JournalEntry).where(JournalEntry.kind == f.LetterIssued.kind,
                                                      JournalEntry.business_date == day.isoformat())
                           .order_by(JournalEntry.dossier_id, JournalEntry.seq)).all()
    out = []
    for entry in entries:
        data = json.loads(entry.payload)
        if sender is None or data["content"].get("sender") == sender:
            number = session.exec(select(func.count()).select_from(JournalEntry).where(
                JournalEntry.dossier_id == entry.dossier_id, JournalEntry.kind == f.LetterIssued.kind,
                JournalEntry.seq <= entry.seq)).one()
            out.append(_letter(entry.dossier_id, number, entry))
    return out

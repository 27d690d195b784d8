"""Finding and owning work (issue 14, point 3): search, claims, the worklist's owner filter and the
enforcement queue of infractions.

* **Search** by dossier id, a prefix, case-insensitive (``demo-00`` finds ``DEMO-002``), and by name:
  every word typed must occur in the register name (``name`` of ``engine/schemas/newcomer.json``,
  optional), regardless of case and accents (``celik`` finds ``Çelik``). The name is folded once, at the
  import, into the ``dossier.name_key`` column (revision 0008). A name is personal data: it is shown to
  those who may read the dossier and never logged.
* **Claims** (table ``dossier_claim``, revision 0007): one caseworker works a dossier. A caseworker
  claims a dossier of their own agency and releases their own claim; an admin assigns a dossier to a
  caseworker and releases any claim. Claiming a dossier someone else holds is a conflict (409,
  ``dossier_claimed``); the time is the store's business clock.
* **Enforcement queue**: one row per handed-over infraction (TRAJECTORY.md §6.4: the officer decides
  each infraction), filtered by agency, infraction type and hand-over dates, sorted, paged; its total
  counts infractions, not dossiers.
"""
from __future__ import annotations

import unicodedata
from datetime import date
from typing import Optional

from sqlalchemy import and_, delete, false, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from . import context
from .dossier import decode_state
from .errors import Conflict, InvalidInput, NotFound
from .models import Dossier, DossierClaim

CLAIM = DossierClaim.__table__
DOSSIER = Dossier.__table__

#: the sort keys of the enforcement queue (a leading ``-``: descending)
QUEUE_SORTS = ("handed_over_on", "established_on", "dossier_id", "type", "agency")
#: the sort keys of the worklist
WORKLIST_SORTS = ("deadline", "dossier_id")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_key(name: Optional[str]) -> Optional[str]:
    """A name folded for search: accents off, case folded, one space between words (``" Ayşe  Çelik"`` →
    ``"ayse celik"``); None for no name."""
    if not name or not name.strip():
        return None
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def search(engine, query: str, *, agency: Optional[str] = None, limit: int = 20) -> dict:
    """Dossiers whose id starts with ``query`` (case-insensitive) or whose name holds every word of it
    (case and accents ignored), ``agency``'s only when given; id order."""
    text = query.strip()
    if not text:
        raise InvalidInput("$.query.q", "type at least one character of a dossier id or a name", code="search_empty")
    pattern = _escape_like(text.lower()) + "%"
    words = (name_key(text) or "").split()
    by_name = and_(*[DOSSIER.c.name_key.like("%" + _escape_like(w) + "%", escape="\\") for w in words]) \
        if words else false()
    where = [or_(func.lower(DOSSIER.c.id).like(pattern, escape="\\"), by_name)]
    if agency is not None:
        where.append(DOSSIER.c.agency == agency)
    with engine.reading() as connection:
        total = connection.execute(select(func.count()).select_from(DOSSIER).where(*where)).scalar_one()
        rows = connection.execute(
            select(DOSSIER.c.id, DOSSIER.c.agency, DOSSIER.c.target_group, DOSSIER.c.waiting_on, CLAIM.c.user,
                   DOSSIER.c.state)
            .select_from(DOSSIER.outerjoin(CLAIM, CLAIM.c.dossier_id == DOSSIER.c.id))
            .where(*where).order_by(DOSSIER.c.id).limit(limit)).all()
    return {"query": text, "total": total, "limit": limit,
            "items": [{"dossier_id": r.id, "agency": r.agency, "target_group": r.target_group,
                       "name": _name(r.state),
                       "waiting_on": [s for s in (r.waiting_on or "").split(",") if s], "claimed_by": r.user}
                      for r in rows]}


def _name(stored) -> Optional[str]:
    """The register name as imported (from the stored state: only the rows found are read)."""
    return (decode_state(stored).get("newcomer") or {}).get("name")


# ----- claims ---------------------------------------------------------------------------------------------
def claim_of(connection, dossier_id: str) -> Optional[dict]:
    row = connection.execute(select(CLAIM).where(CLAIM.c.dossier_id == dossier_id)).first()
    return _claim_dict(row) if row is not None else None


def _claim_dict(row) -> dict:
    return {"dossier_id": row.dossier_id, "user": row.user, "assigned_by": row.assigned_by,
            "claimed_at": row.claimed_at}


def _dossier_agency(connection, dossier_id: str) -> Optional[str]:
    row = connection.execute(select(DOSSIER.c.agency).where(DOSSIER.c.id == dossier_id)).first()
    if row is None:
        raise NotFound(f"dossier {dossier_id!r} not found", code="dossier_not_found", params={"dossier": dossier_id})
    return row.agency


def _visible(actor, agency: Optional[str], dossier_id: str) -> None:
    """A caseworker sees only dossiers of their agency (others answer 404, as a read does)."""
    if actor.role == "caseworker" and (actor.agency is None or actor.agency != agency):
        raise NotFound(f"dossier {dossier_id!r} not found", code="dossier_not_found", params={"dossier": dossier_id})


def claim(engine, dossier_id: str, actor, *, user: Optional[str] = None) -> dict:
    """Claim ``dossier_id`` for ``actor`` (a caseworker), or assign it to ``user`` (an admin).

    Idempotent for the holder (claiming one's own dossier again changes nothing); held by another:
    :class:`Conflict` ``dossier_claimed`` naming the holder. A dossier waiting on nothing may be claimed
    too (a caseworker may follow it up)."""
    owner = user if user is not None else actor.user
    now = engine.clock.now()
    with engine._writing() as connection:
        _visible(actor, _dossier_agency(connection, dossier_id), dossier_id)
        current = claim_of(connection, dossier_id)
        if current is not None:
            if current["user"] == owner:
                return current
            raise Conflict(f"dossier {dossier_id!r} is claimed by {current['user']}", code="dossier_claimed",
                           params={"dossier": dossier_id, "user": current["user"]})
        row = {"dossier_id": dossier_id, "user": owner, "assigned_by": actor.user, "claimed_at": now.isoformat()}
        try:
            connection.execute(insert(CLAIM).values(**row))
        except IntegrityError:  # a claim by another process between our read and our insert (PostgreSQL)
            raise Conflict(f"dossier {dossier_id!r} was claimed meanwhile", code="dossier_claimed_meanwhile",
                           params={"dossier": dossier_id}) from None
    return row


def release(engine, dossier_id: str, actor) -> dict:
    """Release the claim on ``dossier_id``: a caseworker their own, an admin any. Not claimed: 409
    ``dossier_not_claimed``; claimed by another caseworker: 409 ``dossier_claimed``."""
    with engine._writing() as connection:
        _visible(actor, _dossier_agency(connection, dossier_id), dossier_id)
        current = claim_of(connection, dossier_id)
        if current is None:
            raise Conflict(f"dossier {dossier_id!r} is not claimed", code="dossier_not_claimed",
                           params={"dossier": dossier_id})
        if actor.role != "admin" and current["user"] != actor.user:
            raise Conflict(f"dossier {dossier_id!r} is claimed by {current['user']}, not by you",
                           code="dossier_claimed", params={"dossier": dossier_id, "user": current["user"]})
        connection.execute(delete(CLAIM).where(CLAIM.c.dossier_id == dossier_id))
    return {"dossier_id": dossier_id, "released": True, "user": current["user"]}


def claims_of(engine, dossier_ids) -> dict[str, str]:
    """dossier id → the caseworker holding it, for the given ids."""
    ids = list(dossier_ids)
    if not ids:
        return {}
    with engine.reading() as connection:
        rows = connection.execute(select(CLAIM.c.dossier_id, CLAIM.c.user).where(CLAIM.c.dossier_id.in_(ids)))
        return {r.dossier_id: r.user for r in rows}


# ----- the enforcement queue --------------------------------------------------------------------------------
def _sort_key(sort: str):
    name = sort.lstrip("-")
    if name not in QUEUE_SORTS:
        raise InvalidInput("$.query.sort", f"unknown sort {sort!r}; known: {', '.join(QUEUE_SORTS)} "
                                           "(a leading - sorts descending)", code="unknown_sort")
    return name, sort.startswith("-")


def enforcement_queue(engine, *, offset: int = 0, limit: int = 50, agency: Optional[str] = None,
                      infraction_type: Optional[str] = None, handed_over_from: Optional[date] = None,
                      handed_over_to: Optional[date] = None, sort: str = "handed_over_on") -> dict:
    """Handed-over infractions waiting for a decision, one item per infraction (id like ``DEMO-002/1``).

    ``total`` counts the infractions that match. The dossiers waiting on a decision are read from the
    ``waiting_on`` column (and ``agency``); the infractions of each from its stored state. Sorted by
    ``sort`` and then by dossier and infraction id, so a page is stable."""
    name, descending = _sort_key(sort)
    if handed_over_from and handed_over_to and handed_over_from > handed_over_to:
        raise InvalidInput("$.query.handed_over_from", f"{handed_over_from} is after handed_over_to "
                                                       f"({handed_over_to})", code="empty_range")
    where = [DOSSIER.c.waiting_on.contains("decide", autoescape=True)]
    if agency is not None:
        where.append(DOSSIER.c.agency == agency)
    items = []
    with engine.reading() as connection:
        rows = connection.execute(select(DOSSIER).where(*where)).all()
        for row in rows:
            state = context.stored_state(connection, row)
            for infraction in state.infractions:
                if infraction.outcome != "handed_over":
                    continue
                if infraction_type is not None and infraction.type != infraction_type:
                    continue
                handed = infraction.handed_over_on
                if handed_over_from is not None and (handed is None or handed < handed_over_from):
                    continue
                if handed_over_to is not None and (handed is None or handed > handed_over_to):
                    continue
                items.append({"infraction_id": infraction.id, "infraction": infraction.id,
                              "dossier_id": row.id, "type": infraction.type, "component": infraction.component,
                              "agency": row.agency, "region": row.region, "target_group": row.target_group,
                              "established_on": _iso(infraction.established_on),
                              "notice_on": _iso(infraction.notice_on), "handed_over_on": _iso(handed),
                              "version": row.version})
    items.sort(key=lambda i: (i["dossier_id"], _seq(i["infraction_id"])))
    items.sort(key=lambda i: (i[name] is None, i[name] or ""), reverse=descending)
    claimed = claims_of(engine, {i["dossier_id"] for i in items[offset:offset + limit]})
    page = [{**i, "claimed_by": claimed.get(i["dossier_id"])} for i in items[offset:offset + limit]]
    return {"total": len(items), "offset": offset, "limit": limit, "sort": sort, "items": page}


def _seq(infraction_id: str):
    tail = infraction_id.rsplit("/", 1)[-1]
    return (0, int(tail), "") if tail.isdigit() else (1, 0, infraction_id)


def _iso(value) -> Optional[str]:
    return value.isoformat() if value else None




# ----- the register extract (upload) and the journal export -------------------------------------------------
class ExtractInvalid(InvalidInput):
    """A register extract with bad lines: every problem with its line number and JSON path; nothing imported."""

    def __init__(self, problems: list[dict]):
        first = problems[0]
        super().__init__(f"$[{first['line']}]{first['path'][1:]}",
                         f"{len(problems)} bad line(s); nothing imported; first: line {first['line']}: "
                         f"{first['path']}: {first['message']}",
                         code="extract_invalid", params={"problems": problems})
        self.problems = problems


#: most lines one upload may hold (a bigger extract goes through ``inburgering import``)
MAX_EXTRACT_LINES = 10_000


def check_lines(text: str, *, may_import=None) -> tuple[list[tuple[int, dict]], list[dict]]:
    """Every line of a register extract (JSON lines, ``engine/schemas/newcomer.json``) checked without the
    store: JSON, schema, birth date, INSZ checksum, municipality, an id repeated in the file, and
    ``may_import(newcomer)`` (a message when this user may not import that line, else None). Returns the
    good lines ``(number, newcomer)`` and the problems ``{line, path, message}``; values are never echoed
    (an INSZ may be in them). Blank lines are skipped. ``inburgering import`` checks its file with this too."""
    import json

    from rules import geography

    from .commands import validate_newcomer

    newcomers, problems, first_line = [], [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            newcomer = json.loads(line)
        except (ValueError, RecursionError) as error:
            problems.append({"line": number, "path": "$", "message": f"not valid JSON ({getattr(error, 'msg', error)})"})
            continue
        try:
            validate_newcomer(newcomer)
            geography.locate(newcomer["nis_code"])
        except InvalidInput as error:
            problems.append({"line": number, "path": error.path, "message": error.detail})
            continue
        except ValueError as error:
            problems.append({"line": number, "path": "$.nis_code", "message": str(error)})
            continue
        if newcomer["id"] in first_line:
            problems.append({"line": number, "path": "$.id",
                             "message": f"the id is also on line {first_line[newcomer['id']]}"})
            continue
        first_line[newcomer["id"]] = number
        refusal = may_import(newcomer) if may_import is not None else None
        if refusal:
            problems.append({"line": number, "path": "$.nis_code", "message": refusal})
            continue
        newcomers.append((number, newcomer))
    return newcomers, problems


def parse_extract(engine, text: str, *, may_import=None, scope: Optional[tuple[str, str]] = None) -> list[dict]:
    """The newcomers of an uploaded extract, all lines checked first (:func:`check_lines`) and then against
    the store (an id it already holds). Raises :class:`ExtractInvalid` listing every bad line; an extract
    without any newcomer, or longer than :data:`MAX_EXTRACT_LINES`, is invalid. ``scope``: (the caseworker's
    agency, the refusal text) — an id another agency holds gets the same refusal as another agency's
    newcomer, so an upload reveals nothing of other agencies' dossiers (api/routes/newcomers.py)."""
    if text.count("\n") >= MAX_EXTRACT_LINES:
        raise ExtractInvalid([{"line": MAX_EXTRACT_LINES + 1, "path": "$",
                               "message": f"more than {MAX_EXTRACT_LINES} lines; use `inburgering import`"}])
    newcomers, problems = check_lines(text, may_import=may_import)
    if not newcomers and not problems:
        problems.append({"line": 1, "path": "$", "message": "the extract holds no newcomer"})
    if newcomers:
        with engine.reading() as connection:
            ids = [n["id"] for _, n in newcomers]
            known: dict[str, Optional[str]] = {}
            for start in range(0, len(ids), 500):
                rows = connection.execute(select(DOSSIER.c.id, DOSSIER.c.agency)
                                          .where(DOSSIER.c.id.in_(ids[start:start + 500])))
                known.update({r.id: r.agency for r in rows})
        for number, newcomer in newcomers:
            if newcomer["id"] not in known:
                continue
            if scope is not None and known[newcomer["id"]] != scope[0]:
                problems.append({"line": number, "path": "$.nis_code", "message": scope[1]})
            else:
                problems.append({"line": number, "path": "$.id", "message": "a dossier with this id already exists"})
    if problems:
        raise ExtractInvalid(sorted(problems, key=lambda p: p["line"]))
    return [n for _, n in newcomers]


def import_extract(engine, text: str, actor, *, may_import=None, scope: Optional[tuple[str, str]] = None) -> dict:
    """Validate the whole extract (:func:`parse_extract`), then import each newcomer; counts per target group."""
    newcomers = parse_extract(engine, text, may_import=may_import, scope=scope)
    counts: dict[str, int] = {}
    for newcomer in newcomers:
        result = engine.import_newcomer(newcomer, actor=actor)
        counts[result["target_group"]] = counts.get(result["target_group"], 0) + 1
    return {"imported": len(newcomers), "target_groups": counts}


JOURNAL_COLUMNS = ("seq", "business_time", "effective_date", "kind", "actor", "schema_version", "process_version",
                   "ruleset", "rule_version", "payload", "hash")


def journal_entries(engine, dossier_id: str) -> list[dict]:
    """Every journal entry of a dossier, oldest first (as ``GET /dossiers/{id}/history`` gives them)."""
    from sqlmodel import Session

    from . import journal

    with Session(engine.db) as session:
        return [journal.entry_dict(e) for e in journal.history(session, dossier_id, limit=None)]


def journal_csv(entries: list[dict]) -> str:
    """One row per entry; ``payload`` as compact JSON; cells a spreadsheet would run as a formula are quoted."""
    import csv
    import io
    import json

    from .access_log import _safe_cell

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(JOURNAL_COLUMNS)
    for entry in entries:
        row = []
        for name in JOURNAL_COLUMNS:
            value = entry.get(name)
            if name == "payload":
                value = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            row.append("" if value is None else _safe_cell(value))
        writer.writerow(row)
    return out.getvalue()

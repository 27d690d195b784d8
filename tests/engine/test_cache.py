"""The dossier cache (engine/cache.py): a speed-up that must never change what the engine does."""
from __future__ import annotations

from datetime import date

import pytest

from engine.cache import CachedDossier, DossierCache
from engine.errors import Conflict, Refused
from engine.service import bootstrap
from engine.settings import Settings

from .helpers import CASEWORKER, newcomer


@pytest.fixture
def clock():
    """The obligation start of ``helpers.newcomer()``: a command is dated today, and a day before the
    obligation start is refused (engine/service.py ``_effective_day``)."""
    from engine.clock import ManualClock, brussels_instant

    return ManualClock(brussels_instant(date(2024, 1, 31)))


@pytest.fixture
def two_engines(database_url, clock):
    """Two engines on one store, as two processes would be (each with its own cache)."""
    settings = Settings(database_url=database_url, demo_data=False)
    first, second = bootstrap(settings, clock), bootstrap(settings, clock)
    yield first, second
    first.db.dispose()
    second.db.dispose()


def _entry(version: int) -> CachedDossier:
    return CachedDossier(version, row=None, state=None, instances={}, timers=set())


def test_take_returns_an_entry_once_and_only_at_its_version():
    cache = DossierCache(4)
    cache.put("A", _entry(3))
    assert cache.take("A", 2) is None  # stale: dropped, not returned
    assert cache.take("A", 3) is None  # ... and gone
    cache.put("A", _entry(3))
    assert cache.take("A", 3).version == 3
    assert cache.take("A", 3) is None  # taken out: a second unit of work reloads
    assert (cache.stats.hits, cache.stats.misses) == (1, 3)


def test_a_forgotten_dossier_does_not_come_back_from_memory():
    """A deleted dossier (the replay store forgets each one it compared) is dropped, live or packed."""
    cache = DossierCache(4, live=1)
    cache.put("A", _entry(1))
    cache.put("B", _entry(1))  # packs A
    cache.forget("A")
    cache.forget("B")
    cache.forget("C")  # never there: nothing to do
    assert len(cache) == 0
    assert cache.take("A", 1) is None and cache.take("B", 1) is None


def test_least_recently_used_entries_are_dropped_beyond_capacity():
    cache = DossierCache(2)
    for name in "ABC":
        cache.put(name, _entry(1))
    assert len(cache) == 2 and cache.stats.evictions == 1
    assert cache.take("A", 1) is None and cache.take("C", 1) is not None
    off = DossierCache(0)
    off.put("A", _entry(1))
    assert len(off) == 0
    with pytest.raises(ValueError):
        DossierCache(-1)


def test_steps_continue_from_the_cache(engine):
    engine.import_newcomer(newcomer())
    engine.handle("N1", "registered", {}, actor=CASEWORKER)
    hits = engine.cache.stats.hits
    engine.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)
    assert engine.cache.stats.hits == hits + 1
    assert engine.dossier_view("N1")["advice"] == "cvo_standard"


def test_a_refused_command_leaves_nothing_it_changed_in_memory(engine):
    engine.import_newcomer(newcomer())
    engine.handle("N1", "registered", {}, actor=CASEWORKER)
    with pytest.raises(Refused):
        # refused by the handler after the command was journaled in memory
        engine.handle("N1", "registered", {}, actor=CASEWORKER)
    engine.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)
    kinds = [e["kind"] for e in engine.history("N1")["entries"]]
    assert kinds.count("command") == 2  # registered, intake: the refused one left no trace
    assert engine.dossier_view("N1")["advice"] == "cvo_standard"


def test_another_process_saving_the_dossier_makes_the_cached_copy_stale(two_engines):
    """Two engines (two processes) on one store: each reloads what the other saved."""
    first, second = two_engines
    first.import_newcomer(newcomer())
    first.handle("N1", "registered", {}, actor=CASEWORKER)  # first caches version 2
    second.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)  # version 3
    first.handle("N1", "contract_signed", {"components": ["mo", "nt2"]}, actor=CASEWORKER)
    view = first.dossier_view("N1")
    assert view["advice"] == "cvo_standard" and view["contract_signed_on"] is not None
    assert view["version"] == 4
    # first's copy (version 2) still waited at intake, so the gate refused contract_signed on it: the
    # store had moved on, and the command was decided again on the store's rows
    assert first.cache.stats.stale == 1


def test_an_expected_version_newer_than_the_cached_copy_is_checked_against_the_store(two_engines):
    """If-Match with the version another process wrote: not refused because this process's copy is older."""
    first, second = two_engines
    first.import_newcomer(newcomer())
    first.handle("N1", "registered", {}, actor=CASEWORKER)  # first caches version 2
    second.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)  # version 3
    result = first.handle("N1", "contract_signed", {"components": ["mo", "nt2"]}, actor=CASEWORKER,
                          expected_version=3)
    assert result["version"] == 4
    with pytest.raises(Conflict):  # and an expected version the store does not have is still refused
        second.handle("N1", "test_result", {"component": "nt2", "level": "A2"}, actor=CASEWORKER,
                      expected_version=3)


def test_a_step_on_a_cached_dossier_reads_nothing_before_its_write(engine):
    """The write's version check guards a cached copy, so a command on one runs no read snapshot: the
    first statement of the step is the versioned update of the dossier row."""
    from sqlalchemy import event

    engine.import_newcomer(newcomer())
    engine.handle("N1", "registered", {}, actor=CASEWORKER)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()[:3]).upper())

    event.listen(engine.db, "before_cursor_execute", record)
    try:
        engine.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)
    finally:
        event.remove(engine.db, "before_cursor_execute", record)
    statements = [s for s in statements if not s.startswith("BEGIN")]  # SQLite's explicit BEGIN IMMEDIATE
    assert statements and statements[0].startswith("UPDATE DOSSIER SET"), statements
    assert not any(s.startswith("SELECT") for s in statements), statements
    assert engine.dossier_view("N1")["advice"] == "cvo_standard"


def test_a_cache_often_outdated_by_other_processes_asks_the_version_first(two_engines):
    """Two processes taking turns on the same dossiers: once more than about one cached copy in twenty
    was stale, a command reads the row's version before deciding (a stale copy is then a plain miss,
    not a wasted decision), and the steps still land."""
    from sqlalchemy import event

    first, second = two_engines
    first.import_newcomer(newcomer())
    steps = [("registered", {}), ("intake", {"advice": "cvo_standard"}),
             ("contract_signed", {"components": ["mo", "nt2", "pnt"]}),
             ("test_result", {"component": "mo", "core_percent": 80, "total_percent": 75}),
             ("test_result", {"component": "nt2", "level": "A2"}), ("pnt_hours", {"hours": 40})]
    for number, (event_type, payload) in enumerate(steps[:5]):
        (first if number % 2 == 0 else second).handle("N1", event_type, payload, actor=CASEWORKER)
    assert first.cache.stats.stale == 2 and not first.cache.trusted()
    stale = first.cache.stats.stale
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()[:2]).upper())

    event.listen(first.db, "before_cursor_execute", record)
    try:
        first.handle("N1", *steps[5], actor=CASEWORKER)
    finally:
        event.remove(first.db, "before_cursor_execute", record)
    assert [s for s in statements if not s.startswith("BEGIN")][0] == "SELECT DOSSIER.VERSION", statements
    assert first.cache.stats.stale == stale  # read, not decided on a stale copy
    assert first.dossier_view("N1")["version"] == 7
    assert DossierCache().trusted()  # a new cache trusts its entries


def test_the_cache_can_be_switched_off(database_url, clock):
    engine = bootstrap(Settings(database_url=database_url, demo_data=False, cache_size=0), clock)
    try:
        engine.import_newcomer(newcomer())
        engine.handle("N1", "registered", {}, actor=CASEWORKER)
        engine.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)
        assert len(engine.cache) == 0 and engine.cache.stats.hits == 0
        assert engine.dossier_view("N1")["advice"] == "cvo_standard"
    finally:
        engine.db.dispose()


def test_the_cache_size_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("INBURGERING_CACHE_SIZE", "12")
    assert Settings.from_env().cache_size == 12
    for bad in ("many", "-1"):
        monkeypatch.setenv("INBURGERING_CACHE_SIZE", bad)
        with pytest.raises(ValueError, match="INBURGERING_CACHE_SIZE"):
            Settings.from_env()


def test_a_command_raced_by_another_writer_is_decided_again_on_the_fresh_state(two_engines):
    """Optimistic commands: the writer that loses the version check re-runs, nothing is lost or doubled."""
    first, second = two_engines
    first.import_newcomer(newcomer())
    first.handle("N1", "registered", {}, actor=CASEWORKER)
    commit = first._commit
    rivals = [("intake", {"advice": "cvo_standard"})]

    def commit_after_a_rival(ctx):
        if rivals:  # between first's load and its save, another process saves the dossier
            event, payload = rivals.pop(0)
            second.handle("N1", event, payload, actor=CASEWORKER)
        commit(ctx)

    first._commit = commit_after_a_rival
    first.handle("N1", "contract_signed", {"components": ["mo", "nt2"]}, actor=CASEWORKER)
    view = first.dossier_view("N1")
    assert view["advice"] == "cvo_standard" and view["contract_signed_on"] is not None
    assert view["version"] == 4
    commands = [e["payload"]["type"] for e in first.history("N1")["entries"] if e["kind"] == "command"]
    assert commands == ["registered", "intake", "contract_signed"]
    rivals.append(("test_result", {"component": "mo", "core_percent": 80, "total_percent": 75}))
    with pytest.raises(Conflict):  # with an explicit expected version the race is refused, not re-run
        first.handle("N1", "test_result", {"component": "nt2", "level": "A2"}, actor=CASEWORKER,
                     expected_version=4)
    view = first.dossier_view("N1")
    assert view["version"] == 5  # only the rival's step was written
    assert view["components"]["mo"]["fulfilled_on"] and not view["components"]["nt2"]["fulfilled_on"]


def test_concurrent_commands_on_one_dossier_all_land_with_their_own_versions(two_engines):
    """Threads of two engines (two processes) hammer one dossier: no command is refused for contention,
    none is lost, each reports the version it wrote, and the journal chain holds."""
    import threading

    from sqlmodel import Session

    from engine import journal

    first, second = two_engines
    first.import_newcomer(newcomer())
    start = first.dossier_view("N1")["version"]
    versions, failures = [], []

    def work(engine):
        for _ in range(8):
            try:
                answer = engine.handle("N1", "activity", {"kind": "work", "from": "2024-01-01",
                                                          "to": "2024-01-02"}, actor=CASEWORKER)
                versions.append(answer["version"])
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                failures.append(repr(err))

    threads = [threading.Thread(target=work, args=(engine,)) for engine in (first, first, second, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(versions) == list(range(start + 1, start + 33))
    assert len(first.dossier_state("N1").activities) == 32
    with Session(first.db) as session:
        assert [d for d, problem in journal.verify_all(session) if problem] == []


def test_a_write_inside_a_write_on_the_same_sqlite_store_is_an_error_not_a_hang(tmp_path, clock):
    engine = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/store.db", demo_data=False), clock)
    try:
        engine.import_newcomer(newcomer())
        with engine.session():
            with pytest.raises(RuntimeError, match="inside another"):
                engine.handle("N1", "registered", {}, actor=CASEWORKER)
    finally:
        engine.db.dispose()


def test_after_three_lost_races_a_command_is_decided_under_the_write_lock(two_engines):
    first, second = two_engines
    first.import_newcomer(newcomer())
    first.handle("N1", "registered", {}, actor=CASEWORKER)
    commit, raced = first._commit, []

    def lose_every_race(ctx):
        raced.append(second.handle("N1", "activity", {"kind": "work", "from": "2024-01-01",
                                                      "to": "2024-01-02"}, actor=CASEWORKER)["version"])
        commit(ctx)

    first._commit = lose_every_race
    answer = first.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)
    assert len(raced) == 3  # three optimistic attempts lost; the fourth took the lock
    assert answer["version"] == raced[-1] + 1 == first.dossier_view("N1")["version"]
    assert first.dossier_view("N1")["advice"] == "cvo_standard"
    assert len(first.dossier_state("N1").activities) == 3


def test_older_entries_are_packed_and_the_least_recent_go_first():
    cache = DossierCache(3, live=1)
    live = CachedDossier(1, row=None, state=object(), instances={}, timers=set())
    cache.put("A", live)
    cache.put("B", _entry(1))
    packed = cache.take("A", 1)
    assert packed.packed and packed.state is None  # only the rows as written are kept
    for name in "ACD":
        cache.put(name, _entry(1))
    assert len(cache) == 3 and cache.stats.evictions == 1
    assert cache.take("B", 1) is None  # the least recently saved (packed) went first
    assert not cache.take("D", 1).packed and cache.take("A", 1).packed
    with pytest.raises(ValueError):
        DossierCache(4, live=-1)


def _history(engine, clock) -> list[tuple]:
    """One dossier through steps, a missed VDAB deadline, its notice and hand-over, and steps after."""
    from datetime import date

    from .helpers import on

    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 10), "registered")
    on(engine, clock, date(2024, 2, 20), "intake", {"advice": "cvo_standard"})
    on(engine, clock, date(2024, 3, 1), "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    on(engine, clock, date(2024, 9, 2), "test_result", {"component": "mo", "core_percent": 80, "total_percent": 75},
       since=date(2024, 3, 2))
    on(engine, clock, date(2024, 9, 3), "vdab_registered")
    return [(e["seq"], e["kind"], e["hash"]) for e in engine.history("N1")["entries"]]


def test_packed_entries_give_the_same_journal_as_live_ones_and_as_no_cache(tmp_path):
    """A packed entry is rebuilt from the rows it wrote: the same decisions, to the hash."""
    from datetime import date

    from engine.clock import ManualClock, brussels_instant

    journals, stats = {}, {}
    for name, size, live in (("off", 0, 0), ("packed", 16, 0), ("live", 16, 16)):
        clock = ManualClock(brussels_instant(date(2024, 1, 31)))
        engine = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/{name}.db", demo_data=False,
                                    cache_size=size, cache_live=live), clock)
        try:
            journals[name] = _history(engine, clock)
            stats[name] = engine.cache.stats.hits
        finally:
            engine.db.dispose()
    assert len(journals["off"]) > 20 and any(kind == "notice_issued" for _, kind, _ in journals["off"])
    assert journals["packed"] == journals["off"] == journals["live"]
    assert stats["off"] == 0 and stats["packed"] >= 5 and stats["live"] >= 5


def test_the_live_share_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("INBURGERING_CACHE_LIVE", "7")
    assert Settings.from_env().cache_live == 7
    monkeypatch.setenv("INBURGERING_CACHE_LIVE", "some")
    with pytest.raises(ValueError, match="INBURGERING_CACHE_LIVE"):
        Settings.from_env()


def test_a_packed_entry_frees_its_live_instances_at_once(database_url, clock):
    """Packing breaks the instance's reference cycles: it is freed by reference counting, not left
    as garbage for a full collection (engine/heap.py)."""
    import gc
    import weakref

    engine = bootstrap(Settings(database_url=database_url, demo_data=False, cache_size=8, cache_live=1), clock)
    try:
        engine.import_newcomer(newcomer("N1"))
        engine.handle("N1", "registered", {}, actor=CASEWORKER)
        workflow = engine.cache._live["N1"].instances["N1:0:trajectory"].workflow
        task = weakref.ref(next(iter(workflow.tasks.values())))
        gc.disable()  # freed or not, without the cyclic collector
        try:
            engine.import_newcomer(newcomer("N2"))  # N1's entry is packed
            assert engine.cache._packed["N1"].packed and workflow.tasks == {} and workflow.script_engine is None
            assert task() is None  # its tasks are gone already
            freed = weakref.ref(workflow)
            del workflow
            assert freed() is None  # and the instance with the last reference
        finally:
            gc.enable()
        engine.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)  # rebuilt from the rows
        assert engine.dossier_view("N1")["advice"] == "cvo_standard"
    finally:
        engine.db.dispose()


def test_a_swept_dossier_is_cached_packed_and_steps_on_from_there(database_url, clock):
    """The sweep's dossiers go into the cache packed (no caseworker is on them now: a live entry
    would only age through the garbage collector's generations), and a later step takes them from
    there without reading the store, to the same outcome as a step on a live entry."""
    from datetime import timedelta

    from timers.sweep import sweep

    engine = bootstrap(Settings(database_url=database_url, demo_data=False, cache_size=8, cache_live=8), clock)
    try:
        engine.import_newcomer(newcomer("N1"))
        engine.import_newcomer(newcomer("N2"))
        engine.handle("N2", "registered", {}, actor=CASEWORKER)
        assert "N1" in engine.cache._live  # a step's (here: the import's) dossier stays live
        clock.advance(timedelta(days=95))  # past the 3-month registration deadline of N1
        report = sweep(engine)
        assert report.timers >= 1 and not report.errors
        assert "N1" in engine.cache._packed and "N1" not in engine.cache._live
        hits = engine.cache.stats.hits
        engine.handle("N1", "registered", {}, actor=CASEWORKER)  # rebuilt from the packed rows
        assert engine.cache.stats.hits == hits + 1
        assert engine.dossier_view("N1")["waiting_on"]  # and it goes on
    finally:
        engine.db.dispose()

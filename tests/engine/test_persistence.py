"""An instance saved and reloaded at every wait state continues exactly as one kept in memory."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from engine import spiff
from engine.clock import ManualClock
from engine.processes import ProcessRepository

DUE = {"registration": "2024-05-01T00:00:00+02:00", "vdab": "2024-06-01T00:00:00+02:00",
       "reregistration": None, "b1": "2026-07-16T00:00:00+02:00"}
# The trajectory's caseworker steps in the order a newcomer goes through them, and the
# instants at which the clock stands when each is completed.
STEPS = [("register", datetime(2024, 5, 2, 9, tzinfo=timezone.utc)),   # after the registration deadline fired
         ("intake", datetime(2024, 5, 10, 9, tzinfo=timezone.utc)),
         ("contract", datetime(2024, 5, 20, 9, tzinfo=timezone.utc)),
         ("mo", datetime(2024, 6, 3, 9, tzinfo=timezone.utc)),         # after the VDAB deadline fired
         ("nt2", datetime(2024, 7, 1, 9, tzinfo=timezone.utc)),
         ("vdab", datetime(2024, 7, 2, 9, tzinfo=timezone.utc)),
         ("pnt", datetime(2024, 7, 3, 9, tzinfo=timezone.utc))]
FINAL = datetime(2026, 7, 17, 2, tzinfo=timezone.utc)


def _drive(reload_every_step: bool):
    repo = ProcessRepository()
    spec = spiff.parse_process(repo.read_sources()["trajectory"], "trajectory", "trajectory.bpmn")
    clock = ManualClock(datetime(2024, 1, 31, tzinfo=timezone.utc))
    calls = []

    def dispatch(task, operation, params):
        calls.append((clock.now().date().isoformat(), operation, params))
        return {"b1_in_scope": True} if operation == "issue_attest" else {}

    def bind(workflow):
        spiff.bind(workflow, clock, dispatch, {"due": DUE.get})
        return workflow

    workflow = bind(spiff.new_workflow(spec))
    spiff.run(workflow)
    trace = [spiff.wait_states(workflow)]
    for step, instant in STEPS + [(None, FINAL)]:
        if reload_every_step:
            state = json.loads(json.dumps(spiff.dump_state(workflow)))
            workflow = bind(spiff.load_state(state, spec))
        clock.set(instant)
        spiff.run(workflow)
        if step is not None:
            assert spiff.complete_user_task(workflow, step, {"step": step}), f"{step} was not ready"
        trace.append((step, spiff.wait_states(workflow), sorted(t for t, _ in spiff.waiting_timers(workflow))))
    return trace, calls, workflow.completed


def test_reloaded_instance_continues_exactly_like_the_one_in_memory():
    in_memory = _drive(reload_every_step=False)
    reloaded = _drive(reload_every_step=True)
    assert reloaded == in_memory
    trace, calls, completed = in_memory
    operations = [op for _, op, _ in calls]
    # The registration and VDAB deadlines fired once each, on their own day, and the trajectory ran to its end.
    assert ("2024-05-02", "establish_infraction", {"trigger": "registration_deadline"}) in calls
    assert ("2024-06-03", "establish_infraction", {"trigger": "vdab_deadline"}) in calls
    assert operations.count("establish_infraction") == 2
    assert operations[-2:] == ["issue_attest", "b1_check"]
    assert completed


def test_state_at_rest_carries_no_spec():
    repo = ProcessRepository()
    spec = spiff.parse_process(repo.read_sources()["trajectory"], "trajectory", "trajectory.bpmn")
    workflow = spiff.new_workflow(spec)
    spiff.bind(workflow, ManualClock(datetime(2024, 1, 1, tzinfo=timezone.utc)), lambda *a: {}, {"due": DUE.get})
    spiff.run(workflow)
    state = spiff.dump_state(workflow)
    assert "spec" not in state and "subprocess_specs" not in state
    assert spiff.wait_states(spiff.load_state(state, spec)) == ["register", "registration_deadline",
                                                                  "reregistration_deadline"]


def _contracted_trajectory(engine, clock):
    """The stored trajectory instance row (and its spec) of a newcomer registered and under contract
    for MO and NT2: an instance with data, deltas and parallel branches."""
    from sqlalchemy import select

    from engine.models import Instance
    from .helpers import newcomer, on
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 1), "registered")
    on(engine, clock, date(2024, 2, 2), "contract_signed", {"components": ["mo", "nt2"]})
    with engine.reading() as connection:
        row = connection.execute(select(Instance).where(Instance.process_name == "trajectory")).one()
        return row, engine.processes.spec(connection, row.definition_id)


def test_the_compact_state_format_keeps_everything_but_the_task_ids(engine, clock):
    """Format 2 (engine/spiff.py compact/expand) is format 1 with tasks as rows: expanding it gives the
    same tasks, in the same order, with the same states, specs, data and tree, under positional ids."""
    import json
    import zlib

    from engine import spiff
    row, spec = _contracted_trajectory(engine, clock)
    assert row.state_format == spiff.STATE_FORMAT == 2
    workflow = spiff.load_state(json.loads(zlib.decompress(row.state)), spec)
    original = spiff._state_converter.to_dict(workflow)  # format-1 content of the loaded instance
    roundtrip = spiff.expand(spiff.compact(original))
    order = {task_id: i for i, task_id in enumerate(original["tasks"])}
    assert len(roundtrip["tasks"]) == len(original["tasks"])
    for (old_id, old), new in zip(original["tasks"].items(), roundtrip["tasks"].values()):
        for key in ("state", "task_spec", "data", "internal_data", "triggered", "delta", "typename"):
            assert old[key] == new[key], key
        assert abs(old["last_state_change"] - new["last_state_change"]) < 1e-5
        assert [order[c] for c in old["children"]] == [list(roundtrip["tasks"]).index(c) for c in new["children"]]
    # a format-1 blob (release 0.1) is read through the upcaster
    again = spiff.load_state(original, spec, state_format=1)
    assert sorted(t.task_spec.name for t in again.get_tasks()) == sorted(t.task_spec.name for t in workflow.get_tasks())


def test_the_fast_state_path_writes_and_reads_what_spiffs_converter_does(engine, clock):
    """``spiff.dump_state``/``load_state`` build the compact rows straight from the tasks and back (no
    format-1 dict in between); Spiff's own converter (``reference_*``) is the oracle: on the instances of
    a dossier taken through the registration deadline, its notice, the hand-over, a late registration,
    a contract with components, test results and a decision, every stored state is the same dict and
    the same JSON both ways, and what each path loads dumps the same again."""
    import copy
    import json
    import zlib

    from sqlalchemy import select

    from engine import spiff
    from engine.models import Instance
    from .helpers import through_every_wait_state

    seen: set = set()

    def compare_all() -> None:
        with engine.reading() as connection:
            rows = connection.execute(select(Instance)).all()
            for row in rows:
                spec = engine.processes.spec(connection, row.definition_id)
                state = json.loads(zlib.decompress(row.state))
                fast = spiff.load_state(copy.deepcopy(state), spec)
                reference = spiff.reference_load_state(copy.deepcopy(state), spec)
                assert spiff.dump_state(fast) == spiff.reference_dump_state(fast) == state
                text = zlib.decompress(row.state)
                plain = spiff.load_state(json.loads(text), spec, plain=spiff.is_plain(text))  # as the engine loads
                assert spiff.dump_state(plain) == state
                assert [(t.task_spec.name, t.state, t.data) for t in plain.get_tasks()] == \
                    [(t.task_spec.name, t.state, t.data) for t in fast.get_tasks()]
                assert json.dumps(spiff.dump_state(reference)) == json.dumps(spiff.reference_dump_state(reference))
                assert spiff.wait_states(fast) == spiff.wait_states(reference)
                assert [(t.task_spec.name, t.state, t.data) for t in fast.get_tasks()] == \
                    [(t.task_spec.name, t.state, t.data) for t in reference.get_tasks()]
                seen.add((row.process_name, tuple(spiff.wait_states(fast))))

    through_every_wait_state(engine, clock, compare_all)
    assert {name for name, _ in seen} == {"trajectory", "enforcement"} and len(seen) >= 4


def test_the_dossier_state_at_rest_reads_back_equal(engine, clock):
    """``DossierState.to_json`` leaves out what equals its default (compact at rest); ``from_json`` must
    give the same state back, or a dossier read from the store (every cache miss) differs from the one a
    unit of work kept in memory. Found by the property test: a deadline's base day equal to its last
    timely day came back as None, and a suspension recorded after a reload moved the deadline with no
    base, so the stored state and the journal's fold disagreed."""
    from engine.dossier import DossierState
    from .helpers import newcomer, on

    engine.import_newcomer(newcomer())
    states = [engine.dossier_state("N1")]
    on(engine, clock, date(2024, 2, 20), "suspended", {"from": "2024-02-01", "to": "2024-02-10"})
    states.append(engine.dossier_state("N1"))
    on(engine, clock, date(2024, 6, 10), "registered", since=date(2024, 2, 20))
    on(engine, clock, date(2024, 6, 11), "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    states.append(engine.dossier_state("N1"))
    deadline = states[0].deadlines["registration"]
    assert deadline.base_last_timely == deadline.last_timely  # the case to_json leaves out
    assert states[1].deadlines["registration"].base_last_timely == deadline.last_timely
    for state in states:
        assert DossierState.from_json(state.to_json()) == state


def test_the_dossier_state_is_encoded_as_its_json_at_rest(engine, clock):
    """``DossierState.encoded`` (one orjson pass, what every save writes to ``dossier.state``) holds the
    JSON data of ``encode_state(to_json())`` (the reference; the same text but for characters outside
    ASCII, written as UTF-8 instead of escapes), and reads back to the same state: in every wait state of
    both processes, with a suspension (a deadline whose base day differs), an infraction handed over
    and decided, and on values no scenario holds (a tuple, an empty tuple, a nested date and datetime,
    a dataclass in a list, a name outside ASCII)."""
    import dataclasses
    import zlib
    from engine.dossier import Component, DossierState, decode_state, encode_state
    from .helpers import on, through_every_wait_state

    states = []

    def collect() -> None:
        states.append(engine.dossier_state("N1"))

    through_every_wait_state(engine, clock, collect, components=("mo", "nt2", "vdab", "pnt"))
    on(engine, clock, date(2024, 6, 20), "suspended", {"from": "2024-06-14", "to": "2024-06-19"})
    collect()
    assert any(d.base_last_timely not in (None, d.last_timely) for s in states for d in s.deadlines.values())
    assert any(i.decision for s in states for i in s.infractions) and any(s.suspensions for s in states)
    from datetime import datetime, timezone

    odd = dataclasses.replace(states[-1], reasons=(),
                              newcomer={**states[-1].newcomer, "seen": (date(2024, 1, 2),), "name": "Zoë Ğül",
                                        "at": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)},
                              letters=[Component(True, date(2024, 3, 4))])
    for state in states + [odd]:
        ours, reference = zlib.decompress(state.encoded()), zlib.decompress(encode_state(state.to_json()))
        assert json.loads(ours) == json.loads(reference)
        if state is not odd:
            assert DossierState.from_json(decode_state(state.encoded())) == state
    assert ours != reference and ours.decode() == json.dumps(json.loads(reference), separators=(",", ":"),
                                                              ensure_ascii=False)


def test_states_at_rest_are_zlib_streams_with_a_small_window(engine, clock):
    """engine/atrest.py: what every save writes (instance states, the aggregate) is a zlib stream that
    zlib.decompress reads, with an 8 KiB window named in its header, no larger than zlib.compress at
    the same level would write for any stored state (the window is not too small for them)."""
    import zlib

    from sqlalchemy import select

    from engine import atrest
    from engine.models import Dossier, Instance
    from .helpers import through_every_wait_state

    blobs = []

    def collect() -> None:
        with engine.reading() as connection:
            blobs.extend(row.state for row in connection.execute(select(Instance)).all())
            blobs.extend(connection.execute(select(Dossier.state)).scalars().all())

    through_every_wait_state(engine, clock, collect, components=("mo", "nt2", "vdab", "pnt"))
    assert len(blobs) >= 10
    for blob in blobs:
        blob = bytes(blob)
        assert blob[0] >> 4 == atrest.WINDOW_BITS - 8  # CINFO: log2(window) - 8
        data = zlib.decompress(blob)
        assert atrest.compress(data) == blob
        assert len(blob) <= len(zlib.compress(data, atrest.LEVEL))
    assert zlib.decompress(atrest.compress(b"x" * 100_000)) == b"x" * 100_000


def test_json_at_rest_reads_what_the_standard_library_wrote():
    """engine/atrest.py: orjson writes the compact JSON json.dumps wrote (ASCII data: the same bytes),
    and reads what json.dumps could write that orjson refuses (NaN, an integer beyond 64 bits)."""
    import json

    from engine import atrest

    data = {"tasks": [[-1, [1], 64, "Start", 505, {"delta": {"updates": {"x": 1.5}, "deletions": []}}]],
            "t0": 1764770000.123456, "ok": True, "none": None}
    assert atrest.dumps(data) == json.dumps(data, separators=(",", ":")).encode()
    assert atrest.loads(atrest.dumps(data)) == data
    odd = json.dumps({"n": float("nan"), "big": 2 ** 70})
    loaded = atrest.loads(odd)
    assert loaded["big"] == 2 ** 70 and loaded["n"] != loaded["n"]


def test_tasks_read_without_their_constructor_are_made_as_spiffs(engine, clock):
    """``load_state`` makes each task without ``Task.__init__`` (engine/spiff.py): every task has the
    attributes Spiff's converter gives it, set in the same order (one instance layout), with the same
    values but the ids: tree, state, spec, thread, trigger, data, internal data, state-change time."""
    import json
    import zlib

    from engine import spiff
    row, spec = _contracted_trajectory(engine, clock)
    state = json.loads(zlib.decompress(row.state))
    ours = spiff.load_state(json.loads(json.dumps(state)), spec)
    theirs = spiff.reference_load_state(state, spec)
    assert len(ours.tasks) == len(theirs.tasks) > 20
    position = {}
    for i, (a, b) in enumerate(zip(ours.tasks.values(), theirs.tasks.values())):
        position[a.id], position[b.id] = i, i
    for a, b in zip(ours.tasks.values(), theirs.tasks.values()):
        assert list(vars(a)) == list(vars(b))
        assert a.workflow is ours and b.workflow is theirs
        assert position.get(a._parent) == position.get(b._parent)
        assert [position[c] for c in a._children] == [position[c] for c in b._children]
        for name in ("_state", "triggered", "task_spec", "thread_id", "data", "internal_data"):
            assert getattr(a, name) == getattr(b, name), name
        assert abs(a.last_state_change - b.last_state_change) < 1e-5
        assert ours.tasks[a.id] is a

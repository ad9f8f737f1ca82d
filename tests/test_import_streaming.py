"""The per-row state a streamed import keeps between chunks, checked against plain Python sets and dicts; and the
writing of one chunk behind the planning of the next."""

import threading

import numpy as np
import pytest

from canvass.importing.streaming import IdSet, KeyMap, write_behind


def test_id_set_holds_what_a_set_holds_stand_ins_included():
    rng = np.random.default_rng(7)
    held, oracle = IdSet(), set()
    for _ in range(60):
        ids = rng.integers(-5_000, 200_000, size=int(rng.integers(0, 4_000)))  # repeats within and across chunks
        held.add(ids)
        oracle.update(ids.tolist())
        asked = rng.integers(-6_000, 250_000, size=4_000)
        assert held.contains(asked).tolist() == [value in oracle for value in asked.tolist()]
        assert len(held) == len(oracle)
    assert held.contains(np.array([], dtype=np.int64)).tolist() == []


def test_id_set_takes_a_bit_an_id():
    held = IdSet()
    held.add(np.arange(1, 1_000_001))
    assert len(held) == 1_000_000
    assert held._bits[1].nbytes < 200_000  # a million ids: 125 kB of bits, not 16 MB of pairs
    assert held.contains(np.array([0, 1, 1_000_000, 1_000_001])).tolist() == [False, True, True, False]


@pytest.mark.parametrize("spill_keys", [None, 5_000], ids=["in memory", "spilled to files"])
def test_key_map_keeps_each_keys_first_id_over_chunks(spill_keys):
    rng = np.random.default_rng(3)
    keys, oracle = KeyMap(spill_keys=spill_keys), {}
    for _ in range(40):
        chunk = rng.integers(0, 50_000, size=int(rng.integers(1, 3_000))).astype(np.uint64)
        ids = rng.integers(-1_000_000, 2**31 - 1, size=len(chunk))
        first = {}
        for key, value in zip(chunk.tolist(), ids.tolist(), strict=True):
            first.setdefault(key, value)
        keys.add(chunk, ids)
        for key, value in first.items():
            oracle.setdefault(key, value)
    asked = np.arange(0, 60_000, dtype=np.uint64)
    found, ids = keys.get(asked)
    assert found.tolist() == [key in oracle for key in range(60_000)]
    assert ids.tolist() == [oracle.get(key, 0) for key in range(60_000)]
    assert all(run_ids.dtype == np.int32 for _, run_ids in keys.runs)  # 12 bytes a key
    assert len(keys.runs) <= 17  # runs halve in size: a few, however many chunks
    if spill_keys:
        assert len(keys.spilled) >= 3 and sum(len(run) for run, _ in keys.runs) <= spill_keys
        keys.close()


def test_a_big_key_map_keeps_a_bounded_part_in_memory_and_finds_every_key():
    rng = np.random.default_rng(5)
    keys = KeyMap(spill_keys=200_000)
    added = []
    for start in range(0, 1_000_000, 50_000):
        chunk = rng.integers(0, 2**63, size=50_000, dtype=np.int64).astype(np.uint64)
        keys.add(chunk, np.arange(start, start + 50_000))
        added.append(chunk)
    held = sum(run.nbytes + ids.nbytes for run, ids in keys.runs)
    filters = sum(run.filter.words.nbytes + run.firsts.nbytes for run in keys.spilled)
    assert held <= 200_000 * 12 and filters <= 1_000_000 * 2.1  # 2 bytes a spilled key, not 12
    every = np.concatenate(added)
    found, ids = keys.get(every)
    assert found.all() and (ids == np.arange(1_000_000)).all()
    strangers = rng.integers(0, 2**63, size=100_000, dtype=np.int64).astype(np.uint64)
    assert not keys.get(strangers)[0].any()
    # The filter lets few strangers through to the files
    let_through = sum(int(run.filter.may_hold(np.sort(strangers)).sum()) for run in keys.spilled)
    assert let_through < 0.01 * len(strangers) * len(keys.spilled)
    keys.close()


def test_key_map_refuses_an_id_past_32_bits():
    with pytest.raises(OverflowError):
        KeyMap().add(np.array([1], dtype=np.uint64), np.array([2**31]))


def test_a_chunk_written_behind_is_written_while_the_caller_goes_on_and_waited_for_in_order():
    log, release = [], threading.Event()

    def slow_write(name):
        def write():
            release.wait(5)
            log.append(f"wrote {name}")
            return name
        return write

    with write_behind(enabled=True) as behind:
        behind.submit(slow_write("one"), then=lambda name: log.append(f"counted {name}"))
        log.append("planned two")  # the caller goes on while the first chunk is written
        release.set()
        behind.submit(slow_write("two"), then=lambda name: log.append(f"counted {name}"))  # waits for "one" first
    assert log == ["planned two", "wrote one", "counted one", "wrote two", "counted two"]


def test_a_failed_write_behind_stops_the_caller_at_its_next_wait_and_nothing_after_it_is_written():
    written = []

    def fails():
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"), write_behind(enabled=True) as behind:
        behind.submit(fails, then=written.append)
        behind.submit(lambda: "later", then=written.append)
    assert written == []


def test_when_the_caller_fails_the_writing_under_way_is_finished_before_the_error_goes_on():
    finished = threading.Event()

    def write():
        threading.Event().wait(0.2)
        finished.set()

    with pytest.raises(KeyError), write_behind(enabled=True) as behind:
        behind.submit(write, then=lambda _: None)
        raise KeyError("planning the next chunk failed")
    assert finished.is_set()  # the transaction is not rolled back under a COPY still running


def test_written_at_once_when_writing_behind_is_off():
    log = []
    with write_behind(enabled=False) as behind:
        behind.submit(lambda: log.append("wrote") or 1, then=lambda _: log.append("counted"))
        assert log == ["wrote", "counted"]

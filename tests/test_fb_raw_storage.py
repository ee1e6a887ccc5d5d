"""Raw recording: segments, Parquet compaction, truncated segments, flush policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dreamband.errors import InputFileError
from dreamband.storage.raw import RawRecorder, list_streams, read_gaps, read_stream
from firmware_bridge.types import Gap, SampleBlock


def _block(first: int, n: int = 12, t0: float = 0.0) -> SampleBlock:
    idx = np.arange(first, first + n)
    return SampleBlock("AA:BB:CC:DD:EE:FF", "eeg", ("TP9", "AF7"), 256.0,
                       np.vstack([idx * 1.0, -idx * 1.0]), idx / 256.0, t0 + idx / 256.0,
                       first // n, first)


def test_clean_close_compacts_segments_to_parquet(tmp_path: Path) -> None:
    with RawRecorder(tmp_path, flush_interval=0.1) as rec:
        for k in range(50):
            rec.write(_block(12 * k))
        rec.write(Gap("AA:BB:CC:DD:EE:FF", "eeg", 24, 1.0, 1.1, 600, "loss"))
        for k in range(52, 60):
            rec.write(_block(12 * k))
    assert list_streams(tmp_path) == [("AA_BB_CC_DD_EE_FF", "eeg")]
    assert not list(tmp_path.rglob("*.arrows"))
    t = read_stream(tmp_path, "AA:BB:CC:DD:EE:FF", "eeg")
    idx = t.column("index").to_numpy()
    assert t.num_rows == 58 * 12 and idx[0] == 0 and idx[-1] == 60 * 12 - 1
    np.testing.assert_array_equal(t.column("ch_AF7").to_numpy(), -idx)
    gaps = read_gaps(tmp_path, "AA:BB:CC:DD:EE:FF")
    assert gaps.column("missing").to_pylist() == [24]


def test_truncated_segment_reads_up_to_last_complete_batch(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path, flush_interval=0.0)
    for k in range(10):
        rec.write(_block(12 * k))  # one batch per block
    seg = next(tmp_path.rglob("seg-*.arrows"))
    data = seg.read_bytes()
    seg.write_bytes(data[: len(data) - 100])  # a batch cut in the middle, as by kill -9
    t = read_stream(tmp_path, "AA:BB:CC:DD:EE:FF", "eeg")
    assert t.num_rows == 9 * 12
    np.testing.assert_array_equal(t.column("index").to_numpy(), np.arange(108))


def test_rows_wait_at_most_the_flush_interval(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path, flush_interval=1.0)
    rec.write(_block(0))  # host time up to 11/256 s
    seg = next(tmp_path.rglob("seg-*.arrows"))
    size = seg.stat().st_size
    rec.flush_older_than(-1.0)
    assert seg.stat().st_size == size  # too young: still buffered
    rec.flush_older_than(0.5)
    assert seg.stat().st_size > size


def test_missing_stream_and_bad_items_raise(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no recorded samples"):
        read_stream(tmp_path, "nobody", "eeg")
    rec = RawRecorder(tmp_path)
    with pytest.raises(TypeError, match="SampleBlock or Gap"):
        rec.write("not a block")  # type: ignore[arg-type]
    rec.close()
    with pytest.raises(ValueError, match="closed"):
        rec.write(_block(0))


def test_a_crashed_run_is_merged_on_the_next_clean_close_with_differing_schemas(
        tmp_path: Path) -> None:
    crashed = RawRecorder(tmp_path, flush_interval=0.0)
    for k in range(5):
        crashed.write(_block(12 * k))  # left as segments, as after kill -9
    # the band comes back with a third channel: the segments' schemas differ
    idx = np.arange(60, 72)
    wider = SampleBlock("AA:BB:CC:DD:EE:FF", "eeg", ("TP9", "AF7", "AF8"), 256.0,
                        np.vstack([idx * 1.0, -idx * 1.0, idx * 2.0]), idx / 256.0, idx / 256.0,
                        5, 60)
    with RawRecorder(tmp_path, flush_interval=0.0) as rec:
        rec.write(wider)
    assert not list(tmp_path.rglob("*.arrows"))  # the crashed run's segments too
    t = read_stream(tmp_path, "AA:BB:CC:DD:EE:FF", "eeg")
    assert sorted(t.column("index").to_pylist()) == list(range(72))
    af8 = t.column("ch_AF8").to_pylist()
    assert af8.count(None) == 60 and 120.0 in af8

"""Result tables: schemas, hive partitions readable by pyarrow/pandas, atomic nights, resume."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dreamband.core import Hypnogram, RemPeriod
from dreamband.storage import results
from dreamband.storage.results import (
    epochs_table,
    is_done,
    read_table,
    rem_periods_table,
    write_night,
)


def night(n: int = 6, seed: int = 0) -> Hypnogram:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(5), size=n)
    return Hypnogram(p.argmax(axis=1), probabilities=p, start_time=datetime(2024, 5, 1, 23, 0))


def test_epochs_table_has_the_documented_schema_and_times() -> None:
    hyp = night()
    table = epochs_table(hyp, "alice")
    assert table.schema.equals(results.SCHEMAS["epochs"])
    assert table.num_rows == 6
    assert table["start_time"][1].as_py() == datetime(2024, 5, 1, 23, 0, 30)
    assert table["p_NREM"].null_count == 6  # aasm scheme: no NREM column values
    np.testing.assert_allclose(table["p_N2"].to_numpy(), hyp.probabilities[:, 2], rtol=1e-6)


def test_nights_are_readable_as_one_hive_dataset(tmp_path) -> None:
    for key, seed in (("001", 0), ("n-2", 1)):
        hyp = night(seed=seed)
        tables = {
            "epochs": epochs_table(hyp, key),
            "rem_periods": rem_periods_table([RemPeriod(30, 90, 1, key, 4)], key),
        }
        write_night(tmp_path, key, tables, {"hash": key})
    epochs = read_table(tmp_path, "epochs")
    assert epochs.num_rows == 12
    assert sorted(set(epochs["night"].to_pylist())) == ["001", "n-2"]  # strings, not ints
    frame = epochs.to_pandas()
    assert set(frame.columns) >= {"participant", "stage", "p_REM", "night"}
    meta = pq.read_schema(tmp_path / "epochs" / "night=001" / "part-0.parquet").metadata
    assert meta[b"dreamband.schema_version"] == results.SCHEMA_VERSION.encode()
    rem = read_table(tmp_path, "rem_periods").to_pylist()
    assert rem[0]["density_per_min"] == pytest.approx(4.0)


def test_a_crash_mid_night_leaves_no_partition_and_no_marker(tmp_path, monkeypatch) -> None:
    hyp = night()
    calls = {"n": 0}
    real_write = pq.write_table

    def failing_write(table: pa.Table, where, **kw) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_write(table, where, **kw)

    monkeypatch.setattr(results.pq, "write_table", failing_write)
    tables = {"epochs": epochs_table(hyp, "a"), "rem_periods": rem_periods_table([], "a")}
    with pytest.raises(OSError, match="disk full"):
        write_night(tmp_path, "a", tables, {"hash": "x"})
    assert not (tmp_path / "epochs").exists()
    assert not is_done(tmp_path, "a", {"hash": "x"})
    assert not any((tmp_path / ".staging").iterdir())


def test_done_marker_must_match_to_skip(tmp_path) -> None:
    write_night(tmp_path, "a", {"epochs": epochs_table(night(), "a")}, {"hash": "h1", "model": 1})
    assert is_done(tmp_path, "a", {"hash": "h1", "model": 1})
    assert not is_done(tmp_path, "a", {"hash": "h2", "model": 1})
    assert not is_done(tmp_path, "b", {"hash": "h1", "model": 1})

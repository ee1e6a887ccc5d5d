"""sleep-accel feature files: subjects, six kinds, label coding, placement on the epoch grid."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.core import SleepStage
from dreamband.errors import InputFileError
from dreamband.io import read_hypnogram
from dreamband.io.sleep_accel import (
    FEATURE_KINDS,
    list_subjects,
    read_sleep_accel_labels,
    read_sleep_accel_subject,
    sleep_accel_stages,
)


def write_subject(folder, sid, labels, hours=None):
    folder.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    hours = np.arange(n) * 30 / 3600 if hours is None else np.asarray(hours)
    (folder / f"{sid}_psg_labels.out").write_text("".join(f"{v:f}\n" for v in labels))
    for kind in FEATURE_KINDS:
        values = hours if kind == "time_feature" else np.linspace(0, 1, n)
        (folder / f"{sid}_{kind}.out").write_text("".join(f"{v:f}\n" for v in values))


def test_labels_map_to_five_classes():
    S = SleepStage
    assert sleep_accel_stages(np.array([0, 1, 2, 3, 4, 5])).tolist() == [
        S.W,
        S.N1,
        S.N2,
        S.N3,
        S.N3,
        S.REM,
    ]
    with pytest.raises(InputFileError, match=r"0\.\.5"):
        sleep_accel_stages(np.array([0, 6]))


def test_subject_reader_and_listing(tmp_path):
    feats = tmp_path / "outputs" / "features"
    write_subject(feats, "46343", [0, 1, 2, 5])
    write_subject(feats, "1066528", [0, 0])
    assert list_subjects(tmp_path) == ["46343", "1066528"]
    sub = read_sleep_accel_subject(tmp_path, "46343")
    assert sub.n_epochs == 4
    assert set(sub.features) == set(FEATURE_KINDS)
    np.testing.assert_allclose(sub.onsets, [0, 30, 60, 90])


def test_unequal_file_lengths_are_named(tmp_path):
    write_subject(tmp_path, "1", [0, 1, 2])
    (tmp_path / "1_hr_feature.out").write_text("0.1\n0.2\n")
    with pytest.raises(InputFileError, match=r"1_hr_feature\.out.*2 lines but 3 labels"):
        read_sleep_accel_subject(tmp_path, "1")


def test_invalid_epochs_between_valid_ones_become_unscored(tmp_path):
    # valid epochs at 0, 30 and 120 s: two invalid epochs in between
    write_subject(tmp_path, "7", [2, 2, 5], hours=np.array([0, 30, 120]) / 3600)
    hyp = read_hypnogram(tmp_path / "7_psg_labels.out")
    assert hyp.stages.tolist() == [2, 2, -1, -1, 4]


@pytest.mark.data
def test_real_label_counts_match_the_manifest(sleep_accel_dir):
    subjects = list_subjects(sleep_accel_dir)
    assert len(subjects) == 31
    totals = np.zeros(6, dtype=int)
    for sid in subjects:
        sub = read_sleep_accel_subject(sleep_accel_dir, sid)
        totals += np.bincount(sub.labels.astype(int), minlength=6)
        hyp = read_sleep_accel_labels(
            sleep_accel_dir / "outputs" / "features" / f"{sid}_psg_labels.out"
        )
        assert int(np.sum(hyp.stages >= 0)) == sub.n_epochs
    # MANIFEST.md: 0: 2,152; 1: 1,761; 2: 12,483; 3: 3,189; 4: 356; 5: 5,540
    assert totals.tolist() == [2152, 1761, 12483, 3189, 356, 5540]

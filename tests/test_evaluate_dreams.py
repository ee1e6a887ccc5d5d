"""Evaluation of the EEG engines on the real DREAMS excerpts (skipped without the data)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamband.cli import main as cli
from dreamband.evaluation.eeg_datasets import LabelledRecord, iter_records
from dreamband.evaluation.eeg_eval import align, evaluate_eeg

pytestmark = pytest.mark.data


def test_rules_engine_keeps_kappa_above_a_floor_on_real_dreams(dreams_dir):
    res = evaluate_eeg("dreams", engine="rules", data=dreams_dir.parent)
    pooled = res["pooled"]
    assert pooled["n"] == 300  # 5 excerpts x 60 epochs of 30 s
    # measured 0.514 (bench/bench_accuracy_dreams.py; YASA 0.436 on the same epochs)
    assert pooled["kappa"] > 0.45
    assert pooled["f1"]["N2"] > 0.7 and pooled["f1"]["N3"] > 0.5
    assert len(res["records"]) == 5
    # N3 told apart from N2 on the excerpts with a real N3 run (excerpt 1's slow waves are
    # small: measured N3 F1 0.71 with the band-limited amplitude threshold, 0 at 75 µV)
    f1 = {r["name"]: r["report"]["f1"] for r in res["records"]}
    assert f1["excerpt1"]["N3"] > 0.5 and f1["excerpt2"]["N3"] > 0.7
    # threshold-free: p(N3) ranks the experts' N3 epochs above their N2 ones on every
    # excerpt whose N3 epochs carry more slow waves (measured AUROC 0.93 / 0.97 / 0.86 /
    # 0.93; excerpt 7's expert N3 does not, slow-wave fraction AUROC 0.47, YASA 0.36)
    auc = {r["name"]: r["report"]["n2_n3_auroc"] for r in res["records"]}
    assert min(auc[k] for k in ("excerpt1", "excerpt2", "excerpt3", "excerpt4")) > 0.8
    assert 0.8 < res["pooled"]["n2_n3_auroc"] <= 1.0
    # five subjects resampled: a wide interval around the pooled kappa
    ci = pooled["intervals"]
    assert ci["n_subjects"] == 5 and ci["replicates"] == 2000
    assert ci["kappa"][0] < pooled["kappa"] < ci["kappa"][1]
    assert ci["kappa"][1] - ci["kappa"][0] > 0.1


def test_live_rules_stay_within_reach_of_batch_on_real_dreams(dreams_dir):
    batch = evaluate_eeg("dreams", engine="rules", data=dreams_dir.parent)["pooled"]["kappa"]
    live = evaluate_eeg("dreams", engine="rules", data=dreams_dir.parent, causal=True)
    # measured 0.514 batch vs 0.423 live (the 0.03 target is not met yet)
    assert live["pooled"]["kappa"] > 0.38
    assert batch - live["pooled"]["kappa"] < 0.13


def test_twenty_second_epochs_match_the_experts_grid(dreams_dir):
    recs = list(iter_records("dreams", dreams_dir.parent, epoch_length=20.0))
    assert [r.labels.size for r in recs] == [90] * 5
    res = evaluate_eeg("dreams", engine="rules", epoch_length=20.0, data=dreams_dir.parent)
    assert res["pooled"]["n"] == 450 and res["pooled"]["kappa"] > 0.42


def test_model_engine_is_scored_leave_one_excerpt_out(dreams_dir):
    res = evaluate_eeg("dreams", engine="model", data=dreams_dir.parent)
    assert res["validation"] == "leave-one-subject-out"
    assert res["pooled"]["n"] == 300
    assert res["pooled"]["kappa"] > 0.1  # tiny training sets (4 excerpts); measured 0.31


def test_evaluate_cli_writes_json(dreams_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    code = cli.main(["evaluate", "dreams", "--data-dir", str(dreams_dir.parent),
                     "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["engine"] == "rules" and len(data["records"]) == 5
    assert len(data["pooled"]["intervals"]["kappa"]) == 2
    text = capsys.readouterr().out
    assert "pooled" in text and "95 % intervals (5 subjects resampled): kappa" in text


def test_align_skips_leading_unlabelled_epochs():
    rec = LabelledRecord("r", "s", None, np.array([2, 2, 3]), 30.0, offset=60.0)
    rows, y = align(rec, 10)
    assert (rows.start, rows.stop) == (2, 5) and y.tolist() == [2, 2, 3]
    rows, y = align(rec, 4)
    assert (rows.start, rows.stop) == (2, 4) and y.tolist() == [2, 2]


def test_train_cli_saves_a_text_model_that_stage_uses(dreams_dir, tmp_path, capsys):
    model = tmp_path / "dreams-local.txt"
    code = cli.main(["train", "dreams", "--data-dir", str(dreams_dir.parent),
                     "--out", str(model)])
    assert code == 0
    meta = json.loads(model.with_suffix(".json").read_text())
    assert meta["training_dataset"] == "dreams" and "do not distribute" in meta["licence_note"]
    assert meta["cv_scores"]["scheme"] == "leave-one-subject-out"
    assert "cross-validated" in capsys.readouterr().out
    out = tmp_path / "h.csv"
    assert cli.main(["stage", str(dreams_dir / "excerpt1.txt"), "--engine", "model",
                     "--model", str(model), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 61


def test_a_dreams_model_is_never_written_into_the_package(dreams_dir, capsys):
    from dreamband.paths import models_dir

    code = cli.main(["train", "dreams", "--data-dir", str(dreams_dir.parent),
                     "--out", str(models_dir() / "eeg_stager_v1.txt")])
    assert code == 2
    assert "may not be shipped" in capsys.readouterr().err
    assert not (models_dir() / "eeg_stager_v1.txt").exists()


def test_training_on_sleep_edf_without_recordings_says_what_to_fetch(sleep_edf_dir, capsys):
    assert cli.main(["train", "sleep-edf", "--data-dir", str(sleep_edf_dir.parent)]) == 2
    assert "dreamband fetch sleep-edf" in capsys.readouterr().err


def test_a_recording_at_half_the_psg_amplitude_still_shows_its_n3(dreams_dir):
    """A headband reading the same sleep 2x smaller: the batch slow-wave threshold follows
    the night (measured pooled kappa 0.377, N3 F1 0.37; 0.216 and 0 with the absolute
    threshold; bench/bench_gain.py)."""
    from dreamband.evaluation.eeg_eval import LABELS, NAMES
    from dreamband.evaluation.metrics import classification_report
    from dreamband.features.eeg import compute_evidence
    from dreamband.staging.rules import stage_rules

    ys, ps, thresholds = [], [], []
    for rec in iter_records("dreams", dreams_dir.parent, 30.0):
        ch = rec.recording.channels[0]
        ev = compute_evidence(ch.data * 0.5, ch.fs, epoch_length=30.0)
        thresholds.append(ev.meta["sw_threshold_uv"])
        p = stage_rules(ev).probabilities.argmax(axis=1)
        rows, y = align(rec, p.size)
        ys.append(y)
        ps.append(p[rows])
    rep = classification_report(np.concatenate(ys), np.concatenate(ps), LABELS, NAMES)
    assert max(thresholds) < 65.0  # every excerpt read as far smaller than a PSG
    assert rep["kappa"] > 0.3 and rep["f1"]["N3"] > 0.2

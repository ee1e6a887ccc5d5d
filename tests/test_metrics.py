"""Metrics against hand-computed confusion matrices and an independent implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamband.evaluation.metrics import (
    classification_report,
    cohen_kappa,
    confusion_matrix,
    format_report,
    pair_auroc,
)

LABELS = [0, 1, 2]
NAMES = ["W", "NREM", "REM"]


def test_confusion_matrix_matches_hand_count_and_ignores_unscored() -> None:
    y_true = [0, 0, 1, 1, 1, 2, 2, -1]
    y_pred = [0, 1, 1, 1, 2, 2, 0, 2]
    cm = confusion_matrix(y_true, y_pred, LABELS)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 1], [1, 0, 1]]


def test_kappa_and_f1_match_hand_computation() -> None:
    y_true = [0, 0, 1, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 0]
    # po = 4/7; row sums (2,3,2), column sums (2,3,2): pe = (4+9+4)/49 = 17/49
    po, pe = 4 / 7, 17 / 49
    rep = classification_report(y_true, y_pred, LABELS, NAMES)
    assert rep["kappa"] == pytest.approx((po - pe) / (1 - pe))
    assert rep["accuracy"] == pytest.approx(po)
    # F1 W: tp 1, support 2, predicted 2 -> 0.5 ; NREM: 2*2/(3+3) ; REM: 2*1/(2+2)
    assert rep["f1"] == pytest.approx({"W": 0.5, "NREM": 2 / 3, "REM": 0.5})
    assert rep["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.5) / 3)
    assert rep["n"] == 7
    text = format_report(rep, "demo")
    assert "kappa 0.3" in text and "REM" in text


def test_perfect_agreement_gives_kappa_one() -> None:
    y = [0, 1, 2, 1, 0]
    assert cohen_kappa(y, y, LABELS) == pytest.approx(1.0)


def test_length_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="differ in length: 3 vs 2"):
        cohen_kappa([0, 1, 2], [0, 1], LABELS)


@pytest.mark.filterwarnings("ignore:.*cohen_kappa_score. is undefined")
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=2, max_size=80),
)
def test_kappa_agrees_with_scikit_learn(pairs: list[tuple[int, int]]) -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    y_true = np.array([a for a, _ in pairs])
    y_pred = np.array([b for _, b in pairs])
    ours = cohen_kappa(y_true, y_pred, LABELS)
    ref = sklearn_metrics.cohen_kappa_score(y_true, y_pred, labels=LABELS)
    if np.isnan(ref):
        return
    assert ours == pytest.approx(ref, abs=1e-12)


def test_pair_auroc_by_hand() -> None:
    # reference: two N3 (code 3) and three N2 (code 2) epochs, one W epoch left out
    y = np.array([3, 3, 2, 2, 2, 0])
    p = np.zeros((6, 5))
    score = [0.9, 0.4, 0.5, 0.1, 0.4, 0.99]  # p(N3) / (p(N2) + p(N3)) per epoch
    p[:, 3] = score
    p[:, 2] = 1 - np.array(score)
    # pairs (N3, N2): 0.9 beats all three; 0.4 beats 0.1, ties 0.4, loses to 0.5 -> 4.5 / 6
    assert pair_auroc(y, p, 3, 2) == pytest.approx(4.5 / 6)
    # the same question asked the other way round (N2 ranked above N3 by p(N2) share)
    assert pair_auroc(y, p, 2, 3) == pytest.approx(4.5 / 6)
    assert np.isnan(pair_auroc(np.array([2, 2, 0, 0, 2, 2]), p, 3, 2))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2, 3]), st.floats(0.01, 0.99)), min_size=2,
                max_size=60))
def test_pair_auroc_agrees_with_scikit_learn(rows: list[tuple[int, float]]) -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    y = np.array([a for a, _ in rows])
    if len(set(y.tolist())) < 2:
        return
    p = np.zeros((y.size, 5))
    p[:, 3] = [b for _, b in rows]
    p[:, 2] = 1.0 - p[:, 3]  # the score p3 / (p2 + p3) is then p3 itself
    ref = sklearn_metrics.roc_auc_score(y == 3, p[:, 3])
    assert pair_auroc(y, p, 3, 2) == pytest.approx(ref, abs=1e-12)


def test_pair_auroc_rejects_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match="n_epochs = 3"):
        pair_auroc([2, 3, 2], np.zeros((4, 5)), 3, 2)

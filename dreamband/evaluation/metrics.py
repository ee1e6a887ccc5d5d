"""Agreement metrics between a reference and a predicted hypnogram.

Everything works on integer stage codes; epochs whose reference code is negative
(unscored) are left out, as the sleep-staging literature does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "classification_report",
    "cohen_kappa",
    "confusion_matrix",
    "format_report",
    "pair_auroc",
]


def _valid(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"reference and prediction differ in length: {y_true.size} vs {y_pred.size} epochs"
        )
    keep = y_true >= 0
    return y_true[keep], y_pred[keep]


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, labels: Sequence[int]
) -> np.ndarray:
    """Confusion matrix with rows = reference, columns = prediction.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        Stage codes per epoch; reference codes < 0 (unscored) are ignored. Predictions
        outside ``labels`` are counted in no column (they only lower accuracy).
    labels : sequence of int
        Codes in row/column order.

    Returns
    -------
    numpy.ndarray
        ``(n_labels, n_labels)`` integer counts.
    """
    t, p = _valid(np.asarray(y_true), np.asarray(y_pred))
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    n = len(labels)
    ti = np.array([index.get(v, -1) for v in t], dtype=int)
    pi = np.array([index.get(v, -1) for v in p], dtype=int)
    ok = (ti >= 0) & (pi >= 0)
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (ti[ok], pi[ok]), 1)
    return cm


def _kappa_from_cm(cm: np.ndarray, n_total: int) -> float:
    if n_total == 0:
        return float("nan")
    po = np.trace(cm) / n_total
    pe = float(cm.sum(axis=1) @ cm.sum(axis=0)) / (n_total * n_total)
    if pe >= 1.0:
        return 1.0 if po >= 1.0 else 0.0
    return float((po - pe) / (1.0 - pe))


def cohen_kappa(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, labels: Sequence[int]
) -> float:
    """Cohen's kappa over the scored epochs (reference code >= 0)."""
    t, _ = _valid(np.asarray(y_true), np.asarray(y_pred))
    return _kappa_from_cm(confusion_matrix(y_true, y_pred, labels), t.size)


def classification_report(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[int],
    names: Sequence[str],
) -> dict:
    """Accuracy, Cohen's kappa, macro-F1, per-stage F1 and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        Reference and predicted stage codes per epoch (reference < 0 is ignored).
    labels : sequence of int
        Stage codes, in the order of ``names`` and of the confusion matrix.
    names : sequence of str
        Stage names (``W N1 N2 N3 REM`` or ``W NREM REM``).

    Returns
    -------
    dict
        ``accuracy``, ``kappa``, ``macro_f1``, ``f1`` (name -> F1, NaN for a stage absent
        from both reference and prediction), ``confusion`` (list of rows, rows =
        reference), ``n`` (scored epochs), ``labels``, ``names``. Macro-F1 averages the
        stages present in the reference.
    """
    if len(labels) != len(names):
        raise ValueError(f"labels and names differ in length: {len(labels)} vs {len(names)}")
    t, _ = _valid(np.asarray(y_true), np.asarray(y_pred))
    cm = confusion_matrix(y_true, y_pred, labels)
    n = int(t.size)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    # Predictions outside `labels` count as wrong for the reference stage's recall.
    support_all = np.array([np.count_nonzero(t == lab) for lab in labels], dtype=float)
    denom = support_all + predicted
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, np.nan)
    present = support_all > 0
    macro = float(np.mean(np.nan_to_num(f1[present]))) if present.any() else float("nan")
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else float("nan"),
        "kappa": _kappa_from_cm(cm, n),
        "macro_f1": macro,
        "f1": {name: float(v) for name, v in zip(names, f1, strict=True)},
        "support": {name: int(v) for name, v in zip(names, support, strict=True)},
        "confusion": cm.tolist(),
        "labels": [int(v) for v in labels],
        "names": list(names),
    }


def pair_auroc(
    y_true: Sequence[int] | np.ndarray, proba: np.ndarray, pos: int, neg: int
) -> float:
    """How well per-epoch probabilities tell one stage from another, threshold-free.

    Among the epochs whose reference is ``pos`` or ``neg``, the area under the ROC curve of
    the score ``p[pos] / (p[pos] + p[neg])``: the chance that a random ``pos`` epoch scores
    above a random ``neg`` epoch (ties count one half). 0.5 is no discrimination. Unlike an
    F1, it does not depend on where the stager draws its decision, so it stays meaningful
    when the reference holds only a few scattered epochs of ``pos``.

    Parameters
    ----------
    y_true : array-like of int
        Reference codes per epoch (< 0: unscored).
    proba : numpy.ndarray
        ``(n_epochs, n_classes)`` probabilities; column ``c`` belongs to code ``c``.
    pos, neg : int
        The two stage codes (columns) to compare, e.g. 3 (N3) and 2 (N2).

    Returns
    -------
    float
        AUROC in [0, 1]; NaN when either stage is absent from the reference.
    """
    from scipy.stats import rankdata

    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"probabilities must be (n_epochs, n_classes) with n_epochs = {y.size}; "
                         f"got shape {p.shape}")
    keep = (y == pos) | (y == neg)
    is_pos = y[keep] == pos
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    a, b = p[keep, pos], p[keep, neg]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(a + b > 0, a / (a + b), 0.5)
    ranks = rankdata(score)
    return float((ranks[is_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def format_report(report: dict, title: str = "") -> str:
    """Render a report from :func:`classification_report` as plain text."""
    names = report["names"]
    lines = []
    if title:
        lines.append(title)
    lines.append(
        f"epochs {report['n']}  accuracy {report['accuracy']:.3f}  kappa {report['kappa']:.3f}  "
        f"macro-F1 {report['macro_f1']:.3f}"
    )
    lines.append("F1  " + "  ".join(f"{n} {report['f1'][n]:.3f}" for n in names))
    ci = report.get("intervals")
    if ci:
        pct = round(100 * ci["level"])
        lines.append(
            f"{pct} % intervals ({ci['n_subjects']} subjects resampled): kappa "
            f"{ci['kappa'][0]:.3f}-{ci['kappa'][1]:.3f}  macro-F1 {ci['macro_f1'][0]:.3f}-"
            f"{ci['macro_f1'][1]:.3f}  F1 "
            + "  ".join(f"{n} {ci['f1'][n][0]:.2f}-{ci['f1'][n][1]:.2f}" for n in names))
    if "n2_n3_auroc" in report:
        lines.append(f"N2/N3 AUROC {report['n2_n3_auroc']:.3f} (expert N3 epochs ranked above "
                     "N2 ones by p(N3) / (p(N2) + p(N3)); 0.5 = no discrimination)")
    width = max(6, *(len(n) + 1 for n in names))
    lines.append("confusion (rows = reference, columns = prediction)")
    lines.append(" " * width + "".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, report["confusion"], strict=True):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)

"""Rapid eye movements from one horizontal EOG or a LOC/ROC pair."""

from __future__ import annotations

import numpy as np

from dreamband.features.detectors import eye_movements

__all__ = ["detect_eye_movements", "match_events"]


def detect_eye_movements(
    loc: np.ndarray,
    fs: float,
    roc: np.ndarray | None = None,
    causal: bool = False,
    amplitude_uv: float = 50.0,
) -> np.ndarray:
    """Times of rapid eye movements.

    Parameters
    ----------
    loc : numpy.ndarray
        Horizontal EOG, or the left outer canthus channel of a pair, in µV.
    fs : float
        Sampling rate in Hz (≥ 10 Hz).
    roc : numpy.ndarray, optional
        Right outer canthus channel (same rate and length) for a pair.
    causal : bool
        Causal filtering and trailing windows (live).
    amplitude_uv : float
        Smallest deflection, peak to peak within 0.5 s, of the (differential) signal.

    Returns
    -------
    numpy.ndarray
        Seconds from the start of the signal, increasing. Gaps in the signal (NaN, as in a
        discontinuous EDF+D read by :func:`dreamband.io.edf.read_edf`) are skipped: the
        pieces between them are searched on their own (each at least 1 s long).

    Raises
    ------
    ValueError
        If the signals are not 1-D, differ in length, or are shorter than 1 s.
    """
    loc = np.asarray(loc, dtype=np.float64)
    if loc.ndim != 1:
        raise ValueError(f"EOG must be 1-D; got shape {loc.shape}")
    if roc is not None:
        roc = np.asarray(roc, dtype=np.float64)
        if roc.shape != loc.shape:
            raise ValueError(f"LOC and ROC differ in shape: {loc.shape} vs {roc.shape}")
    if fs < 10:
        raise ValueError(f"EOG sampling rate {fs:g} Hz is too low; need at least 10 Hz")
    if loc.size < fs:
        raise ValueError(f"EOG lasts {loc.size / fs:.2f} s; need at least 1 s")
    finite = np.isfinite(loc) if roc is None else np.isfinite(loc) & np.isfinite(roc)
    if finite.all():
        _, times = eye_movements(loc, fs, loc.size / fs, causal, roc=roc,
                                 amplitude_uv=amplitude_uv)
        return times
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.view(np.int8), [0]])))
    found = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a < fs:
            continue
        piece = loc[a:b]
        _, t = eye_movements(piece, fs, piece.size / fs, causal,
                             roc=None if roc is None else roc[a:b], amplitude_uv=amplitude_uv)
        found.append(t + a / fs)
    return np.concatenate(found) if found else np.zeros(0)


def match_events(
    reference: np.ndarray, detected: np.ndarray, tolerance: float = 0.5
) -> dict[str, float]:
    """Agreement of two event lists (one-to-one matching within ``tolerance`` s).

    Returns
    -------
    dict
        ``n_reference``, ``n_detected``, ``matched``, ``precision``, ``recall``, ``f1``
        (``detected`` judged against ``reference``) and ``median_offset`` (s).
    """
    ref = np.sort(np.asarray(reference, dtype=float))
    det = np.sort(np.asarray(detected, dtype=float))
    used = np.zeros(ref.size, dtype=bool)
    offsets = []
    for t in det:  # greedy nearest free reference event (lists are short)
        if ref.size == 0:
            break
        i = int(np.searchsorted(ref, t))
        cands = [j for j in (i - 1, i) if 0 <= j < ref.size and not used[j]]
        if not cands:
            continue
        j = min(cands, key=lambda j: abs(ref[j] - t))
        if abs(ref[j] - t) <= tolerance:
            used[j] = True
            offsets.append(t - ref[j])
    m = len(offsets)
    prec = m / det.size if det.size else float("nan")
    rec = m / ref.size if ref.size else float("nan")
    f1 = 2 * m / (det.size + ref.size) if (det.size + ref.size) else float("nan")
    return {
        "n_reference": int(ref.size),
        "n_detected": int(det.size),
        "matched": m,
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "median_offset": float(np.median(offsets)) if offsets else float("nan"),
    }

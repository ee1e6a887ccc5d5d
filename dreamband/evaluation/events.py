"""Agreement of two lists of events with a duration (spindles, K-complexes...)."""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_OVERLAP", "match_intervals"]

#: Smallest intersection over union for two events to match (Warby et al. 2014, Nat
#: Methods 11:385-392, the criterion most spindle studies report).
MIN_OVERLAP = 0.2


def match_intervals(
    ref_start: np.ndarray,
    ref_end: np.ndarray,
    det_start: np.ndarray,
    det_end: np.ndarray,
    min_overlap: float = MIN_OVERLAP,
) -> dict[str, float]:
    """Match detected events to reference events one to one, by overlap.

    Every overlapping pair is scored by its intersection over union (IoU); pairs are
    taken from the best IoU down, each event matched at most once, and a pair counts when
    its IoU is at least ``min_overlap``.

    Parameters
    ----------
    ref_start, ref_end : numpy.ndarray
        Reference events (e.g. an expert's), seconds.
    det_start, det_end : numpy.ndarray
        Detected events, seconds.
    min_overlap : float
        Smallest IoU of a match (0-1).

    Returns
    -------
    dict
        ``n_reference``, ``n_detected``, ``matched``, ``precision``, ``recall``, ``f1``
        (NaN when undefined) and ``mean_iou`` of the matched pairs.

    Raises
    ------
    ValueError
        If starts and ends differ in length, or an event ends before it starts.
    """
    rs, re_, ds, de = (np.asarray(v, dtype=np.float64).ravel()
                       for v in (ref_start, ref_end, det_start, det_end))
    for name, s, e in (("reference", rs, re_), ("detected", ds, de)):
        if s.size != e.size:
            raise ValueError(f"{name} events: {s.size} starts but {e.size} ends")
        if np.any(e < s):
            i = int(np.flatnonzero(e < s)[0])
            raise ValueError(f"{name} event {i} ends ({e[i]:g} s) before it starts ({s[i]:g} s)")
    if not 0.0 < min_overlap <= 1.0:
        raise ValueError(f"min_overlap must be in (0, 1]; got {min_overlap}")
    ro, do = np.argsort(rs, kind="stable"), np.argsort(ds, kind="stable")
    rs, re_, ds, de = rs[ro], re_[ro], ds[do], de[do]
    # candidate pairs: reference events starting before a detection ends and ending after
    # it starts (the longest reference event bounds the search window)
    longest = float(np.max(re_ - rs)) if rs.size else 0.0
    lo = np.searchsorted(rs, ds - longest, side="left")
    hi = np.searchsorted(rs, de, side="right")
    counts = np.maximum(hi - lo, 0)
    di = np.repeat(np.arange(ds.size), counts)
    ri = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
          + np.repeat(lo, counts))
    inter = np.minimum(de[di], re_[ri]) - np.maximum(ds[di], rs[ri])
    union = np.maximum(de[di], re_[ri]) - np.minimum(ds[di], rs[ri])
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    ok = (inter > 0) & (iou >= min_overlap - 1e-9)  # 1.0 - 0.8 is 0.19999999999999996
    di, ri, iou = di[ok], ri[ok], iou[ok]
    order = np.argsort(-iou, kind="stable")
    used_d = np.zeros(ds.size, dtype=bool)
    used_r = np.zeros(rs.size, dtype=bool)
    ious = []
    for k in order:  # only overlapping pairs: a few per event
        if used_d[di[k]] or used_r[ri[k]]:
            continue
        used_d[di[k]] = used_r[ri[k]] = True
        ious.append(iou[k])
    m = len(ious)
    n_ref, n_det = int(rs.size), int(ds.size)
    return {
        "n_reference": n_ref,
        "n_detected": n_det,
        "matched": m,
        "precision": m / n_det if n_det else float("nan"),
        "recall": m / n_ref if n_ref else float("nan"),
        "f1": 2 * m / (n_det + n_ref) if (n_det + n_ref) else float("nan"),
        "mean_iou": float(np.mean(ious)) if ious else float("nan"),
    }

"""Clean beat-to-beat (RR) intervals and heart-rate samples.

Every rule here is *causal*: whether an interval is kept depends only on that interval,
the beats that bound it and earlier intervals. The same function therefore serves the live
path (beats arriving in chunks) and the whole-night path, and feeding a night in chunks
gives exactly the one-pass result once the chunk carries the previous ``reference``
intervals of history.

Rules (after Clifford & Tarassenko's relative-change filter and the usual physiological
ranges of HRV guidelines):

* range: ``min_rr <= rr <= max_rr`` (default 0.3-2.0 s, i.e. 30-200 bpm). Longer
  intervals are gaps (missed beats, lost contact) and are never bridged;
* beat type: when WFDB beat symbols are known, both bounding beats must be normal
  (``N``, ``L``, ``R``, ``e``, ``j``); an ectopic beat invalidates the interval before it
  and the compensatory interval after it;
* relative change: ``|rr - ref| <= max_change * ref`` where ``ref`` is the median of the
  previous ``reference`` in-range intervals.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "NORMAL_SYMBOLS",
    "clean_hr",
    "clean_rr",
    "rr_from_beats",
]

#: WFDB beat symbols of beats conducted from the sinus node (normal, bundle branch block,
#: atrial/nodal escape); every other beat type is treated as ectopic or artefact.
NORMAL_SYMBOLS: frozenset[str] = frozenset("NLRej")


#: Compare-exchange pairs (minimum to the first) of a 25-comparator sorting network for 9
#: values, the size of the default reference window (the smallest size known for 9 inputs,
#: cf. Knuth, The Art of Computer Programming vol. 3, 5.3.4). It sorts all 512 inputs of
#: zeros and ones, hence every input (the 0-1 principle).
_NET9 = ((0, 3), (1, 7), (2, 5), (4, 8), (0, 7), (2, 4), (3, 8), (5, 6), (0, 2), (1, 3),
         (4, 5), (7, 8), (1, 4), (3, 6), (5, 7), (0, 1), (2, 4), (3, 5), (6, 8), (2, 3),
         (4, 5), (6, 7), (1, 2), (3, 4), (5, 6))


def _past_median(values: np.ndarray, n: int) -> np.ndarray:
    """Median of the ``n`` previous finite values at every index (NaN when none).

    The windows are sorted with NaN stored as +inf (both sort after every finite value),
    and the median of a window with ``c`` finite values is ``(s[(c - 1) // 2] +
    s[c // 2]) / 2`` of its sorted values ``s``. For ``n = 9`` the sort is a sorting
    network run on all windows at once (one ``minimum`` and one ``maximum`` over the
    whole night per comparator), a few times faster than sorting the windows one by one
    (``np.sort`` along the rows); both give the same values.
    """
    size = values.size
    if size == 0:
        return values.copy()
    padded = np.concatenate([np.full(n, np.inf), np.where(np.isnan(values[:-1]), np.inf,
                                                          values[:-1])])
    fin = np.concatenate([[0], np.cumsum(np.isfinite(padded))])
    count = fin[n:n + size] - fin[:size]  # finite values per window
    if n == 9:
        # cols[i][j] is the i-th value of window j, then its i-th smallest; each comparator
        # writes its maximum in place and its minimum to the spare row (no allocations).
        work = np.empty((n + 1, size))
        work[:n] = sliding_window_view(padded, size)
        cols, spare = list(work[:n]), work[n]
        for i, j in _NET9:
            np.minimum(cols[i], cols[j], out=spare)
            np.maximum(cols[i], cols[j], out=cols[j])
            cols[i], spare = spare, cols[i]
    else:
        cols = list(np.sort(sliding_window_view(padded, n), axis=1).T)
    out = 0.5 * (cols[(n - 1) // 2] + cols[n // 2])  # windows without a gap
    part = np.flatnonzero(count < n)
    if part.size:
        c = count[part]
        win = np.stack([col[part] for col in cols[:n // 2 + 1]], axis=1)
        rows = np.arange(part.size)
        lo, hi = win[rows, np.maximum(c - 1, 0) // 2], win[rows, c // 2]
        out[part] = np.where(c > 0, 0.5 * (lo + hi), np.nan)
    return out


def clean_rr(
    rr: np.ndarray,
    symbols_ok: np.ndarray | None = None,
    *,
    min_rr: float = 0.3,
    max_rr: float = 2.0,
    max_change: float = 0.25,
    reference: int = 9,
) -> np.ndarray:
    """Flag the RR intervals that are physiological sinus intervals.

    Parameters
    ----------
    rr : numpy.ndarray
        RR intervals in seconds, in time order.
    symbols_ok : numpy.ndarray of bool, optional
        Per interval: both bounding beats are normal. None = beat types unknown.
    min_rr, max_rr : float
        Physiological range in seconds; longer intervals are gaps.
    max_change : float
        Largest relative deviation from the median of the previous ``reference``
        in-range intervals.
    reference : int
        Number of previous intervals in the reference median.

    Returns
    -------
    numpy.ndarray of bool
        True for intervals to keep.

    Raises
    ------
    ValueError
        If the arguments are inconsistent.
    """
    rr = np.asarray(rr, dtype=float)
    if rr.ndim != 1:
        raise ValueError(f"rr must be 1-D; got shape {rr.shape}")
    if not 0 < min_rr < max_rr:
        raise ValueError(f"need 0 < min_rr < max_rr; got {min_rr}, {max_rr}")
    if reference < 1:
        raise ValueError(f"reference must be at least 1; got {reference}")
    with np.errstate(invalid="ignore"):
        in_range = np.isfinite(rr) & (rr >= min_rr) & (rr <= max_rr)
    if symbols_ok is not None:
        symbols_ok = np.asarray(symbols_ok, dtype=bool)
        if symbols_ok.shape != rr.shape:
            raise ValueError(f"symbols_ok has {symbols_ok.size} values for {rr.size} intervals")
        in_range &= symbols_ok
    ref = _past_median(np.where(in_range, rr, np.nan), reference)
    with np.errstate(invalid="ignore"):
        close = np.abs(rr - ref) <= max_change * ref
    # No reference yet (first interval of a recording or after a long gap): keep it if
    # it is in range; the next intervals are judged against it.
    return in_range & (close | ~np.isfinite(ref))


def rr_from_beats(
    times: np.ndarray, symbols: np.ndarray | None = None, **rules: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RR intervals of a beat train with their cleaning flags.

    Parameters
    ----------
    times : numpy.ndarray
        Beat (R-peak) times in seconds, strictly increasing.
    symbols : numpy.ndarray of str, optional
        WFDB beat symbol per beat; see :data:`NORMAL_SYMBOLS`.
    **rules
        Passed to :func:`clean_rr`.

    Returns
    -------
    t : numpy.ndarray
        Time of each interval's closing beat (s).
    rr : numpy.ndarray
        Intervals (s).
    valid : numpy.ndarray of bool
        Result of :func:`clean_rr`.
    """
    times = np.asarray(times, dtype=float)
    rr = np.diff(times)
    ok = None
    if symbols is not None:
        sym = np.asarray(symbols, dtype=str)
        if sym.dtype.itemsize == 4:  # one character each: compare code points (faster)
            normal = np.isin(sym.view(np.uint32), [ord(c) for c in NORMAL_SYMBOLS])
        else:
            normal = np.isin(sym, list(NORMAL_SYMBOLS))
        ok = normal[1:] & normal[:-1]
    return times[1:], rr, clean_rr(rr, ok, **rules)


def clean_hr(
    hr: np.ndarray,
    *,
    min_bpm: float = 30.0,
    max_bpm: float = 200.0,
    max_change: float = 0.3,
    reference: int = 9,
) -> np.ndarray:
    """Flag plausible heart-rate samples (e.g. 1-Hz wristband HR in bpm).

    Same rules as :func:`clean_rr` on the equivalent intervals ``60 / hr``: a physiological
    range and a causal relative-change limit against the median of earlier samples.

    Returns
    -------
    numpy.ndarray of bool
        True for samples to keep.
    """
    hr = np.asarray(hr, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(hr > 0, 60.0 / hr, np.nan)
    return clean_rr(
        rr, min_rr=60.0 / max_bpm, max_rr=60.0 / min_bpm, max_change=max_change,
        reference=reference,
    )

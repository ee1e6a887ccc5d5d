"""Sleep-cycle prior for the heart stager's smoother: REM entry depends on time since REM.

Human sleep alternates NREM and REM in cycles of about 90 minutes: right after a REM
period, REM is unlikely for half an hour or more (apart from resuming a REM period after a
brief interruption), then becomes likely again. The heart stager's sticky three-state HMM
(:func:`dreamband.staging.heart_model.hmm_smooth`) enters REM at a constant rate. This
module replaces that rate by ``(1 - stay) / 2 * r(d)``, where ``d`` is the number of epochs
since the last REM epoch and ``r`` the *relative* REM-entry hazard learned from expert
hypnograms of other people (Sleep-EDF sleep-cassette nights, :func:`build_cycle_prior`),
normalised to mean 1 over their non-REM epochs. Only the timing of REM entries changes,
not their overall rate, so nothing is tuned on the heart data.

The smoother tracks ``d`` as part of its state: states ``W_d`` and ``NREM_d``
(``d = 0..D``, the last one absorbing) plus ``REM``; leaving REM goes to ``d = 1``. At the
start of a recording ``d`` is unknown and drawn from its occupancy in the Sleep-EDF nights.
With ``r = 1`` everywhere it is exactly the sticky HMM.

slpdb leave-one-subject-out (rr, 3 LightGBM seeds, mean): batch kappa 0.453 -> 0.454,
REM F1 0.379 -> 0.386 (higher for every seed); live kappa 0.361 -> 0.363, REM F1 0.210 ->
0.220. A real but small gain: the cycle structure of these apnoea patients is disrupted.
The shipped batch models use it, the live ones not
(:func:`dreamband.staging.heart_train.uses_cycle_prior`). The prior was fixed before it
was scored on slpdb (no variant was selected on those folds). REM *duration* carries no
such structure in the same hypnograms (REM exit rate about 0.05 per epoch whatever the
time spent in REM), so the REM state stays geometric; a REM bout-duration table built
like this prior and used as an explicit REM duration in this smoother (session 5) scored
flat on slpdb (3-seed REM F1 0.396 -> 0.395) and was removed. Splitting the REM entry between
W and NREM in the Sleep-EDF ratio (W -> REM 4.4 times rarer than NREM -> REM there, overall
rate kept) was worse: batch kappa 0.451, REM F1 0.365 (3 seeds).

Fixed-lag (session 4): :func:`cycle_fixed_lag_smooth` runs the same model over the
classifier output up to ``lag`` epochs ahead of each decision (the forward filter, then
``lag`` backward steps per epoch), so a fixed-lag live model can use it and stay final
``lag`` epochs late. slpdb LOSO, 3-seed means, sticky -> cycle-aware fixed-lag smoother on
the same classifiers (adoption rule fixed before scoring: the mean kappa must rise): rr
lag 40 (20 + 20 epochs) kappa 0.415 -> 0.416, REM F1 0.307 -> 0.306; rr lag 60 with the
even split (30 + 30) 0.410 -> 0.414, REM F1 0.326 -> 0.336; hr lag 40 0.366 -> 0.367;
hr lag 60 0.370 -> 0.370 (30 + 30), 0.384 -> 0.386 (50 + 10). Adopted for the fixed-lag
variants (:func:`dreamband.staging.heart_train.uses_cycle_prior`); a small gain, as in
batch. With the 50 + 10 split later chosen for 60 epochs
(:func:`dreamband.features.heart_lag.split_lag`) rr lag 60 scores 0.430 with either
smoother (seed 7: 0.433 cycle-aware, 0.435 sticky). Cost: 0.04-0.07 s CPU per 900-epoch night
with 10-20 epochs of look-ahead (forward-backward: 0.01 s).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from dreamband.errors import ModelError

__all__ = [
    "CYCLE_PRIOR_FILE",
    "CycleFilter",
    "CyclePrior",
    "build_cycle_prior",
    "cycle_fixed_lag_smooth",
    "cycle_smooth",
    "load_cycle_prior",
]

#: File name of the shipped prior in :func:`dreamband.paths.models_dir`.
CYCLE_PRIOR_FILE = "heart_cycle_prior_v1.json"
_FORMAT = "dreamband-heart-cycle-prior"
_BIN = 10          # epochs per hazard bin
_PSEUDO = 100.0    # pseudo-epochs pulling each bin's hazard toward the overall rate


@dataclass(frozen=True)
class CyclePrior:
    """Relative REM-entry hazard by epochs since the last REM epoch.

    Attributes
    ----------
    r : numpy.ndarray
        ``(D + 1,)`` relative hazard (mean 1 over non-REM epochs); index ``D`` is ``>= D``.
    occupancy : numpy.ndarray
        ``(D + 1,)`` distribution of ``d`` over non-REM epochs (initial state).
    """

    r: np.ndarray
    occupancy: np.ndarray

    @property
    def size(self) -> int:
        """``D + 1``, the number of ``d`` states per non-REM stage."""
        return int(self.r.size)


def build_cycle_prior(sleep_edf_dir: str | os.PathLike, cap: int = 240) -> dict:
    """Estimate the relative REM-entry hazard from Sleep-EDF expert hypnograms.

    Every W or NREM epoch after a REM epoch counts once at its ``d`` (epochs since the
    last REM epoch, capped at ``cap``); an event is a REM next epoch. Hazards are pooled
    in bins of 10 epochs with 100 pseudo-epochs at the overall rate, then divided by that
    rate.

    Parameters
    ----------
    sleep_edf_dir : path
        Folder with ``SC*-Hypnogram.edf`` files.
    cap : int
        Largest ``d`` told apart (epochs; default 240 = 2 h).

    Returns
    -------
    dict
        JSON-ready prior (``r``, ``occupancy``, counts and provenance).
    """
    from dreamband.io.sleepedf import read_sleepedf_hypnogram

    files = sorted(Path(sleep_edf_dir).glob("SC*-Hypnogram.edf"))
    if not files:
        raise FileNotFoundError(f"{sleep_edf_dir}: no SC*-Hypnogram.edf files")
    n = np.zeros(cap + 1)
    k = np.zeros(cap + 1)
    for f in files:
        s = read_sleepedf_hypnogram(f).crop_in_bed().to_wearable().stages.astype(int)
        d = None
        for i in range(s.size - 1):
            if s[i] == 2:
                d = 0
                continue
            if d is None:
                continue
            d += 1
            if s[i] >= 0 and s[i + 1] >= 0:
                n[min(d, cap)] += 1
                k[min(d, cap)] += s[i + 1] == 2
    rate = k.sum() / n.sum()
    h = np.empty(cap + 1)
    for lo in range(0, cap, _BIN):
        sl = slice(lo, min(lo + _BIN, cap))
        h[sl] = (k[sl].sum() + _PSEUDO * rate) / (n[sl].sum() + _PSEUDO)
    h[cap] = (k[cap] + _PSEUDO * rate) / (n[cap] + _PSEUDO)
    h[0] = h[1]  # d = 0 is REM itself
    return {
        "format": _FORMAT,
        "version": 1,
        "epoch_length": 30.0,
        "r": np.round(h / rate, 5).tolist(),
        "occupancy": np.round(n / n.sum(), 6).tolist(),
        "rem_entry_rate": round(float(rate), 6),
        "counts": {"epochs": n.astype(int).tolist(), "rem_entries": k.astype(int).tolist()},
        "provenance": {
            "source": "Sleep-EDF Database Expanded, sleep-cassette expert hypnograms "
            "(PhysioNet, ODC-By 1.0); Kemp et al., IEEE TBME 2000;47(9):1185-1194",
            "files": [f.name for f in files],
            "window": "in-bed (crop_in_bed), W/NREM/REM",
            "pooling": f"{_BIN}-epoch bins, {_PSEUDO:g} pseudo-epochs at the overall rate",
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


@lru_cache(maxsize=4)
def _load(path: str) -> CyclePrior:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: heart cycle prior not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: heart cycle prior is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ModelError(f"{path}: field 'format' is not {_FORMAT!r}")
    r = np.asarray(doc.get("r", []), dtype=float)
    occ = np.asarray(doc.get("occupancy", []), dtype=float)
    if r.ndim != 1 or r.size < 2 or occ.shape != r.shape:
        raise ModelError(f"{path}: fields 'r' and 'occupancy' must be lists of equal length >= 2")
    if np.any(~np.isfinite(r)) or np.any(r < 0) or np.any(occ < 0) or occ.sum() <= 0:
        raise ModelError(f"{path}: field 'r' or 'occupancy' holds negative or non-finite values")
    return CyclePrior(r, occ / occ.sum())


def load_cycle_prior(path: str | os.PathLike | None = None) -> CyclePrior:
    """Load a cycle prior (default: the shipped ``heart_cycle_prior_v1.json``).

    Raises
    ------
    ModelError
        If the file is missing or malformed.
    """
    from dreamband.paths import models_dir

    return _load(str(Path(path) if path is not None else models_dir() / CYCLE_PRIOR_FILE))


class CycleFilter:
    """Forward filter of the cycle-aware HMM, one epoch at a time.

    Parameters
    ----------
    prior : CyclePrior
        REM-entry hazard and initial ``d`` distribution.
    stay : float
        Probability of keeping W or NREM (at ``r = 1``) and REM from one epoch to the next.
    """

    def __init__(self, prior: CyclePrior, stay: float) -> None:
        if not 0.0 < stay < 1.0:
            raise ValueError(f"stay must be in (0, 1); got {stay}")
        self.stay = float(stay)
        self.e = (1.0 - stay) / 2.0
        self.to_rem = self.e * prior.r
        if np.any(self.to_rem > 1.0 - 2 * self.e):
            raise ValueError("cycle prior hazard too large for this stay probability")
        self.keep = 1.0 - self.e - self.to_rem
        self.occupancy = prior.occupancy
        self.a: np.ndarray | None = None   # (2, D + 1): W_d, NREM_d
        self.a_rem = 0.0

    def step(self, p: np.ndarray) -> np.ndarray:
        """Add one epoch's emission probabilities (W, NREM, REM); return the filtered
        stage probabilities of that epoch."""
        p = np.clip(np.asarray(p, dtype=float), 1e-9, None)
        if self.a is None:
            a = self.occupancy[None, :] * p[:2, None]
            r = p[2]
        else:
            a, r = self._advance(self.a, self.a_rem)
            a *= p[:2, None]
            r *= p[2]
        s = a.sum() + r
        self.a, self.a_rem = a / s, r / s
        return np.array([self.a[0].sum(), self.a[1].sum(), self.a_rem])

    def _advance(self, a: np.ndarray, r: float) -> tuple[np.ndarray, float]:
        m = a * self.keep + a[::-1] * self.e
        new = np.empty_like(a)
        new[:, 0] = 0.0
        new[:, 1:] = m[:, :-1]
        new[:, -1] += m[:, -1]
        new[:, 1] += self.e * r
        return new, self.stay * r + float((a * self.to_rem).sum())


def _passes(
    p: np.ndarray, stay: float, prior: CyclePrior, backward: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Forward pass of the cycle-aware HMM and, optionally, its backward pass beside it.

    The forward pass is that of :meth:`CycleFilter.step`: normalised ``alpha`` of the
    ``(2, D + 1)`` W/NREM states and of REM per epoch. The backward pass (normalised
    ``beta``) runs from the last epoch down; it does not depend on ``alpha``, so step ``i``
    of both runs in the same loop iteration, and one reduction gives the sums of both
    steps and the forward step's REM-entry sum. Every value goes through the same
    floating-point operations in the same order as a straightforward loop, so the results
    are bitwise those of it (tested).

    Numpy call overhead, not arithmetic, is the cost here (about 20 calls per epoch on a
    few hundred numbers), and a call on contiguous operands of one shape is much cheaper
    than one on strided, broadcast or Python-scalar operands. So the ``(2, D + 1)`` states
    are kept as flat contiguous rows ``[W_0..W_D, NREM_0..NREM_D]``, every operand is a
    preallocated contiguous array or slice, scalars are passed as 0-d arrays, and the few
    single entries that a shift by one ``d`` moves across the row boundary are fixed with
    Python floats.

    Parameters
    ----------
    p : numpy.ndarray
        ``(n_epochs, 3)`` emissions, already clipped away from zero.
    stay : float
        Self-transition probability.
    prior : CyclePrior
        REM-entry hazard and initial ``d`` distribution (at least two ``d`` states).
    backward : bool
        Also run the backward pass.

    Returns
    -------
    alpha : numpy.ndarray
        ``(n_epochs, 2, D + 1)`` W/NREM state probabilities.
    alpha_rem : numpy.ndarray
        ``(n_epochs,)`` REM probability.
    beta, beta_rem : numpy.ndarray or None
        Backward messages of the same shapes (each epoch's normalised to sum 1), or None
        without ``backward``.
    """
    n, k = p.shape[0], prior.size
    if k < 2:
        raise ValueError(f"cycle prior needs at least 2 d states; got {k}")
    k2 = 2 * k
    f = CycleFilter(prior, stay)
    e = f.e
    keep2, to_rem2 = np.tile(f.keep, 2), np.tile(f.to_rem, 2)
    e2 = np.full(k2, e)
    # The per-epoch arrays (emissions on the flat rows, alpha, beta) in one block: malloc
    # keeps a single large block for the next call, where three blocks of a third of the
    # size went back to the system and were page-faulted in again on every call (about
    # 2000 faults, a few ms per night).
    store = np.empty((3 if backward else 2, n, k2))
    pw, alpha = store[0], store[1]
    pw[:, :k] = p[:, :1]
    pw[:, k:] = p[:, 1:2]
    pr = p[:, 2].tolist()  # Python floats: scalar arithmetic is cheaper than on np.float64
    a0 = prior.occupancy[None, :] * p[0, :2, None]
    r = pr[0]
    s = a0.sum() + r
    alpha[0] = (a0 / s).ravel()
    r = float(r / s)
    rem = [r]
    # One step's unnormalised rows: alpha, the products alpha[i - 1] * to_rem summed into
    # REM and (backward) beta; one reduction sums all of them.
    rows = np.empty((3 if backward else 2, k2))
    new, to_rem_terms = rows[0], rows[1]
    sums = np.empty(rows.shape[0])
    # Forward. Trick: the transition of alpha[i - 1] is written one place to the right in
    # mflat, so mflat[:2k] is it shifted to d + 1 within each row, except for entries
    # fixed in the loop with Python floats: each row's d = D adds the value that
    # overflowed past it (absorbing d = D); NREM's d = 0, where W's overflow landed, is
    # reset to 0 (d = 0 is REM itself; W's d = 0, mflat[0], is never written); each row's
    # d = 1 adds REM -> d = 1.
    mflat = np.zeros(k2 + 1)
    m_item = mflat.item
    w_last, w_over, nrem_d1, nrem_last, nrem_over = k - 1, k, k + 1, k2 - 1, k2
    shifted = mflat[:k2]
    m_w, m_nrem = mflat[1:k + 1], mflat[k + 1:]
    buf_keep, buf_e = np.empty(k2), np.empty(k2)
    keep_w, keep_nrem = buf_keep[:k], buf_keep[k:]
    e_w, e_nrem = buf_e[:k], buf_e[k:]
    scale, er_arr = np.empty(()), np.empty(())  # scalars as 0-d arrays
    add, mul, div, total = np.add, np.multiply, np.divide, np.add.reduce
    if backward:
        # Backward. Trick: beta * emission is written to eflat[:2k] and each row's d = D
        # entry copied one place to the right (over NREM's d = 0, which is not needed, and
        # into eflat[2k]), so eflat[1:] is it shifted to d - 1 within each row (d = D
        # stays). beta of epoch j is stored in row n - 1 - j, in the order it is computed.
        beta = store[2]
        beta[0] = 1.0
        beta_rem = [1.0] * n
        b, b_rem = beta[0], 1.0
        eflat = np.empty(k2 + 1)
        e_item = eflat.item
        eb, nb = eflat[:k2], eflat[1:]
        buf_c, buf_t = np.empty(k2), np.empty(k2)
        c_w, c_nrem = buf_c[:k], buf_c[k:]
        c = rows[2]
    a = alpha[0]
    for i in range(1, n):
        # Forward step: alpha[i] from a = alpha[i - 1]. W and NREM swap only through the
        # e-term: m = a * keep + e * (a with its rows swapped), one row at a time.
        mul(a, keep2, buf_keep)
        mul(a, e2, buf_e)
        add(keep_w, e_nrem, m_w)
        add(keep_nrem, e_w, m_nrem)
        mflat[w_last] = m_item(w_last) + m_item(w_over)
        mflat[nrem_last] = m_item(nrem_last) + m_item(nrem_over)
        mflat[w_over] = 0.0
        to_d1 = e * r
        if i > 1 and k > 2:  # alpha[i - 1] is exactly 0 at d = 0, so is m: 0 + to_d1 = to_d1
            mflat[1] = mflat[nrem_d1] = to_d1
        else:
            mflat[1] = m_item(1) + to_d1
            mflat[nrem_d1] = m_item(nrem_d1) + to_d1
        mul(a, to_rem2, to_rem_terms)
        mul(shifted, pw[i], new)
        if backward:
            # Backward step: beta[t] from b = beta[t + 1], into c.
            t = n - 1 - i
            mul(b, pw[t + 1], eb)
            eflat[w_over] = e_item(w_last)
            eflat[nrem_over] = e_item(nrem_last)
            er = b_rem * pr[t + 1]
            mul(keep2, nb, buf_keep)
            mul(nb, e2, buf_e)
            add(keep_w, e_nrem, c_w)
            add(keep_nrem, e_w, c_nrem)
            er_arr[()] = er
            mul(to_rem2, er_arr, buf_t)
            add(buf_c, buf_t, c)
            c_rem = stay * er + e * (e_item(1) + e_item(nrem_d1))
        total(rows, 1, None, sums)  # the sums of all rows in one call
        r = (stay * r + sums.item(1)) * pr[i]
        s = sums.item(0) + r
        if backward:
            s_b = sums.item(2) + c_rem
            scale[()] = s_b
            b = beta[i]
            div(c, scale, b)
            b_rem = c_rem / s_b
            beta_rem[t] = b_rem
        scale[()] = s
        a = alpha[i]
        div(new, scale, a)
        r /= s
        rem.append(r)
    if not backward:
        return alpha.reshape(n, 2, k), np.array(rem), None, None
    return (alpha.reshape(n, 2, k), np.array(rem), beta[::-1].reshape(n, 2, k),
            np.array(beta_rem))


def cycle_smooth(p: np.ndarray, live: bool, stay: float, prior: CyclePrior) -> np.ndarray:
    """Smooth per-epoch class probabilities with the cycle-aware HMM.

    Parameters
    ----------
    p : numpy.ndarray
        ``(n_epochs, 3)`` classifier probabilities (W, NREM, REM), used as emissions.
    live : bool
        Forward filtering only (epoch ``k`` uses epochs ``0..k``) instead of
        forward-backward.
    stay : float
        Self-transition probability (as in the sticky HMM).
    prior : CyclePrior
        REM-entry hazard (:func:`load_cycle_prior`).

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, 3)`` posterior stage probabilities.
    """
    p = np.clip(np.asarray(p, dtype=float), 1e-9, None)
    n = p.shape[0]
    out = np.empty((n, 3))
    if n == 0:
        return out
    alpha, alpha_rem, beta, beta_rem = _passes(p, stay, prior, backward=not live)
    if live:
        out[:, :2] = alpha.sum(axis=2)
        out[:, 2] = alpha_rem
        return out
    out[:, :2] = np.multiply(alpha, beta, out=alpha).sum(axis=2)  # beta is 1 at the end
    out[:, 2] = alpha_rem * beta_rem
    return out / out.sum(axis=1, keepdims=True)


def cycle_fixed_lag_smooth(
    p: np.ndarray, lag: int, stay: float, prior: CyclePrior
) -> np.ndarray:
    """Fixed-lag smoothing on the cycle-aware HMM: epoch ``k`` given epochs ``0..k + lag``.

    The forward filter of :func:`cycle_smooth` followed, for every epoch at once, by
    ``lag`` backward steps over the classifier output of the next ``lag`` epochs (fewer at
    the end of the data). ``lag = 0`` is the forward filter; a lag beyond the night's end
    gives the forward-backward result of :func:`cycle_smooth`.

    Parameters
    ----------
    p : numpy.ndarray
        ``(n_epochs, 3)`` classifier probabilities (W, NREM, REM), used as emissions.
    lag : int
        Epochs of look-ahead (``>= 0``).
    stay : float
        Self-transition probability (as in the sticky HMM).
    prior : CyclePrior
        REM-entry hazard (:func:`load_cycle_prior`).

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, 3)`` posterior stage probabilities.
    """
    if lag < 0:
        raise ValueError(f"lag must be >= 0 epochs; got {lag}")
    p = np.clip(np.asarray(p, dtype=float), 1e-9, None)
    n = p.shape[0]
    if n == 0:
        return np.empty((0, 3))
    alpha, alpha_rem, _, _ = _passes(p, stay, prior, backward=False)
    f = CycleFilter(prior, stay)
    e, keep, to_rem = f.e, f.keep, f.to_rem
    b = np.ones((n, 2, prior.size))
    b_rem = np.ones(n)
    nb = np.empty_like(b)
    c = np.empty_like(b)
    for step in range(min(int(lag), n - 1), 0, -1):
        m = n - step  # epochs 0..m-1 have k + step inside the data: their step is taken
        eb = b[:m] * p[step:, :2, None]
        er = b_rem[:m] * p[step:, 2]
        nbm, cm = nb[:m], c[:m]
        nbm[:, :, :-1] = eb[:, :, 1:]
        nbm[:, :, -1] = eb[:, :, -1]
        np.multiply(keep, nbm, out=cm)
        cm += e * nbm[:, ::-1]
        cm += to_rem * er[:, None, None]
        c_rem = stay * er + e * (eb[:, 0, 1] + eb[:, 1, 1])
        s = cm.sum(axis=(1, 2)) + c_rem
        np.divide(cm, s[:, None, None], out=b[:m])
        b_rem[:m] = c_rem / s
    out = np.empty((n, 3))
    out[:, :2] = (alpha * b).sum(axis=2)
    out[:, 2] = alpha_rem * b_rem
    return out / out.sum(axis=1, keepdims=True)

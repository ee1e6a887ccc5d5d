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


def _forward(
    p: np.ndarray, stay: float, prior: CyclePrior
) -> tuple[np.ndarray, np.ndarray, CycleFilter]:
    """Forward pass of the cycle-aware HMM: normalised ``alpha`` of the ``(2, D + 1)``
    W/NREM states and of REM, per epoch.

    The steps of :meth:`CycleFilter.step`, written out with preallocated arrays and
    ``out=`` arguments (numpy call overhead dominates: about ten calls per epoch). Every
    value goes through the same floating-point operations in the same order as the step,
    so the result is bitwise that of a straightforward loop (tested).

    Parameters
    ----------
    p : numpy.ndarray
        ``(n_epochs, 3)`` emissions, already clipped away from zero.
    stay : float
        Self-transition probability.
    prior : CyclePrior
        REM-entry hazard and initial ``d`` distribution.

    Returns
    -------
    alpha : numpy.ndarray
        ``(n_epochs, 2, D + 1)`` W/NREM state probabilities.
    alpha_rem : numpy.ndarray
        ``(n_epochs,)`` REM probability.
    filt : CycleFilter
        The model's transition constants.
    """
    n, k = p.shape[0], prior.size
    f = CycleFilter(prior, stay)
    e, keep, to_rem = f.e, f.keep, f.to_rem
    pw = list(p[:, :2, None])  # (2, 1) emission views, one per epoch
    pr = p[:, 2].tolist()  # Python floats: scalar arithmetic is cheaper than on np.float64
    alpha = np.empty((n, 2, k))
    a = prior.occupancy[None, :] * pw[0]
    r = pr[0]
    s = a.sum() + r
    alpha[0] = a / s
    r = float(r / s)
    rem = [r]
    # Trick: the transition of alpha[t - 1] is written one column to the right in mbuf, so
    # mbuf[:, :k] already holds it shifted to d + 1 (column 0 stays 0: d = 0 is REM itself),
    # and the absorbing d = D adds the overflow column mbuf[:, k].
    mbuf = np.zeros((2, k + 1))
    m, shifted = mbuf[:, 1:], mbuf[:, :k]
    col_d1, col_last, col_over = mbuf[:, 1], mbuf[:, k - 1], mbuf[:, k]
    tmp = np.empty((2, k))
    tmp_swap = tmp[::-1]  # W <-> NREM
    to_rem2 = np.tile(to_rem, (2, 1))  # same shape as a: no broadcasting in the loop
    add, mul, div, total = np.add, np.multiply, np.divide, np.add.reduce
    a = alpha[0]
    for t in range(1, n):
        mul(a, keep, out=m)
        mul(a, e, out=tmp)
        add(m, tmp_swap, out=m)  # a * keep + e * a[::-1]
        add(col_last, col_over, out=col_last)
        add(col_d1, e * r, out=col_d1)  # REM -> d = 1
        mul(a, to_rem2, out=tmp)
        r = (stay * r + float(total(tmp, axis=None))) * pr[t]
        new = alpha[t]
        mul(shifted, pw[t], out=new)
        s = float(total(new, axis=None)) + r
        div(new, s, out=new)
        r /= s
        rem.append(r)
        a = new
    return alpha, np.array(rem), f


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
    alpha, alpha_rem, f = _forward(p, stay, prior)
    if live:
        out[:, :2] = alpha.sum(axis=2)
        out[:, 2] = alpha_rem
        return out
    # Backward pass, written out like _forward (same operations in the same order as a
    # plain loop). alpha[t] is multiplied by beta[t] in place as soon as that is known.
    e, keep, to_rem = f.e, f.keep, f.to_rem
    k = prior.size
    pw = list(p[:, :2, None])
    pr = p[:, 2].tolist()
    # Trick: beta * emission is written to ebuf[:, :k] and its d = D column repeated in
    # ebuf[:, k], so ebuf[:, 1:] is it shifted to d - 1 (the absorbing d = D stays).
    ebuf = np.empty((2, k + 1))
    eb, eb_last, eb_over = ebuf[:, :k], ebuf[:, k - 1], ebuf[:, k]
    nb = ebuf[:, 1:]
    nb_swap = nb[::-1]  # W <-> NREM
    c = np.empty((2, k))
    tmp = np.empty((2, k))
    to_rem2 = np.tile(to_rem, (2, 1))
    add, mul, div, total = np.add, np.multiply, np.divide, np.add.reduce
    b, b_rem = np.ones((2, k)), 1.0  # b is read only before it is overwritten
    beta_rem = [1.0] * n
    for t in range(n - 2, -1, -1):
        mul(b, pw[t + 1], out=eb)
        np.copyto(eb_over, eb_last)
        er = b_rem * pr[t + 1]
        mul(keep, nb, out=c)
        mul(nb_swap, e, out=tmp)
        add(c, tmp, out=c)
        mul(to_rem2, er, out=tmp)
        add(c, tmp, out=c)
        c_rem = stay * er + e * (ebuf.item(0, 1) + ebuf.item(1, 1))
        s = float(total(c, axis=None)) + c_rem
        div(c, s, out=b)
        b_rem = c_rem / s
        beta_rem[t] = b_rem
        a = alpha[t]
        mul(a, b, out=a)
    out[:, :2] = alpha.sum(axis=2)
    out[:, 2] = alpha_rem * np.array(beta_rem)
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
    alpha, alpha_rem, f = _forward(p, stay, prior)
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

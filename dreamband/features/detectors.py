"""Event detectors for the AASM scoring features, vectorised over a whole night.

Every detector works on the continuous signal (filters from :mod:`dreamband.signal`),
then counts events per epoch with array operations (no loop per epoch). ``causal=True``
uses forward-only filters, trailing windows and past-only thresholds, and assigns an event
to the epoch in which it *ends*, so a live stream sees the same values at each epoch end;
``causal=False`` uses zero-phase filters and centred windows (batch).

References: AASM Manual for the Scoring of Sleep v2.6 (slow waves ≥ 75 µV at 0.5-2 Hz,
N3 when they fill ≥ 20 % of an epoch; spindles 11-16 Hz lasting ≥ 0.5 s); spindle
thresholds after Lacourse et al. 2019 (J Neurosci Methods 316:3-11) and YASA's
``spindles_detect`` (relative sigma power ≥ 0.2, RMS ≥ mean + 1.5 SD); rapid eye
movements after Agarwal et al. 2005 (anticorrelated LOC/ROC deflections, 0.3-5 Hz).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

from dreamband.signal.filters import (
    bandpass_sos,
    filter_causal,
    filter_zero_phase,
    highpass_sos,
)

__all__ = [
    "emg_tone",
    "eye_movements",
    "running_reference",
    "slow_waves",
    "spindles",
]


def _filt(x: np.ndarray, sos: np.ndarray, causal: bool) -> np.ndarray:
    return filter_causal(x, sos)[0] if causal else filter_zero_phase(x, sos)


def _moving_mean(x: np.ndarray, width: int, causal: bool) -> np.ndarray:
    width = max(int(width), 1)
    if not causal:
        return uniform_filter1d(x, width, mode="nearest")
    c = np.cumsum(np.concatenate([[0.0], x]))
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(idx - width, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def running_reference(per_epoch: np.ndarray, causal: bool, stat: str = "mean") -> np.ndarray:
    """Night reference of a per-epoch statistic: whole night (batch) or epochs so far (live).

    Parameters
    ----------
    per_epoch : numpy.ndarray
        ``(n_epochs,)`` or ``(n_epochs, k)`` values.
    causal : bool
        Past-only (expanding) reference when True.
    stat : {"mean", "median"}
        Statistic over epochs.

    Returns
    -------
    numpy.ndarray
        Same shape as ``per_epoch``: the reference each epoch is judged against.
    """
    v = np.asarray(per_epoch, dtype=np.float64)
    if not causal:
        ref = np.median(v, axis=0) if stat == "median" else v.mean(axis=0)
        return np.broadcast_to(ref, v.shape).copy()
    if stat == "mean":
        n = np.arange(1, v.shape[0] + 1).reshape((-1,) + (1,) * (v.ndim - 1))
        return np.cumsum(v, axis=0) / n
    return np.stack([np.median(v[: i + 1], axis=0) for i in range(v.shape[0])])


def _per_epoch_counts(positions: np.ndarray, n_per: int, n_epochs: int) -> np.ndarray:
    k = positions // n_per
    k = k[k < n_epochs]
    return np.bincount(k, minlength=n_epochs)[:n_epochs].astype(np.float64)


def slow_waves(
    x: np.ndarray, fs: float, epoch_length: float, causal: bool, threshold_uv: float = 75.0
) -> dict[str, np.ndarray]:
    """Slow waves (0.5-2 Hz, peak-to-peak ≥ ``threshold_uv``) and K-complex-like waves.

    A wave is a negative half-wave followed by a positive one between zero crossings of
    the 0.5-2 Hz band-passed signal, lasting 0.5-2 s in all (the AASM frequency range);
    its peak-to-peak amplitude is read on the 0.3-4 Hz signal over the same span, close to
    the manual's reading of the displayed EEG but without riding spindles and alpha.

    Returns
    -------
    dict
        ``sw_fraction``: fraction of the epoch covered by slow waves; ``sw_count``:
        number of slow waves; ``kc_count``: K-complex-like waves (≥ threshold, 0.5-1.5 s,
        no other large wave within 3 s); ``sw_ptp``: log10 of the largest wave's
        peak-to-peak amplitude (µV).
    """
    n_per = round(epoch_length * fs)
    n_ep = x.size // n_per
    y = _filt(x, bandpass_sos(0.5, 2.0, fs, order=2), causal)
    amp = _filt(x, bandpass_sos(0.3, 4.0, fs, order=2), causal)
    sign = y >= 0
    zc = np.flatnonzero(np.diff(sign.astype(np.int8)) != 0) + 1
    frac = np.zeros(n_ep)
    count = np.zeros(n_ep)
    kc = np.zeros(n_ep)
    ptp_max = np.zeros(n_ep)
    if zc.size >= 3:
        mins = np.minimum.reduceat(amp, zc)[:-1]
        maxs = np.maximum.reduceat(amp, zc)[:-1]
        seg_s, seg_e = zc[:-1], zc[1:]
        neg = y[seg_s] < 0
        # wave i = negative half-wave i followed by positive half-wave i + 1
        start, end = seg_s[:-1], seg_e[1:]
        ptp = maxs[1:] - mins[:-1]
        dur = (end - start) / fs
        big = neg[:-1] & (ptp >= threshold_uv) & (dur >= 0.5) & (dur <= 2.0)
        s, e, p, d = start[big], end[big], ptp[big], dur[big]
        cover = np.zeros(x.size + 1)
        np.add.at(cover, s, 1.0)
        np.add.at(cover, e, -1.0)
        covered = np.cumsum(cover)[: n_ep * n_per] > 0
        if causal:
            # a wave is known once it ends: its whole length counts in the epoch of its end
            k = np.minimum(e // n_per, n_ep)
            frac = np.bincount(k, weights=(e - s).astype(float), minlength=n_ep + 1)[:n_ep]
            frac = np.minimum(frac / n_per, 1.0)
            pos = e - 1
        else:
            frac = covered.reshape(n_ep, n_per).mean(axis=1)
            pos = (s + e) // 2
        count = _per_epoch_counts(pos, n_per, n_ep)
        # K-complex: a large wave standing alone (no other large wave within 3 s)
        c = (s + e) / 2.0
        gap_before = np.diff(np.concatenate([[-np.inf], c])) / fs
        gap_after = np.diff(np.concatenate([c, [np.inf]])) / fs
        alone = (d <= 1.5) & (gap_before > 3.0) & (gap_after > 3.0)
        kc = _per_epoch_counts(pos[alone], n_per, n_ep)
        k = pos // n_per
        inside = k < n_ep
        np.maximum.at(ptp_max, k[inside], p[inside])
    return {
        "sw_fraction": frac,
        "sw_count": count,
        "kc_count": kc,
        "sw_ptp": np.log10(ptp_max + 1.0),
    }


def spindles(x: np.ndarray, fs: float, epoch_length: float, causal: bool) -> dict[str, np.ndarray]:
    """Sleep spindles: 11-16 Hz bursts lasting 0.5-3 s.

    A sample belongs to a spindle when the 0.3-s RMS of the 11-16 Hz signal exceeds the
    night's mean + 1.5 SD (live: the night so far) and the sigma band holds ≥ 20 % of the
    0.5-30 Hz power over the same window.

    Returns
    -------
    dict
        ``sp_count`` spindles per epoch, ``sp_fraction`` fraction of the epoch in spindles.
    """
    n_per = round(epoch_length * fs)
    n_ep = x.size // n_per
    top = min(30.0, 0.45 * fs)
    sig = _filt(x, bandpass_sos(11.0, 16.0, fs, order=4), causal)
    broad = _filt(x, bandpass_sos(0.5, top, fs, order=4), causal)
    w = round(0.3 * fs)
    pow_s = _moving_mean(sig**2, w, causal)
    pow_b = _moving_mean(broad**2, w, causal) + 1e-12
    rms = np.sqrt(pow_s)
    ep = rms[: n_ep * n_per].reshape(n_ep, n_per)
    clean = np.clip(ep, 0, np.percentile(ep, 99.5))
    mean = running_reference(clean.mean(axis=1), causal)
    sq = running_reference((clean**2).mean(axis=1), causal)
    sd = np.sqrt(np.maximum(sq - mean**2, 0.0))
    thr = np.repeat(mean + 1.5 * sd, n_per)
    thr = np.concatenate([thr, np.full(x.size - thr.size, thr[-1])])
    mask = (rms > thr) & (pow_s / pow_b >= 0.2)
    s, e = _runs(mask)
    if s.size:
        # parts of one spindle closer than 0.5 s are one spindle (as in YASA)
        keep = np.concatenate([[True], (s[1:] - e[:-1]) >= 0.5 * fs])
        e = np.maximum.reduceat(e, np.flatnonzero(keep))
        s = s[keep]
    d = (e - s) / fs
    ok = (d >= 0.5) & (d <= 3.0)
    s, e = s[ok], e[ok]
    pos = e - 1 if causal else (s + e) // 2
    count = _per_epoch_counts(pos, n_per, n_ep)
    cover = np.zeros(x.size + 1)
    np.add.at(cover, s, 1.0)
    np.add.at(cover, e, -1.0)
    frac = (np.cumsum(cover)[: n_ep * n_per] > 0).reshape(n_ep, n_per).mean(axis=1)
    return {"sp_count": count, "sp_fraction": frac}


def eye_movements(
    eog: np.ndarray,
    fs: float,
    epoch_length: float,
    causal: bool,
    roc: np.ndarray | None = None,
    amplitude_uv: float = 50.0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rapid eye movements from one horizontal EOG or a LOC/ROC pair.

    The 0.3-5 Hz signal ((LOC − ROC) / 2 for a pair, whose conjugate deflections have
    opposite signs, so amplitudes stay per channel as in YASA's ``rem_detect``) is scanned for deflections of at least ``amplitude_uv`` peak to peak within
    0.5 s whose steepest slope exceeds 2 ``amplitude_uv`` per second; with a pair the two
    channels must move in opposite directions (negative correlation of their slopes).

    Returns
    -------
    per_epoch : dict
        ``rem_count`` eye movements per epoch.
    times : numpy.ndarray
        Time of each eye movement in seconds from the start.
    """
    sos = bandpass_sos(0.3, min(5.0, 0.45 * fs), fs, order=2)
    loc = _filt(np.asarray(eog, dtype=np.float64), sos, causal)
    if roc is not None:
        roc_f = _filt(np.asarray(roc, dtype=np.float64), sos, causal)
        h = 0.5 * (loc - roc_f)  # mean conjugate deflection, in per-channel µV
    else:
        roc_f = None
        h = loc
    n_per = round(epoch_length * fs)
    n_ep = h.size // n_per
    slope = np.gradient(h) * fs
    half = max(round(0.25 * fs), 1)
    size = 2 * half + 1
    origin = half if causal else 0  # trailing window when causal
    ptp = maximum_filter1d(h, size, origin=origin) - minimum_filter1d(h, size, origin=origin)
    cand = (ptp >= amplitude_uv) & (np.abs(slope) >= 2.0 * amplitude_uv)
    if roc_f is not None:
        cand &= (np.gradient(loc) * np.gradient(roc_f)) < 0
    s, e = _runs(cand)
    if s.size:
        # candidates closer than 0.3 s are one movement
        keep = np.concatenate([[True], (s[1:] - e[:-1]) > 0.3 * fs])
        e = np.maximum.reduceat(e, np.flatnonzero(keep))
        s = s[keep]
    peak = (s + e) // 2 if not causal else e - 1
    counts = _per_epoch_counts(peak, n_per, n_ep)
    return {"rem_count": counts}, peak / fs


def emg_tone(emg: np.ndarray, fs: float, epoch_length: float, causal: bool) -> np.ndarray:
    """Chin EMG tone per epoch: log10 of the RMS (µV) above 10 Hz (up to 0.45 fs)."""
    x = np.asarray(emg, dtype=np.float64)
    y = _filt(x, highpass_sos(min(10.0, 0.2 * fs), fs, order=4), causal)
    n_per = round(epoch_length * fs)
    n_ep = y.size // n_per
    ep = y[: n_ep * n_per].reshape(n_ep, n_per)
    return np.log10(np.sqrt((ep**2).mean(axis=1)) + 1e-3)

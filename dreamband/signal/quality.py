"""Per-epoch signal quality flags: flat line, clipping, artefact."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QualityFlags", "epoch_quality"]


@dataclass(frozen=True)
class QualityFlags:
    """Boolean flags, one per epoch.

    Attributes
    ----------
    flat : numpy.ndarray
        The epoch has (almost) no variation: standard deviation below ``flat_uv`` µV.
    clipped : numpy.ndarray
        At least ``clip_fraction`` of the samples sit at the epoch's extreme value
        (the amplifier's rail), i.e. the signal is saturated.
    artefact : numpy.ndarray
        Peak-to-peak amplitude above ``artefact_uv`` µV, or power more than 6 robust
        standard deviations above the night's median (movement, electrode pop).
    """

    flat: np.ndarray
    clipped: np.ndarray
    artefact: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        """Any flag raised."""
        return self.flat | self.clipped | self.artefact


def epoch_quality(
    epochs: np.ndarray,
    flat_uv: float = 0.5,
    clip_fraction: float = 0.01,
    artefact_uv: float = 1000.0,
    variance: np.ndarray | None = None,
    causal: bool = False,
) -> QualityFlags:
    """Flag flat, clipped and artefact epochs (vectorised over the night).

    Parameters
    ----------
    epochs : numpy.ndarray
        ``(n_epochs, n_samples)`` signal in µV.
    flat_uv : float
        Standard deviation under which an epoch is flat (µV).
    clip_fraction : float
        Fraction of samples at the epoch's maximum absolute value that marks clipping.
    artefact_uv : float
        Peak-to-peak amplitude above which an epoch is an artefact (µV).
    variance : numpy.ndarray, optional
        Per-epoch variance (µV²) when already known (e.g. from the spectrum); saves a pass.
    causal : bool
        Live: judge each epoch's power against the epochs up to it (not the whole night).

    Returns
    -------
    QualityFlags
    """
    x = np.asarray(epochs)
    if x.ndim != 2:
        raise ValueError(f"epochs must be 2-D (n_epochs, n_samples); got shape {x.shape}")
    var = x.var(axis=1, dtype=np.float64) if variance is None else np.asarray(variance)
    flat = var < flat_uv**2
    hi = x.max(axis=1)
    lo = x.min(axis=1)
    # saturation: a run of samples sitting exactly at the epoch's top or bottom value
    at_hi = np.count_nonzero(x == hi[:, None], axis=1)
    at_lo = np.count_nonzero(x == lo[:, None], axis=1)
    need = clip_fraction * x.shape[1]
    clipped = ((at_hi >= need) | (at_lo >= need)) & ~flat
    ptp = hi.astype(np.float64) - lo
    logp = np.log(var + 1e-12)
    if causal:
        med = np.array([np.median(logp[: i + 1]) for i in range(logp.size)])
        mad = np.array(
            [1.4826 * np.median(np.abs(logp[: i + 1] - med[i])) for i in range(logp.size)]
        )
    else:
        med = np.median(logp)
        mad = 1.4826 * np.median(np.abs(logp - med))
    artefact = (ptp > artefact_uv) | ((logp - med) / (mad + 1e-9) > 6.0)
    return QualityFlags(flat=flat, clipped=clipped, artefact=artefact & ~flat)

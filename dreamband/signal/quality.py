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

    Returns
    -------
    QualityFlags
    """
    x = np.asarray(epochs, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"epochs must be 2-D (n_epochs, n_samples); got shape {x.shape}")
    sd = x.std(axis=1)
    flat = sd < flat_uv
    top = np.abs(x).max(axis=1, keepdims=True)
    at_rail = np.abs(np.abs(x) - top) <= 1e-6 * np.maximum(top, 1.0)
    clipped = (at_rail.mean(axis=1) >= clip_fraction) & ~flat & (top[:, 0] > 0)
    ptp = np.ptp(x, axis=1)
    logp = np.log(sd**2 + 1e-12)
    med = np.median(logp)
    mad = 1.4826 * np.median(np.abs(logp - med)) + 1e-9
    artefact = (ptp > artefact_uv) | ((logp - med) / mad > 6.0)
    return QualityFlags(flat=flat, clipped=clipped, artefact=artefact & ~flat)

"""Live EEG staging, one epoch at a time, with bounded memory.

Each completed epoch is staged from a short past context: the evidence of the newest epoch
comes from :func:`dreamband.features.eeg.compute_evidence` (``causal=True``) run over the
last ``context`` scored epochs of signal (the causal filters and the detectors' past-only
thresholds settle within that context). The night-level parts of the evidence — the
neighbourhood means (``ctx_*``), the robust z-scores against the night so far (``z_*``) and
their means (``zctx_*``) — are rebuilt from the per-epoch evidence rows kept for the whole
night (a few kB per hour), exactly as the whole-night causal computation defines them. The
rules engine then turns the row into likelihoods and one step of the forward HMM filter
gives the posterior. Memory: ``context`` epochs of signal plus one evidence row per epoch.

An unscored epoch (too much signal missing) carries no evidence: the filter only predicts
through it (flat likelihood) and it is not added to the context.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from dreamband.features.context import context_mean, feature_priors, robust_scale_last
from dreamband.features.eeg import CONTEXT_FEATURES, Evidence, compute_evidence
from dreamband.staging.rules import rule_predicates, stage_likelihoods
from dreamband.staging.transitions import load_transitions

__all__ = ["EEG_CLASSES", "EegLiveStager", "StepResult", "causal_z_last"]

#: Probability columns of the EEG stager (SleepStage order).
EEG_CLASSES: tuple[str, ...] = ("W", "N1", "N2", "N3", "REM")

# likelihood of an epoch with flat/clipped/artefact EEG (as in the rules engine)
_BAD_LIK = np.array([0.4, 0.15, 0.15, 0.15, 0.15])


@dataclass(frozen=True)
class StepResult:
    """Stage of one epoch: code (argmax), filtered probabilities, whether it was scored,
    and the emission likelihood the filter used (for fixed-lag smoothing)."""

    stage: int
    probabilities: np.ndarray
    scored: bool
    bad: bool = False
    likelihood: np.ndarray | None = None


def causal_z_last(history: np.ndarray, prior: tuple[np.ndarray, np.ndarray] | None = None,
                  epoch_length: float = 30.0) -> np.ndarray:
    """Robust z-score of the last row of ``history`` against all its rows (night so far),
    shrunk toward the population ``prior`` early in the night: the row
    :func:`dreamband.features.context.robust_scale` gives with ``causal=True``, at O(n)."""
    return robust_scale_last(history, prior=prior, epoch_length=epoch_length)


class EegLiveStager:
    """Causal rules-engine staging of one EEG participant, epoch by epoch.

    Parameters
    ----------
    fs : float
        Sampling rate of every role's signal (Hz).
    roles : tuple of str
        Which signals :meth:`step` receives, among ``"eeg"`` (required), ``"eog"``,
        ``"roc"``, ``"emg"``.
    epoch_length : float
        Seconds per epoch.
    context : int
        Epochs of signal (including the current one) the evidence is computed over; must
        exceed the detectors' warm-up (10 epochs) for spindles to be seen.
    context_half_width : int
        Half width of the neighbourhood means (as in ``compute_evidence``).
    """

    def __init__(self, fs: float, roles: tuple[str, ...] = ("eeg",), epoch_length: float = 30.0,
                 context: int = 12, context_half_width: int = 2) -> None:
        if "eeg" not in roles:
            raise ValueError(f"roles must include 'eeg'; got {roles}")
        unknown = set(roles) - {"eeg", "eog", "roc", "emg"}
        if unknown:
            raise ValueError(f"unknown signal roles {sorted(unknown)}; use eeg, eog, roc, emg")
        if "roc" in roles and "eog" not in roles:
            raise ValueError("a 'roc' channel needs an 'eog' (LOC) channel")
        if context < 1:
            raise ValueError(f"context must be >= 1 epoch; got {context}")
        self.fs = float(fs)
        self.roles = tuple(roles)
        self.epoch_length = float(epoch_length)
        self.context = int(context)
        self.half_width = int(context_half_width)
        self._signal: deque[dict[str, np.ndarray]] = deque(maxlen=self.context - 1)
        self._base: list[np.ndarray] = []   # per scored epoch: CONTEXT_FEATURES values
        self._z: list[np.ndarray] = []
        self._trans, self._init = load_transitions(self.epoch_length)
        self._alpha: np.ndarray | None = None
        self._names: tuple[str, ...] | None = None
        self._cols: dict[str, np.ndarray] = {}
        self.n_epochs = 0

    @property
    def n_rows(self) -> int:
        """Evidence rows kept (one per scored epoch)."""
        return len(self._base)

    def _evidence_row(self, epoch: dict[str, np.ndarray]) -> tuple[np.ndarray, bool]:
        win = [*list(self._signal), epoch]
        sig = {r: np.concatenate([w[r] for w in win]) for r in self.roles}
        kw: dict = {}
        if "eog" in sig:
            kw.update(eog=sig["eog"], fs_eog=self.fs, roc=sig.get("roc"))
        if "emg" in sig:
            kw.update(emg=sig["emg"], fs_emg=self.fs)
        ev = compute_evidence(sig["eeg"], self.fs, epoch_length=self.epoch_length, causal=True,
                              context_half_width=self.half_width, **kw)
        if self._names is None:
            self._names = ev.names
            idx = {n: i for i, n in enumerate(ev.names)}
            self._cols = {
                "base": np.array([idx[k] for k in CONTEXT_FEATURES]),
                "ctx": np.array([idx[f"ctx_{k}"] for k in CONTEXT_FEATURES]),
                "z": np.array([idx[f"z_{k}"] for k in CONTEXT_FEATURES]),
                "zctx": np.array([idx[f"zctx_{k}"] for k in CONTEXT_FEATURES]),
            }
            self._has = (ev.has_eog, ev.has_emg)
            self._prior = feature_priors(CONTEXT_FEATURES, self.epoch_length, *self._has)
        row = ev.values[-1].copy()
        base = row[self._cols["base"]]
        self._base.append(base)
        w = 2 * self.half_width + 1
        hist = np.asarray(self._base)
        z = causal_z_last(hist, self._prior, self.epoch_length)
        self._z.append(z)
        if len(self._z) > w:
            self._z.pop(0)
        # the library's own causal window over the tail (it never reaches further back)
        row[self._cols["ctx"]] = context_mean(hist[-w:], self.half_width, True)[-1]
        row[self._cols["z"]] = z
        row[self._cols["zctx"]] = context_mean(np.asarray(self._z), self.half_width, True)[-1]
        self._signal.append(epoch)
        return row, bool(ev.bad[-1])

    def step(self, epoch: dict[str, np.ndarray] | None) -> StepResult:
        """Stage the next epoch of the grid.

        Parameters
        ----------
        epoch : dict of str to numpy.ndarray, or None
            One epoch of each role's signal (µV, ``epoch_length * fs`` samples), or None for
            an unscored epoch.

        Returns
        -------
        StepResult
        """
        self.n_epochs += 1
        if epoch is None:
            lik = np.ones(len(EEG_CLASSES))
            bad = False
        else:
            missing = [r for r in self.roles if r not in epoch]
            if missing:
                raise ValueError(f"epoch lacks the {missing[0]!r} signal")
            row, bad = self._evidence_row(epoch)
            assert self._names is not None  # set by _evidence_row
            ev = Evidence(self._names, row[None, :], self.epoch_length, True,
                          np.array([bad]), *self._has)
            lik = _BAD_LIK.copy() if bad else stage_likelihoods(rule_predicates(ev))[0]
        a = (self._alpha @ self._trans if self._alpha is not None else self._init) * lik
        a = a / a.sum()
        self._alpha = a
        return StepResult(int(np.argmax(a)), a, epoch is not None, bad, lik)

    @property
    def transitions(self) -> np.ndarray:
        """Transition matrix of the forward filter."""
        return self._trans

    def finalise(self, posterior: np.ndarray) -> tuple[int, np.ndarray]:
        """Stage code and reported probabilities of a (smoothed) posterior."""
        return int(np.argmax(posterior)), posterior

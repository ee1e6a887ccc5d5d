"""Synthetic inputs shared by the live-engine tests (no tests here).

Virtual sleepers: plumbing only, never accuracy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.sim import NO_ARTEFACTS, VirtualSleeper
from firmware_bridge.types import SampleBlock

#: A made-up night: wake, NREM, REM cycles (codes W=0, N1=1, N2=2, N3=3, REM=4).
CYCLE = [0] * 6 + [1] * 4 + [2] * 30 + [3] * 20 + [2] * 10 + [4] * 20


def hypnogram(n_epochs: int, shift: int = 0) -> Hypnogram:
    """A cyclic hypnogram of ``n_epochs`` 30-s epochs, rotated by ``shift`` epochs."""
    reps = -(-(n_epochs + shift) // len(CYCLE))
    st = np.array((CYCLE * reps)[shift:shift + n_epochs], dtype=np.int8)
    return Hypnogram(st, 30.0, source="test cycle")


def sleeper(n_epochs: int, seed: int = 1, shift: int = 0, fs: float = 128.0) -> VirtualSleeper:
    """A muse-like virtual sleeper (4 channels) without artefacts."""
    return VirtualSleeper(hypnogram(n_epochs, shift), channels="muse", fs=fs, seed=seed,
                          artefacts=NO_ARTEFACTS)


def eeg_blocks(sl: VirtualSleeper, origin: float, cuts: np.ndarray | None = None,
               block: int = 12, device: str = "muse") -> Iterator[SampleBlock]:
    """The sleeper's night as sample blocks of ``block`` samples (or cut at ``cuts``)."""
    x = sl.generate(0, sl.duration)
    X = np.vstack([x[c] for c in sl.channels]).astype(float)
    n = X.shape[1]
    edges = np.arange(0, n, block) if cuts is None else np.unique(np.r_[0, cuts])
    edges = np.r_[edges[edges < n], n]
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        dt = np.arange(a, b) / sl.fs
        yield SampleBlock(device, "eeg", sl.channels, sl.fs, X[:, a:b], dt, origin + dt, i, a)


def rr_blocks(times: np.ndarray, origin: float, per_block: int = 1,
              device: str = "strap") -> Iterator[SampleBlock]:
    """RR intervals (s) of beat ``times`` as blocks; each interval stamped at its closing beat."""
    rr = np.diff(times)
    t = times[1:]
    for i in range(0, rr.size, per_block):
        sl = slice(i, i + per_block)
        yield SampleBlock(device, "rr", ("rr",), None, rr[sl][None, :], t[sl], origin + t[sl],
                          i)

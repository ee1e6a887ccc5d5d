"""A resumed session's earlier samples, replayed so that its live stagers continue warm.

A lab run that crashed has recorded every sample its bands sent (``raw/`` of the session
folder, crash-safe). When the session is resumed, each participant's stager would otherwise
start cold: no night-so-far statistics, no spindle threshold, no filter state — the first
10-20 minutes after a restart are then staged worse (on the DREAMS excerpts the live kappa
over minutes 5-10 of a cold start is 0.08, against 0.42 once warm). :func:`history_blocks`
reads a participant's stream back from the raw folder, on the new run's clock, as the
sample blocks its band delivered, so that :class:`~dreamband.live.engine.LiveEngine` can
feed them to the participant before the new run's first block: its stager then is in the
state it would have reached had the band only been silent during the outage.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import numpy as np

from dreamband.errors import InputFileError
from dreamband.storage.raw_signals import open_raw_folder
from firmware_bridge.types import SampleBlock

__all__ = ["BLOCK_S", "history_blocks"]

logger = logging.getLogger(__name__)

#: Seconds of a regular stream per replayed block (irregular streams: 600 rows a block).
BLOCK_S = 30.0
_IRREGULAR_ROWS = 600


def history_blocks(session_dir: str | os.PathLike, participant: str, stream: str,
                   channels: tuple[str, ...], origin: float) -> Iterator[SampleBlock]:
    """The samples ``participant``'s bands sent on ``stream`` in the session's earlier runs.

    Parameters
    ----------
    session_dir : path
        The session folder (``raw/`` and ``session.json``).
    participant : str
        Whose bands (``participants.<name>.bands`` of ``session.json``).
    stream : str
        Stream kind (``eeg``, ``rr``, ``hr``, ``ecg``).
    channels : tuple of str
        Channels to deliver (the participant's role channels; ``()``: every channel).
    origin : float
        The session's grid origin on the new run's clock: a row recorded ``s`` seconds
        after the session's origin is delivered at host time ``origin + s``.

    Yields
    ------
    SampleBlock
        In the order the rows were recorded (each band's rows in turn, the band heard first
        first), :data:`BLOCK_S` seconds of a regular stream or 600 rows of an irregular one
        per block. Nothing when the session recorded no raw rows for the participant, or
        its runs cannot be placed on one clock (a warning is logged).
    """
    try:
        raw = open_raw_folder(session_dir)
    except (InputFileError, OSError) as exc:  # a resume goes on cold rather than not at all
        logger.warning("%s: no earlier samples to replay for %s (%s); staging restarts cold",
                       session_dir, participant, exc)
        return
    if not raw.resumable:
        logger.warning("%s: the earlier runs' clocks are not recorded; %s restarts cold",
                       session_dir, participant)
        return
    tables = []
    for band in raw.bands_of(participant):
        if (band, stream) not in raw.streams:
            continue
        names = raw.channel_names(band, stream)
        want = list(channels) or names
        if missing := [c for c in want if c not in names]:
            logger.warning("%s: band %s recorded no %s channel %s; its samples are not "
                           "replayed", session_dir, band, stream, missing[0])
            continue
        table = raw.table(band, stream, channels=want, keep=False)  # those channels only
        if table.num_rows:
            host = table.column("host_time").to_numpy()
            data = np.vstack([table.column(f"ch_{c}").to_numpy().astype(float) for c in want])
            meta = table.schema.metadata or {}
            fs = meta.get(b"fs", b"").decode()
            device = meta.get(b"device", b"").decode() or band
            tables.append((float(np.nanmin(host)), device, tuple(want), host, data,
                           float(fs) if fs else None))
    for _, device, want, host, data, fs in sorted(tables, key=lambda x: x[0]):
        t = origin + (host - raw.t0)
        step = max(round(BLOCK_S * fs), 1) if fs else _IRREGULAR_ROWS
        for a in range(0, t.size, step):
            b = min(a + step, t.size)
            yield SampleBlock(device, stream, want, fs, data[:, a:b], t[a:b].copy(),
                              t[a:b].copy(), seq=0)

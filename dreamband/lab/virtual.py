"""A lab without a radio: virtual bands worn by virtual sleepers, reached through bleak.

``dreamband lab --virtual N`` runs the real lab path (bleak client calls, the band layer,
clock mapping, the live engine, the session folder) against the virtual bleak backend of
:mod:`firmware_bridge.virtual`: participant ``i`` wears a Muse headband (even ``i``) or a
Heart Rate Service strap (odd ``i``; Muse too when ``heart=False``, e.g. on a machine with
no heart model and no slpdb to train one) playing a virtual sleeper that follows a
generated, seeded night starting at lights-off. For trying the command, demos and tests of the
plumbing — the signals are SIMULATED, never an accuracy figure.
"""

from __future__ import annotations

from typing import Any

from dreamband.lab.participants import LabParticipant

__all__ = ["virtual_lab"]


def virtual_lab(n: int, speed: float | str = "max", seed: int = 0, hours: float = 8.0,
                heart: bool = True) -> tuple[list[LabParticipant], dict[str, Any], Any]:
    """Build ``n`` virtual participants.

    Parameters
    ----------
    n : int
        Number of participants (>= 1).
    speed : float or "max"
        Host clock speed (1 = real time; ``"max"`` = as fast as the machine goes).
    seed : int
        Seed of the generated nights and the link jitter.
    hours : float
        Length of each generated night.
    heart : bool
        Odd participants wear heart-rate straps (else every band is a Muse headband).

    Returns
    -------
    participants, band_options, timebase
        Arguments for :func:`dreamband.lab.run.run_lab`.
    """
    from dreamband.replay.hypnogen import generate_hypnogram
    from dreamband.replay.sources import sleeper_heart_source, sleeper_source
    from firmware_bridge.timebase import make_timebase
    from firmware_bridge.virtual import (
        LinkConfig,
        VirtualBleakClient,
        VirtualBleakScanner,
        VirtualWorld,
    )

    if n < 1:
        raise ValueError(f"--virtual needs at least 1 band; got {n}")
    world = VirtualWorld(make_timebase(speed))
    people = []
    for i in range(n):
        name = f"sleeper{i + 1}"
        hyp = generate_hypnogram(seed + i, hours=hours)
        make = sleeper_heart_source if heart and i % 2 == 1 else sleeper_source
        src = make(hyp, name, f"virtual:generated:{seed + i}", seed + i, "generated night")
        dev = world.add_band(src.profile, source=src.make_signal(0.0),
                             link=LinkConfig(drift_ppm=30.0, jitter_s=0.004, seed=seed + i))
        people.append(LabParticipant(name, dev.address, src.profile, eeg=src.eeg, eog=src.eog,
                                     emg=src.emg))
    options = {"backend": VirtualBleakClient, "scanner_backend": VirtualBleakScanner,
               "backend_kwargs": {"world": world}, "backoff": (0.5, 5.0)}
    return people, options, world.timebase

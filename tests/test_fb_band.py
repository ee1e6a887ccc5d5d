"""Band over the real bleak client with the virtual backend: gaps, reconnects, clocks, overflow."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from firmware_bridge.band import Band, BandError
from firmware_bridge.timebase import SimulatedTime
from firmware_bridge.types import Gap, SampleBlock
from firmware_bridge.virtual import (
    LinkConfig,
    VirtualBleakClient,
    VirtualBleakScanner,
    VirtualWorld,
)


def _band(world: VirtualWorld, target: str, **kw) -> Band:
    return Band(target, backend=VirtualBleakClient, scanner_backend=VirtualBleakScanner,
                backend_kwargs={"world": world}, timebase=world.timebase, seed=0, **kw)


async def _run(world: VirtualWorld, bands: list[Band], seconds: float, consume: bool = True):
    items: dict[str, list] = {b.target: [] for b in bands}
    for b in bands:
        await b.start()

    async def drain(b: Band) -> None:
        async for it in b:
            items[b.target].append(it)

    tasks = [asyncio.ensure_future(drain(b)) for b in bands] if consume else []
    await world.timebase.sleep(seconds)
    for b in bands:
        await b.stop()
    if not consume:
        tasks = [asyncio.ensure_future(drain(b)) for b in bands]
    await asyncio.gather(*tasks)
    return items


def _check_coverage(items: list, stream: str) -> tuple[int, int]:
    """Blocks and gaps tile the counter range: nothing duplicated, every hole marked."""
    spans = [(i.first_index, i.n_samples) for i in items
             if isinstance(i, SampleBlock) and i.stream == stream]
    spans += [(g.first_index, g.missing) for g in items
              if isinstance(g, Gap) and g.stream == stream]
    spans.sort()
    for (a, n), (b, _) in itertools.pairwise(spans):
        assert a + n == b, f"{stream}: {a}+{n} != {b}"
    n_gaps = sum(1 for g in items if isinstance(g, Gap) and g.stream == stream)
    return len(spans), n_gaps


def test_reconnect_storm_marks_every_gap_and_duplicates_nothing() -> None:
    world = VirtualWorld(SimulatedTime())
    link = LinkConfig(drift_ppm=150, jitter_s=0.01, loss=0.005, disconnect_every=(15.0, 2.0))
    devs = world.populate(4, link=link)
    bands = [_band(world, d.address) for d in devs]
    items = asyncio.run(_run(world, bands, 120.0))
    for d, b in zip(devs, bands):
        assert d.drops >= 7
        assert b.status.reconnects >= 7
        for spec in b.profile.streams:
            if spec.fs is None:
                continue
            _, n_gaps = _check_coverage(items[b.target], spec.kind)
            assert n_gaps >= 7  # at least one per drop
        reasons = {g.reason for g in items[b.target] if isinstance(g, Gap)}
        assert "disconnect" in reasons


def test_mapped_host_time_tracks_the_true_sampling_time() -> None:
    world = VirtualWorld(SimulatedTime())
    dev = world.add_band("muse", link=LinkConfig(drift_ppm=-200, jitter_s=0.01, loss=0.02))
    band = _band(world, dev.address)
    items = asyncio.run(_run(world, [band], 90.0))[dev.address]
    errs = []
    for blk in items:
        if isinstance(blk, SampleBlock) and blk.stream == "eeg" and blk.host_time[0] > 60.0:
            truth = np.array([dev.host_time(i / 256.0)
                              for i in range(blk.first_index, blk.first_index + blk.n_samples)])
            errs.extend(np.abs(blk.host_time - truth))
    assert len(errs) > 20 * 256 and max(errs) < 0.005  # every sample of the last 30 s


def test_overflow_drops_oldest_and_marks_it() -> None:
    world = VirtualWorld(SimulatedTime())
    dev = world.add_band("muse")
    band = _band(world, dev.address, queue_size=50, block_s=0.0)  # one block per packet
    items = asyncio.run(_run(world, [band], 10.0, consume=False))[dev.address]
    assert band.status.overflow_blocks > 100
    overflow = [g for g in items if isinstance(g, Gap) and g.reason == "overflow"]
    per_block = {"eeg": 12, "acc": 3}
    assert overflow
    assert sum(g.missing // per_block[g.stream] for g in overflow) == band.status.overflow_blocks
    _check_coverage(items, "eeg")
    _check_coverage(items, "acc")


def test_connect_by_name_reads_battery_and_contact() -> None:
    world = VirtualWorld(SimulatedTime())
    dev = world.add_band("polar_h10", name="Polar H10 ABCD1234")
    band = _band(world, "Polar H10 ABCD1234", scan_timeout=0.1)
    items = asyncio.run(_run(world, [band], 5.0))["Polar H10 ABCD1234"]
    assert band.device_id == dev.address
    assert band.profile.name == "polar_h10" and band.status.battery == 100
    assert band.status.contact is True
    ecg = [i for i in items if isinstance(i, SampleBlock) and i.stream == "ecg"]
    assert ecg and ecg[0].channels == ("ECG",) and ecg[0].fs == 130.0


def test_unknown_name_and_unreachable_band_raise_band_error() -> None:
    world = VirtualWorld(SimulatedTime())
    dev = world.add_band("muse", link=LinkConfig(disconnects=[(0.0, 1e9)]))
    with pytest.raises(BandError, match="no band"):
        asyncio.run(_band(world, "nobody", scan_timeout=0.05).start())
    with pytest.raises(BandError, match=dev.address):
        asyncio.run(_band(world, dev.address, reconnect=False).start())


def test_band_that_never_answers_keeps_retrying_and_reports_why() -> None:
    world = VirtualWorld(SimulatedTime())
    dev = world.add_band("heart_rate", link=LinkConfig(disconnects=[(0.0, 1e9)]))
    band = _band(world, dev.address, backoff=(0.5, 4.0))

    async def main() -> None:
        await band.start(wait=False)
        await world.timebase.sleep(60.0)
        await band.stop()

    asyncio.run(main())
    assert not band.status.ever_connected
    assert "unreachable" in (band.status.last_error or "")
    # each failed attempt costs 2 s, then a back-off doubling from 0.5 s up to 4 s (±20 %)
    assert 8 <= dev.connect_attempts <= 14
    assert band.status.reconnects == 0


def test_backoff_stays_at_its_cap_after_thousands_of_failed_attempts() -> None:
    from firmware_bridge.band import Band

    band = Band("00:11:22:33:44:55", backoff=(0.5, 30.0), seed=1)
    delays = [band._backoff(a) for a in (0, 1, 5000, 100_000)]
    assert 0.4 <= delays[0] <= 0.6 and 0.8 <= delays[1] <= 1.2
    assert all(24.0 <= d <= 36.0 for d in delays[2:])  # a band away all night: no overflow


def test_a_missing_bluetooth_service_is_named_in_the_connection_error() -> None:
    from firmware_bridge.band import describe_error

    text = describe_error(FileNotFoundError(2, "No such file or directory"))
    assert text.startswith("no Bluetooth service reachable (Linux: BlueZ over D-Bus)")
    assert "FileNotFoundError" in text
    assert describe_error(TimeoutError("slow")) == "TimeoutError: slow"

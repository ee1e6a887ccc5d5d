"""Batched delivery and decoding change how samples are cut into blocks, never the samples.

Reference: a simulated clock that wakes the virtual band once per packet, and a band that
decodes each notification on arrival with the decoder's one-by-one ``feed``. Batched: packets
delivered several per wake-up, notifications queued and decoded ``block_s`` at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from firmware_bridge.band import Band
from firmware_bridge.profiles import get_profile
from firmware_bridge.timebase import SimulatedTime
from firmware_bridge.types import Gap, SampleBlock
from firmware_bridge.virtual import LinkConfig, VirtualBleakClient, VirtualWorld


class _OneByOne(SimulatedTime):
    """Simulated time that never lets a producer run ahead: one wake-up per packet."""

    def try_advance(self, t: float) -> bool:
        return False


class _FeedOnly:
    """Hides a decoder's ``feed_batch``: the band must call ``feed`` per notification."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def feed(self, char_uuid, data):
        return self._inner.feed(char_uuid, data)

    def reset(self) -> None:
        self._inner.reset()


LINK = LinkConfig(drift_ppm=180.0, latency_s=0.01, jitter_s=0.015, loss=0.01,
                  disconnects=[(20.0, 1.5)], disconnect_every=(33.0, 2.5), seed=5)


def _record(profile: str, batched: bool, block_s: float, seconds: float = 75.0):
    world = VirtualWorld(SimulatedTime() if batched else _OneByOne())
    dev = world.add_band(profile, link=replace(LINK, disconnects=list(LINK.disconnects)))
    prof = get_profile(profile)
    if not batched:
        prof = replace(prof, new_decoder=lambda: _FeedOnly(get_profile(profile).new_decoder()))
    band = Band(dev.address, profile=prof, backend=VirtualBleakClient,
                backend_kwargs={"world": world}, timebase=world.timebase, seed=3,
                backoff=(0.2, 1.0), block_s=block_s)
    items: list = []

    async def main() -> None:
        await band.start()

        async def drain() -> None:
            async for it in band:
                items.append(it)

        task = asyncio.ensure_future(drain())
        await world.timebase.sleep(seconds)
        await band.stop()
        await task

    asyncio.run(main())
    return items, band.status, dev


def _by_stream(items: list) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for it in items:
        d = out.setdefault(it.stream, {"blocks": [], "gaps": []})
        d["blocks" if isinstance(it, SampleBlock) else "gaps"].append(it)
    return out


@pytest.mark.parametrize(("profile", "block_s"), [("muse", 0.25), ("muse", 1.0),
                                                  ("polar_h10", 2.0), ("ganglion", 0.5)])
def test_batched_path_delivers_exactly_the_per_packet_samples(profile: str,
                                                              block_s: float) -> None:
    ref_items, ref_status, ref_dev = _record(profile, batched=False, block_s=0.0)
    new_items, new_status, new_dev = _record(profile, batched=True, block_s=block_s)
    assert ref_dev.drops >= 2 and ref_dev.lost > 0  # the stream really was impaired
    assert (new_dev.sent, new_dev.lost, new_dev.drops) == (ref_dev.sent, ref_dev.lost,
                                                           ref_dev.drops)
    ref, new = _by_stream(ref_items), _by_stream(new_items)
    assert ref.keys() == new.keys()
    merged = False
    for stream in ref:
        rb, nb = ref[stream]["blocks"], new[stream]["blocks"]
        assert rb and nb
        merged |= len(nb) < len(rb)
        for field in ("samples", "device_time", "host_time"):
            axis = 1 if field == "samples" else 0
            a = np.concatenate([getattr(b, field) for b in rb], axis=axis)
            b = np.concatenate([getattr(b, field) for b in nb], axis=axis)
            np.testing.assert_array_equal(a, b, err_msg=f"{stream}.{field}")
        # each batched block starts where a per-packet block started
        starts = {(b.seq, b.first_index) for b in rb}
        assert all((b.seq, b.first_index) in starts for b in nb)
        assert ref[stream]["gaps"] == new[stream]["gaps"]  # count, sizes, times, reasons
    assert merged  # blocks were in fact assembled from several packets
    for name in ("gaps", "missing_samples", "duplicates_dropped", "decode_errors",
                 "reconnects", "samples", "first_time", "last_time", "battery", "contact"):
        assert getattr(new_status, name) == getattr(ref_status, name), name
    assert any(isinstance(g, Gap) and g.reason == "loss" for g in new_items)
    assert any(isinstance(g, Gap) and g.reason == "disconnect" for g in new_items)


def test_idle_stream_is_flushed_within_block_s() -> None:
    """With notifications pausing (heart rate: one a second), a waiting consumer still gets
    each one within ``block_s`` of its arrival."""
    world = VirtualWorld(SimulatedTime())
    dev = world.add_band("heart_rate")
    band = Band(dev.address, backend=VirtualBleakClient, backend_kwargs={"world": world},
                timebase=world.timebase, block_s=0.3)
    delays: list[float] = []

    async def main() -> None:
        await band.start()

        async def drain() -> None:
            async for it in band:
                if isinstance(it, SampleBlock) and it.stream == "hr":
                    delays.append(world.timebase.now() - float(it.host_time[-1]))

        task = asyncio.ensure_future(drain())
        await world.timebase.sleep(20.0)
        await band.stop()
        await task

    asyncio.run(main())
    assert len(delays) >= 15
    assert max(delays) <= 0.3 + 1e-9


def test_block_s_default_depends_on_the_clock_and_must_not_be_negative() -> None:
    assert Band("0B:00:00:00:00:01").block_s == 0.25  # real time: bounded latency
    assert Band("0B:00:00:00:00:01", timebase=SimulatedTime()).block_s == 1.0
    with pytest.raises(ValueError, match="block_s"):
        Band("0B:00:00:00:00:01", block_s=-1.0)

"""The virtual bleak backend behind bleak's real BleakClient/BleakScanner; timebases."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from firmware_bridge.profiles import ganglion, heart_rate, muse, polar_h10
from firmware_bridge.timebase import ScaledTime, SimulatedTime, make_timebase
from firmware_bridge.virtual import (
    ArraySource,
    LinkConfig,
    VirtualBleakClient,
    VirtualBleakScanner,
    VirtualWorld,
)


def test_gatt_database_resolves_through_bleak() -> None:
    async def main() -> None:
        world = VirtualWorld(SimulatedTime())
        dev = world.add_band("polar_h10")
        async with BleakClient(dev.address, backend=VirtualBleakClient, world=world) as c:
            assert c.backend_id == "VirtualBleakClient"
            char = c.services.get_characteristic(polar_h10.PMD_DATA)
            assert "notify" in char.properties
            assert [d.uuid for d in char.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
            assert c.services.get_service(polar_h10.PMD_SERVICE) is not None
            with pytest.raises(BleakError, match="not writable"):
                await c.write_gatt_char(polar_h10.PMD_DATA, b"\x00", response=True)
            level = await c.read_gatt_char(heart_rate.BATTERY_LEVEL)
            assert heart_rate.decode_battery(level) == 100

    asyncio.run(main())


def test_polar_answers_start_on_its_control_point() -> None:
    async def main() -> list[bytes]:
        world = VirtualWorld(SimulatedTime())
        dev = world.add_band("polar_h10")
        got: list[bytes] = []
        async with BleakClient(dev.address, backend=VirtualBleakClient, world=world) as c:
            await c.start_notify(polar_h10.PMD_CONTROL, lambda _, d: got.append(bytes(d)))
            await c.write_gatt_char(polar_h10.PMD_CONTROL, polar_h10.START_ECG, response=True)
        return got

    (answer,) = asyncio.run(main())
    assert polar_h10.decode_control_response(answer) == (polar_h10.OP_START, 0, 0)


def test_scanner_filters_by_service_and_hides_connected_bands() -> None:
    async def main() -> None:
        world = VirtualWorld(SimulatedTime())
        world.populate(4)
        found = await BleakScanner.discover(timeout=0.05, backend=VirtualBleakScanner,
                                            world=world, service_uuids=[muse.SERVICE])
        assert [d.name for d in found] == ["Muse-0001"]
        dev = world.devices["0B:00:00:00:00:02"]
        async with BleakClient(dev.address, backend=VirtualBleakClient, world=world):
            found = await BleakScanner.discover(timeout=0.05, backend=VirtualBleakScanner,
                                                world=world)
            assert dev.address not in {d.address for d in found}

    asyncio.run(main())


def test_streams_carry_the_source_samples() -> None:
    rng = np.random.default_rng(1)
    data = np.rint(rng.normal(0, 100, (4, 2000)) / muse.UV_PER_LSB) * muse.UV_PER_LSB

    async def main() -> np.ndarray:
        world = VirtualWorld(SimulatedTime())
        dev = world.add_band("muse", source=ArraySource(data))
        dec = muse.PROFILE.new_decoder()
        frames = []
        async with BleakClient(dev.address, backend=VirtualBleakClient, world=world) as c:
            for u in muse.PROFILE.subscribe:
                await c.start_notify(u, lambda ch, d: frames.extend(dec.feed(ch.uuid, d)))
            for cmd in muse.PROFILE.start:
                await c.write_gatt_char(cmd.char_uuid, cmd.data, response=False)
            await world.timebase.sleep(2.0)
        eeg = [f for f in frames if f.stream == "eeg"]
        return eeg[0].position, np.concatenate([f.samples for f in eeg], axis=1)

    first, got = asyncio.run(main())
    np.testing.assert_allclose(got, data[:, first:first + got.shape[1]])


def test_unreachable_band_fails_to_connect_like_a_radio() -> None:
    async def main() -> None:
        world = VirtualWorld(SimulatedTime())
        dev = world.add_band("ganglion", link=LinkConfig(disconnects=[(0.0, 100.0)]))
        with pytest.raises(BleakError, match="unreachable"):
            await BleakClient(dev.address, backend=VirtualBleakClient, world=world).connect()
        assert world.timebase.now() >= 2.0  # a failed attempt costs the band's timeout
        with pytest.raises(BleakError):
            await BleakClient("0B:00:00:00:99:99", backend=VirtualBleakClient,
                              world=world).connect()

    asyncio.run(main())


def test_ganglion_and_hr_emitters_produce_decodable_packets() -> None:
    async def main() -> tuple[list, list]:
        world = VirtualWorld(SimulatedTime())
        g = world.add_band("ganglion")
        h = world.add_band("heart_rate")
        gf: list = []
        hf: list = []
        gd, hd = ganglion.PROFILE.new_decoder(), heart_rate.PROFILE.new_decoder()
        async with BleakClient(g.address, backend=VirtualBleakClient, world=world) as cg, \
                BleakClient(h.address, backend=VirtualBleakClient, world=world) as ch:
            await cg.start_notify(ganglion.RECEIVE, lambda c, d: gf.extend(gd.feed(c.uuid, d)))
            await cg.write_gatt_char(ganglion.SEND, b"b", response=False)
            await ch.start_notify(heart_rate.HEART_RATE_MEASUREMENT,
                                  lambda c, d: hf.extend(hd.feed(c.uuid, d)))
            await world.timebase.sleep(5.0)
        return gf, hf

    gf, hf = asyncio.run(main())
    n = sum(f.samples.shape[1] for f in gf)
    assert 4 * 200 <= n <= 5 * 200  # waits for the first raw packet, then every sample
    hr = [f for f in hf if f.stream == "hr"]
    assert 4 <= len(hr) <= 5 and all(50 < f.samples[0, 0] < 70 for f in hr)


def test_scaled_time_runs_faster_than_the_wall_clock() -> None:
    async def main() -> float:
        tb = ScaledTime(50.0)
        t0 = time.perf_counter()
        await tb.sleep(5.0)
        return time.perf_counter() - t0

    assert asyncio.run(main()) < 0.5
    assert isinstance(make_timebase("max"), SimulatedTime)
    with pytest.raises(ValueError, match="speed"):
        make_timebase("fast")

"""A bleak backend whose radio is a :class:`VirtualWorld` of emulated bands.

Pass ``backend=VirtualBleakClient`` to :class:`bleak.BleakClient` and
``backend=VirtualBleakScanner`` to :class:`bleak.BleakScanner`, with ``world=`` naming the
world (or rely on :func:`set_default_world`). Everything above the backend — bleak's
characteristic resolution, callback wrapping, scanning filters — is bleak's real code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

from firmware_bridge.virtual.device import VirtualDevice
from firmware_bridge.virtual.world import VirtualWorld, get_default_world

__all__ = ["VirtualBleakClient", "VirtualBleakScanner"]

CCCD = "00002902-0000-1000-8000-00805f9b34fb"
MTU = 247


def _build_services(device: VirtualDevice) -> BleakGATTServiceCollection:
    coll = BleakGATTServiceCollection()
    handle = 1
    for svc_uuid, chars in device.peripheral.gatt:
        svc = BleakGATTService(None, handle, svc_uuid)
        coll.add_service(svc)
        handle += 1
        for char_uuid, props in chars:
            char = BleakGATTCharacteristic(None, handle, char_uuid, list(props),  # type: ignore[arg-type]
                                           lambda: MTU - 3, svc)
            coll.add_characteristic(char)
            handle += 2  # declaration + value
            if "notify" in props or "indicate" in props:
                desc = BleakGATTDescriptor(None, handle, CCCD, char)
                coll.add_descriptor(desc)
                handle += 1
    return coll


class VirtualBleakClient(BaseBleakClient):
    """bleak client backend talking to a :class:`VirtualDevice`.

    Extra keyword arguments: ``world`` (a :class:`VirtualWorld`; default world otherwise) and
    ``connect_time`` (s of the world's time a successful connection takes, default 0.05).
    """

    def __init__(self, address_or_ble_device: BLEDevice | str, *,
                 disconnected_callback: Callable[[], None] | None = None,
                 timeout: float = 10.0, world: VirtualWorld | None = None,
                 connect_time: float = 0.05, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback,
                         timeout=timeout)
        self.world = world or get_default_world()
        if isinstance(address_or_ble_device, BLEDevice) and isinstance(
                address_or_ble_device.details, VirtualDevice):
            self._device: VirtualDevice | None = address_or_ble_device.details
        else:
            self._device = self.world.devices.get(self.address.upper())
        self._connect_time = connect_time
        self._connected = False

    @property
    def name(self) -> str:
        """The band's advertised name."""
        return self._device.name if self._device else self.address

    @property
    def mtu_size(self) -> int:
        """Negotiated MTU (fixed)."""
        return MTU

    @property
    def is_connected(self) -> bool:
        """True until the link drops or :meth:`disconnect` is called."""
        return self._connected

    def _dev(self) -> VirtualDevice:
        if self._device is None or not self._connected:
            raise BleakError(f"{self.address}: not connected")
        return self._device

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        """Connect if the band exists and is reachable; else fail like a radio would."""
        dev = self._device
        if dev is None:
            raise BleakDeviceNotFoundError(self.address, f"{self.address}: no such virtual band")
        tb = self.world.timebase
        dev.connect_attempts += 1
        if dev.connected:
            raise BleakError(f"{self.address}: already connected to another client")
        if not dev.reachable(tb.now()):
            await tb.sleep(min(self._timeout, 2.0))
            raise BleakError(f"{self.address}: connection timed out (band unreachable)")
        await tb.sleep(self._connect_time)
        if not dev.reachable(tb.now()) or dev.connected:
            raise BleakError(f"{self.address}: connection failed")
        self.services = _build_services(dev)
        self._connected = True
        dev.attach(self._on_link_lost)

    def _on_link_lost(self) -> None:
        self._connected = False
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        """Close the link (no callback: this disconnect was asked for)."""
        if self._connected and self._device is not None:
            self._connected = False
            self._device.detach()
        await asyncio.sleep(0)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Virtual bands need no pairing."""

    async def unpair(self) -> None:
        """Virtual bands need no pairing."""

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, *,
                             use_cached: bool = False, **kwargs: Any) -> bytearray:
        """Read a characteristic."""
        try:
            return bytearray(self._dev().read(characteristic.uuid))
        except KeyError:
            raise BleakError(f"{self.address}: characteristic {characteristic.uuid} "
                             "is not readable") from None

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, *,
                                   use_cached: bool = False, **kwargs: Any) -> bytearray:
        """Descriptors read as zeros."""
        self._dev()
        return bytearray(2)

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer,
                              response: bool) -> None:
        """Write a characteristic (commands)."""
        props = characteristic.properties
        if "write" not in props and "write-without-response" not in props:
            raise BleakError(f"{self.address}: characteristic {characteristic.uuid} "
                             "is not writable")
        self._dev().write(characteristic.uuid, bytes(data))  # type: ignore[arg-type]
        await asyncio.sleep(0)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor,
                                    data: SizedBuffer) -> None:
        """Accepted and ignored."""
        self._dev()

    async def start_notify(self, characteristic: BleakGATTCharacteristic,
                           callback: NotifyCallback, **kwargs: Any) -> None:
        """Enable notifications: the device calls ``callback(bytearray)`` per packet."""
        props = characteristic.properties
        if "notify" not in props and "indicate" not in props:
            raise BleakError(f"{self.address}: characteristic {characteristic.uuid} "
                             "does not notify")
        self._dev().subscribe(characteristic.uuid, callback)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications."""
        self._dev().subscribe(characteristic.uuid, None)


class VirtualBleakScanner(BaseBleakScanner):
    """bleak scanner backend: bands of the world that are not connected advertise
    every ``interval`` seconds of wall-clock time (keyword ``interval``, default 0.02)."""

    def __init__(self, detection_callback: Any = None, service_uuids: list[str] | None = None,
                 scanning_mode: str = "active", *, world: VirtualWorld | None = None,
                 interval: float = 0.02, **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self.world = world or get_default_world()
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start advertising rounds."""
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop advertising rounds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _advertise_once(self) -> None:
        now = self.world.timebase.now()
        for dev in list(self.world.devices.values()):
            if dev.connected or not dev.reachable(now):
                continue
            uuids = list(dev.peripheral.profile.service_uuids)
            if not self.is_allowed_uuid(uuids):
                continue
            adv = AdvertisementData(local_name=dev.name, manufacturer_data={}, service_data={},
                                    service_uuids=uuids, tx_power=None, rssi=dev.rssi,
                                    platform_data=(dev,))
            ble = self.create_or_update_device(dev.address, dev.address, dev.name, dev, adv)
            self.call_detection_callbacks(ble, adv)

    async def _run(self) -> None:
        while True:
            self._advertise_once()
            await asyncio.sleep(self.interval)

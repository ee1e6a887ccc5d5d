"""firmware_bridge: commodity sleep bands over Bluetooth Low Energy.

Device profiles (UUIDs, commands, pure packet decoders), BLE transport over ``bleak``,
clock mapping and virtual bands. Knows nothing about sleep.
"""

__all__: list[str] = []

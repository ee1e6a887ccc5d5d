"""Hand-written EDF+ files with an annotation signal (EDF+C or EDF+D), for reader tests.

edfio writes EDF+C only; a discontinuous EDF+D needs every data record's time-keeping
annotation (``+<onset>`` 0x14 0x14 0x00) written by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Physical range written for every signal (µV): 0.1 µV per digital step.
PHYS = 3276.7


def _f(text: object, width: int) -> bytes:
    return str(text).ljust(width)[:width].encode("latin-1")


def write_edf_plus(
    path: Path,
    channels: list[tuple[str, float, np.ndarray]],
    onsets: list[float],
    record: float = 1.0,
    discontinuous: bool = True,
    ann_bytes: int = 60,
    annotations: list[tuple[float, float, str]] = (),
) -> dict[str, np.ndarray]:
    """Write ``len(onsets)`` data records; channel data holds the records back to back.

    ``annotations`` (onset, duration, text) go into the first record, after its
    time-keeping annotation (``ann_bytes`` must hold them). Returns the values as stored
    (quantised to 0.1 µV), back to back.
    """
    ns = len(channels) + 1
    head = b"0       " + _f("X X X X", 80) + _f("Startdate 02-JAN-2020 X X X", 80)
    head += _f("02.01.20", 8) + _f("22.30.00", 8) + _f(256 * (ns + 1), 8)
    head += _f("EDF+D" if discontinuous else "EDF+C", 44)
    head += _f(len(onsets), 8) + _f(f"{record:g}", 8) + _f(ns, 4)
    labels = [c[0] for c in channels] + ["EDF Annotations"]
    spr = [round(c[1] * record) for c in channels] + [ann_bytes // 2]
    cols = [
        [_f(x, 16) for x in labels],
        [_f("", 80) for _ in labels],
        [_f("uV", 8) for _ in channels] + [_f("", 8)],
        [_f(-PHYS, 8) for _ in channels] + [_f(-1, 8)],
        [_f(PHYS, 8) for _ in channels] + [_f(1, 8)],
        [_f(-32767, 8) for _ in channels] + [_f(-32768, 8)],
        [_f(32767, 8) for _ in channels] + [_f(32767, 8)],
        [_f("", 80) for _ in labels],
        [_f(n, 8) for n in spr],
        [_f("", 32) for _ in labels],
    ]
    for col in cols:
        head += b"".join(col)
    body = bytearray()
    stored = {}
    digital = {}
    for name, _, x in channels:
        d = np.clip(np.round(np.asarray(x, dtype=float) / 0.1), -32767, 32767).astype("<i2")
        digital[name] = d
        stored[name] = d.astype(float) * (2 * PHYS / 65534)
    for r, onset in enumerate(onsets):
        for (name, _, _), n in zip(channels, spr, strict=False):
            body += digital[name][r * n : (r + 1) * n].tobytes()
        text = f"{onset:.6f}".rstrip("0").rstrip(".")  # EDF+ onsets: no exponent
        tal = f"+{text}".encode() + b"\x14\x14\x00"
        if r == 0:
            for on, dur, what in annotations:
                tal += f"+{on:g}\x15{dur:g}\x14{what}\x14\x00".encode()
        body += tal.ljust(ann_bytes, b"\x00")
    path.write_bytes(head + bytes(body))
    return stored

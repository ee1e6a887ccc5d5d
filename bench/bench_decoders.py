"""Decoder throughput per profile: packets per second on one core (pure decode + stream decoder).

Fixed inputs: 20,000 packets per profile built by our own encoders from a seeded signal.
Prints the figures and appends them with the command to bench/RESULTS.md.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_bridge.profiles import ganglion, heart_rate, muse, polar_h10

N = 20_000


def _packets() -> dict[str, tuple[list[bytes], str, object]]:
    rng = np.random.default_rng(0)
    m = [muse.encode_eeg(k % 65536, rng.normal(0, 50, 12)) for k in range(N)]
    p = [polar_h10.encode_ecg(10**18 + k * 561_538_461, rng.normal(0, 500, 73)) for k in range(N)]
    enc = ganglion.GanglionEncoder()
    g: list[bytes] = []
    x = np.cumsum(rng.integers(-2000, 2000, (4, 2 * N + 400)), axis=1)
    for j in range(x.shape[1]):
        pkt = enc.push(x[:, j])
        if pkt is not None:
            g.append(pkt)
        if len(g) == N:
            break
    h = [heart_rate.encode_measurement(heart_rate.HeartRateMeasurement(
        60 + k % 40, True, k % 1000, (0.8 + 0.01 * (k % 10),))) for k in range(N)]
    return {
        "muse": (m, next(iter(muse.EEG_CHARS)), muse.decode_eeg),
        "polar_h10": (p, polar_h10.PMD_DATA, polar_h10.decode_ecg),
        "ganglion": (g, ganglion.RECEIVE, ganglion.decode_packet),
        "heart_rate": (h, heart_rate.HEART_RATE_MEASUREMENT, heart_rate.decode_measurement),
    }


def _rate(fn, packets: list[bytes]) -> float:
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for pkt in packets:
            fn(pkt)
        best = max(best, len(packets) / (time.perf_counter() - t0))
    return best


def main() -> None:
    lines = []
    profiles = {"muse": muse.PROFILE, "polar_h10": polar_h10.PROFILE,
                "ganglion": ganglion.PROFILE, "heart_rate": heart_rate.PROFILE}
    for name, (packets, char, decode) in _packets().items():
        pure = _rate(decode, packets)
        dec = profiles[name].new_decoder()
        if name == "muse":  # a full Muse frame needs the four electrode packets
            chars = list(muse.EEG_CHARS)

            def feed(pkt: bytes, dec=dec, chars=chars) -> None:
                for c in chars:
                    dec.feed(c, pkt)

            stream = _rate(feed, packets) * 4
        else:
            stream = _rate(lambda pkt, dec=dec, char=char: dec.feed(char, pkt), packets)
        line = (f"{name}: pure decode {pure:,.0f} packets/s; stream decoder {stream:,.0f} "
                f"packets/s ({len(packets):,} packets, best of 3)")
        print(line)
        lines.append(line)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [f"\n## bench_decoders — {now}\n",
             f"Command: `python {' '.join(sys.argv)}`  ",
             f"Machine: {platform.machine()}, Python {platform.python_version()}, "
             f"numpy {np.__version__}; one core\n", *[f"- {x}" for x in lines], ""]
    with (Path(__file__).with_name("RESULTS.md")).open("a", encoding="utf-8") as fh:
        fh.write("\n".join(block) + "\n")


if __name__ == "__main__":
    main()

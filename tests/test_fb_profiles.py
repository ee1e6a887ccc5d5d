"""Device profiles: spec test vectors, encoder round trips, and fuzzing of every decoder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.profiles import ganglion, heart_rate, muse, polar_h10
from firmware_bridge.types import DecodeError

# --- test vectors -----------------------------------------------------------------------


def test_heart_rate_vector_uint8_with_contact_and_rr() -> None:
    # HRS v1.0 §3.1.1: flags 0x16 = uint8 HR, contact supported+detected, RR present;
    # HR 72 bpm; RR 0x0400 = 1024/1024 s = 1.0 s and 0x0333 = 819/1024 s.
    m = heart_rate.decode_measurement(bytes([0x16, 72, 0x00, 0x04, 0x33, 0x03]))
    assert m.heart_rate == 72 and m.contact is True and m.energy_kj is None
    assert m.rr_s == (1.0, 819 / 1024)


def test_heart_rate_vector_uint16_with_energy_no_contact_feature() -> None:
    # flags 0x09 = uint16 HR + energy expended; HR 0x0105 = 261 bpm; energy 0x0010 = 16 kJ
    m = heart_rate.decode_measurement(bytes([0x09, 0x05, 0x01, 0x10, 0x00]))
    assert (m.heart_rate, m.contact, m.energy_kj, m.rr_s) == (261, None, 16, ())


def test_battery_vector() -> None:
    # Battery Level 0x2A19: uint8 percent
    assert heart_rate.decode_battery(b"\x57") == 87


def test_polar_ecg_vector() -> None:
    # Polar PMD ECG frame: type 0x00, uint64 LE ns timestamp, frame type 0x00, int24 LE µV
    ts = 599_000_000_123_456_789
    data = (
        bytes([0x00])
        + ts.to_bytes(8, "little")
        + b"\x00"
        + bytes([0xFF, 0xFF, 0xFF, 0x10, 0x00, 0x00, 0x00, 0x00, 0x80])
    )
    t, uv = polar_h10.decode_ecg(data)
    assert t == ts
    np.testing.assert_array_equal(uv, [-1.0, 16.0, -(1 << 23)])


def test_polar_start_command_matches_pmd_spec() -> None:
    # start (0x02) ECG (0x00): sample rate setting 0x00 → 130 (0x0082), resolution 0x01 → 14
    assert polar_h10.START_ECG == bytes.fromhex("02000001820001010e00")


def test_muse_vector() -> None:
    # Muse EEG: uint16 BE index 0x0102, then 12-bit BE pairs; 0x800 (mid-scale) → 0 µV,
    # 0xFFF → 2047 × 0.48828125 µV, 0x000 → −1000 µV.
    payload = bytes([0x80, 0x0F, 0xFF, 0x00, 0x08, 0x00]) + bytes([0x80, 0x08, 0x00]) * 4
    index, uv = muse.decode_eeg(bytes([0x01, 0x02]) + payload)
    assert index == 258
    np.testing.assert_allclose(uv[:4], [0.0, 2047 * 0.48828125, -1000.0, 0.0])


def test_muse_accelerometer_vector() -> None:
    # uint16 BE sequence 7, then (x, y, z) int16 BE ×3; 16384 LSB ≈ 1 g (0.0000610352 g/LSB)
    xyz = [0, 0, 16384, -16384, 1, 2, 3, -3, 32767]
    data = bytes([0, 7]) + b"".join(v.to_bytes(2, "big", signed=True) for v in xyz)
    seq, g = muse.decode_acc(data)
    assert seq == 7
    np.testing.assert_allclose(g[:, 0], [0.0, 0.0, 16384 * 0.0000610352])
    np.testing.assert_allclose(g[:, 2] / 0.0000610352, [3, -3, 32767])


def test_muse_command_encoding() -> None:
    # [length incl. newline] + ASCII + '\n', e.g. 'd' → 02 64 0a, 'p21' → 04 70 32 31 0a
    assert muse.encode_command("d") == bytes([0x02, 0x64, 0x0A])
    assert muse.encode_command("p21") == bytes([0x04, 0x70, 0x32, 0x31, 0x0A])
    assert muse.decode_command(bytes([0x02, 0x68, 0x0A])) == "h"


def test_ganglion_raw_vector() -> None:
    # id 0: four int24 BE counts, then 7 padding bytes
    data = (
        bytes([0])
        + bytes([0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0x80, 0x00, 0x00])
        + b"ABCDEFG"
    )
    p = ganglion.decode_packet(data)
    assert p.kind == "raw"
    np.testing.assert_array_equal(p.values[:, 0], [1, -1, (1 << 23) - 1, -(1 << 23)])


def test_ganglion_19bit_vector() -> None:
    # id 101: eight 19-bit deltas MSB first; bit 0 set means negative (sign-extended).
    # First delta 0b000...0011 (=3, odd → 3 − 2^19), the rest 2 (even → +2).
    vals = [3] + [2] * 7
    bits = "".join(format(v, "019b") for v in vals)
    payload = int(bits, 2).to_bytes(19, "big")
    p = ganglion.decode_packet(bytes([101]) + payload)
    assert p.kind == "delta19"
    assert p.values[0, 0] == 3 - (1 << 19) and p.values[1, 0] == 2 and p.values[3, 1] == 2


def test_ganglion_decoder_applies_deltas_to_reference() -> None:
    dec = ganglion.GanglionDecoder()
    dec.feed(ganglion.RECEIVE, ganglion.encode_raw(np.array([100, 0, -50, 7])))
    deltas = np.array([[2, 4], [-1, -3], [0, 0], [-5, 6]])  # sign in bit 0 already
    (frame,) = dec.feed(ganglion.RECEIVE, ganglion.encode_delta(101, deltas))
    counts = np.rint(frame.samples / ganglion.UV_PER_COUNT).astype(int)
    np.testing.assert_array_equal(counts[:, 0], [98, 1, -50, 12])
    np.testing.assert_array_equal(counts[:, 1], [94, 4, -50, 6])
    # a lost packet: the next compressed one cannot be placed and is dropped
    assert dec.feed(ganglion.RECEIVE, ganglion.encode_delta(103, deltas)) == []


# --- round trips (hypothesis) -------------------------------------------------------------

rr_ticks = st.lists(st.integers(1, 0xFFFF), max_size=8)


@given(
    hr=st.integers(0, 0xFFFF),
    contact=st.sampled_from([None, True, False]),
    energy=st.one_of(st.none(), st.integers(0, 0xFFFF)),
    rr=rr_ticks,
)
def test_heart_rate_round_trip(
    hr: int, contact: bool | None, energy: int | None, rr: list[int]
) -> None:
    m = heart_rate.HeartRateMeasurement(hr, contact, energy, tuple(t / 1024 for t in rr))
    assert heart_rate.decode_measurement(heart_rate.encode_measurement(m)) == m


@given(
    ts=st.integers(0, 2**64 - 1),
    v=st.lists(st.integers(-(1 << 23), (1 << 23) - 1), min_size=1, max_size=100),
)
def test_polar_round_trip(ts: int, v: list[int]) -> None:
    t, uv = polar_h10.decode_ecg(polar_h10.encode_ecg(ts, np.array(v, dtype=float)))
    assert t == ts
    np.testing.assert_array_equal(uv, v)


@given(index=st.integers(0, 0xFFFF), raw=st.lists(st.integers(0, 4095), min_size=12, max_size=12))
def test_muse_round_trip(index: int, raw: list[int]) -> None:
    uv = (np.array(raw) - 2048) * muse.UV_PER_LSB
    i, out = muse.decode_eeg(muse.encode_eeg(index, uv))
    assert i == index
    np.testing.assert_array_equal(out, uv)


@given(seq=st.integers(0, 0xFFFF), raw=st.lists(st.integers(-32768, 32767), min_size=9,
                                                max_size=9))
def test_muse_acc_round_trip(seq: int, raw: list[int]) -> None:
    g = np.array(raw, dtype=float).reshape(3, 3) * muse.G_PER_LSB
    s, out = muse.decode_acc(muse.encode_acc(seq, g))
    assert s == seq
    np.testing.assert_allclose(out, g, rtol=0, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31), step=st.integers(1, 100_000))
def test_ganglion_stream_round_trip_within_one_count(seed: int, step: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.clip(np.cumsum(rng.integers(-step, step + 1, (4, 450)), axis=1), -(1 << 22), 1 << 22)
    enc, dec = ganglion.GanglionEncoder(), ganglion.GanglionDecoder()
    frames = []
    for j in range(x.shape[1]):
        pkt = enc.push(x[:, j])
        if pkt is not None:
            frames += dec.feed(ganglion.RECEIVE, pkt)
    y = np.rint(np.concatenate([f.samples for f in frames], axis=1) / ganglion.UV_PER_COUNT)
    assert y.shape[1] == 449  # 450 samples: the last one waits for its packet partner
    assert np.abs(y - x[:, :449]).max() <= 1


# --- fuzzing ------------------------------------------------------------------------------

DECODERS = {
    "heart_rate": heart_rate.decode_measurement,
    "polar_h10": polar_h10.decode_ecg,
    "muse": muse.decode_eeg,
    "ganglion": ganglion.decode_packet,
}
FUZZED = [*DECODERS.items(), ("muse", muse.decode_acc), ("muse", muse.decode_telemetry),
          ("muse", muse.decode_command), ("polar_h10", polar_h10.decode_control_response),
          ("heart_rate", heart_rate.decode_battery)]


@pytest.mark.parametrize(("profile", "decode"), FUZZED, ids=[f.__name__ for _, f in FUZZED])
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600))
def test_fuzz_decoders_raise_only_decode_error(profile: str, decode, data: bytes) -> None:
    try:
        decode(data)
    except DecodeError as exc:
        assert exc.profile == profile
        assert 0 <= exc.offset <= len(data)
        assert f"byte {exc.offset}" in str(exc)


@pytest.mark.parametrize(
    ("profile", "packet"),
    [
        ("muse", muse.encode_eeg(1, np.zeros(12))),
        ("polar_h10", polar_h10.encode_ecg(5, np.zeros(73))),
        ("ganglion", ganglion.encode_raw(np.zeros(4))),
        (
            "heart_rate",
            heart_rate.encode_measurement(heart_rate.HeartRateMeasurement(60, True, 1, (1.0,))),
        ),
    ],
)
def test_truncated_and_oversized_packets_name_profile_and_offset(
    profile: str, packet: bytes
) -> None:
    decode = DECODERS[profile]
    for cut in range(len(packet)):
        try:
            decode(packet[:cut])
        except DecodeError as exc:
            assert exc.profile == profile and exc.offset <= cut
    with pytest.raises(DecodeError, match=profile):
        decode(packet + b"\x01" * (1 if profile != "polar_h10" else 1000))


STREAM_PROFILES = {p.name: p for p in (heart_rate.PROFILE, polar_h10.PROFILE, muse.PROFILE,
                                      ganglion.PROFILE)}


@pytest.mark.parametrize("profile", sorted(STREAM_PROFILES))
@settings(max_examples=100, deadline=None)
@given(packets=st.lists(st.tuples(st.integers(0, 7), st.binary(max_size=40)), max_size=30))
def test_fuzz_stateful_stream_decoders(profile: str, packets: list[tuple[int, bytes]]) -> None:
    prof = STREAM_PROFILES[profile]
    dec = prof.new_decoder()
    chars = list(prof.subscribe)
    for which, data in packets:
        try:
            frames = dec.feed(chars[which % len(chars)], data)
        except DecodeError as exc:
            assert exc.profile == profile
            continue
        for f in frames:
            assert np.all(np.isfinite(f.samples))


def test_muse_feed_batch_equals_feed_one_by_one() -> None:
    """Batched decoding (with its fast path for complete in-order groups) gives the frames
    feed() gives, on a stream with lost, reordered, malformed and foreign notifications."""
    rng = np.random.default_rng(11)
    chars = list(muse.EEG_CHARS)
    items = []
    for k in range(400):
        x = rng.normal(0, 80, (4, 12))
        group = [(c, muse.encode_eeg(k % 65536, x[j])) for j, c in enumerate(chars)]
        if k % 7 == 3:
            group.pop(int(rng.integers(4)))  # one electrode lost
        if k % 11 == 5:
            group.reverse()
        if k % 13 == 2:
            group[0] = (group[0][0], group[0][1][:15])  # truncated
        items += group
        if k % 5 == 0:
            items.append((muse.TELEMETRY, muse.encode_telemetry(k, 80.0)))
    ref, n_err = [], 0
    one = muse.MuseDecoder()
    for i, (u, d) in enumerate(items):
        try:
            ref += [(i, f) for f in one.feed(u, bytearray(d))]
        except DecodeError:
            n_err += 1
    batched = muse.MuseDecoder()
    got, errors = [], []
    for start in range(0, len(items), 37):  # batches cutting groups anywhere
        chunk = [(u, bytearray(d)) for u, d in items[start:start + 37]]
        frames, errs = batched.feed_batch(chunk)
        got += [(start + i, f) for i, f in frames]
        errors += errs
    assert len(errors) == n_err > 0
    assert [i for i, _ in got] == [i for i, _ in ref]
    assert sum(f.stream == "eeg" for _, f in ref) > 300
    for (_, a), (_, b) in zip(ref, got, strict=True):
        assert (a.stream, a.position, a.meta) == (b.stream, b.position, b.meta)
        np.testing.assert_array_equal(a.samples, b.samples)

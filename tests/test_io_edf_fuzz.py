"""Damaged and odd EDF/EDF+/BDF files: every reader returns a sound result or refuses the
file with a one-line :class:`~dreamband.errors.InputFileError` naming it.

Small valid files (an EDF+C with three channels at different rates, a BDF, an EDF+C
annotation-only hypnogram) are mutated with hypothesis: random header bytes, every
fixed-width header field overwritten with junk, truncation, appended bytes, and damaged
annotations (TALs). Then explicit cases for the header rules the readers enforce.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Recording
from dreamband.errors import ChannelNotFoundError, InputFileError
from dreamband.io.edf import read_edf
from dreamband.io.edf_header import read_edf_info
from dreamband.io.hypnogram_files import read_edf_hypnogram, write_edf_hypnogram
from dreamband.io.sleepedf import read_edf_annotations

#: Examples per property; ``DREAMBAND_FUZZ_EXAMPLES=2000`` for a longer hunt (random, not
#: derandomized, when set).
_EXAMPLES = int(os.environ.get("DREAMBAND_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_EXAMPLES or 40,
    deadline=None,
    derandomize=not _EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --------------------------------------------------------------------------- writers
@dataclass(frozen=True)
class Sig:
    """One signal of a hand-written file: header fields and its digital samples."""

    label: str
    spr: int
    unit: str = "uV"
    pmin: float = -500.0
    pmax: float = 500.0
    dmin: int = -32768
    dmax: int = 32767
    digital: np.ndarray | None = None  # n_records * spr integers; zeros when None


def _f(value: object, width: int) -> bytes:
    return str(value).ljust(width)[:width].encode("latin-1")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e8 else f"{x:g}"


def _tal_records(n_records: int, record: float, spr: int, extra: bytes = b"") -> list[bytes]:
    """Time-keeping TALs (``+onset 0x14 0x14 0x00``), ``extra`` TALs in record 0."""
    out = []
    for r in range(n_records):
        raw = f"+{r * record:g}".encode() + b"\x14\x14\x00" + (extra if r == 0 else b"")
        assert len(raw) <= 2 * spr
        out.append(raw.ljust(2 * spr, b"\x00"))
    return out


def write_file(
    path: Path,
    signals: list[Sig],
    n_records: int = 4,
    record: float = 1.0,
    bdf: bool = False,
    reserved: str = "",
    annotations: list[bytes] | None = None,
    ann_spr: int = 30,
) -> Path:
    """Hand-write an EDF/BDF; with ``annotations`` (bytes per record) an EDF+ with an
    ``EDF Annotations`` signal last."""
    sigs = list(signals)
    if annotations is not None:
        sigs.append(Sig("BDF Annotations" if bdf else "EDF Annotations", ann_spr, "", -1, 1))
    ns = len(sigs)
    head = (b"\xffBIOSEMI" if bdf else _f("0", 8)) + _f("X X X X", 80)
    head += _f("Startdate 02-JAN-2020 X X X", 80) + _f("02.01.20", 8) + _f("22.30.00", 8)
    head += _f(256 * (ns + 1), 8) + _f(reserved, 44) + _f(n_records, 8)
    head += _f(f"{record:g}", 8) + _f(ns, 4)
    columns = [
        [_f(s.label, 16) for s in sigs],
        [_f("", 80) for _ in sigs],
        [_f(s.unit, 8) for s in sigs],
        [_f(_num(s.pmin), 8) for s in sigs],
        [_f(_num(s.pmax), 8) for s in sigs],
        [_f(s.dmin, 8) for s in sigs],
        [_f(s.dmax, 8) for s in sigs],
        [_f("", 80) for _ in sigs],
        [_f(s.spr, 8) for s in sigs],
        [_f("", 32) for _ in sigs],
    ]
    for column in columns:
        head += b"".join(column)
    width = 3 if bdf else 2
    body = bytearray()
    for r in range(n_records):
        for s in signals:
            d = np.zeros(n_records * s.spr, dtype=np.int64) if s.digital is None else s.digital
            chunk = np.asarray(d[r * s.spr : (r + 1) * s.spr], dtype="<i4")
            body += chunk.view(np.uint8).reshape(-1, 4)[:, :width].tobytes()
        if annotations is not None:
            body += annotations[r][: width * ann_spr].ljust(width * ann_spr, b"\x00")
    path.write_bytes(head + bytes(body))
    return path


RNG = np.random.default_rng(7)
EDF_SIGNALS = [
    Sig("EEG Fpz-Cz", 64, digital=RNG.integers(-3000, 3000, 4 * 64)),
    Sig("EOG horizontal", 32, digital=RNG.integers(-3000, 3000, 4 * 32)),
    Sig("Temp rectal", 1, "degC", 30, 40, digital=RNG.integers(-100, 100, 4)),
]
BDF_SIGNALS = [
    Sig("Fz", 32, "uV", -8388608, 8388607, -8388608, 8388607, RNG.integers(-1e5, 1e5, 4 * 32)),
    Sig("Resp", 8, "mV", -100, 100, -8388608, 8388607, RNG.integers(-1e5, 1e5, 4 * 8)),
]
HYPNOGRAM = Hypnogram(
    stages=np.array([0, 0, 1, 2, 2, 3, 4, 4, -1], dtype=np.int8),
    epoch_length=30.0,
    start_time=datetime(2020, 1, 2, 3, 4, 5),
)


def make_edf(path: Path) -> Path:
    """EDF+C: EEG 64 Hz, EOG 32 Hz, temperature 1 Hz, 4 records of 1 s, annotations."""
    return write_file(
        path, EDF_SIGNALS, reserved="EDF+C",
        annotations=_tal_records(4, 1.0, 30, b"+0.5\x150.25\x14Lights off\x14\x00"),
    )


def make_bdf(path: Path) -> Path:
    """Plain BDF: Fz 32 Hz in µV, Resp 8 Hz in mV, 4 records of 1 s."""
    return write_file(path, BDF_SIGNALS, bdf=True, reserved="24BIT")


def make_hypnogram(path: Path) -> Path:
    """Annotation-only EDF+C hypnogram as ``dreamband stage`` writes it."""
    return write_edf_hypnogram(HYPNOGRAM, path)


@functools.cache
def base_files() -> dict[str, bytes]:
    """The three valid files' bytes (module-level, so hypothesis does not print them)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        return {
            "edf": make_edf(folder / "base.edf").read_bytes(),
            "bdf": make_bdf(folder / "base.bdf").read_bytes(),
            "hyp": make_hypnogram(folder / "base-hypnogram.edf").read_bytes(),
        }


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mutated")


SUFFIX = {"edf": "x.edf", "bdf": "x.bdf", "hyp": "x-hypnogram.edf"}


# -------------------------------------------------------------------------- property
def _check_error(exc: Exception, path: Path) -> None:
    msg = str(exc)
    assert str(path) in msg, f"message does not name the file: {msg!r}"
    assert "\n" not in msg and "\r" not in msg, f"message is not one line: {msg!r}"


def _read_all(kind: str) -> list[Callable]:
    if kind == "hyp":
        return [read_edf_info, read_edf_annotations, read_edf_hypnogram]
    readers = [read_edf_info, read_edf]
    return [*readers, read_edf_annotations] if kind == "edf" else readers


def check_readers(kind: str, path: Path) -> list[object]:
    """Run every reader of ``kind`` on ``path``: each returns a sound result or raises a
    one-line InputFileError/ChannelNotFoundError naming the file; anything else fails."""
    results = []
    for reader in _read_all(kind):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MNE/edfio warn about odd headers
            try:
                result = reader(path)
            except (InputFileError, ChannelNotFoundError) as exc:
                _check_error(exc, path)
                results.append(exc)
                continue
        if isinstance(result, Recording) and not result.meta.get("gaps"):
            for chan in result.channels:
                assert np.isfinite(chan.data).all(), f"{reader.__name__}: non-finite samples"
                assert math.isfinite(chan.fs) and chan.fs > 0
        if isinstance(result, Hypnogram):
            assert result.n_epochs > 0 and math.isfinite(result.offset)
        if isinstance(result, tuple):  # read_edf_annotations
            assert all(math.isfinite(o) and math.isfinite(d) for o, d, _ in result[2])
        results.append(result)
    return results


def _write(scratch: Path, kind: str, data: bytes) -> Path:
    path = scratch / SUFFIX[kind]
    path.write_bytes(data)
    return path


def test_the_base_files_are_read(scratch):
    for kind, data in base_files().items():
        results = check_readers(kind, _write(scratch, kind, data))
        assert not any(isinstance(r, Exception) for r in results), (kind, results)
    rec = read_edf(_write(scratch, "edf", base_files()["edf"]))
    assert [c.fs for c in rec.channels] == [64, 32, 1]
    _, _, anns = read_edf_annotations(_write(scratch, "edf", base_files()["edf"]))
    assert anns == [(0.5, 0.25, "Lights off")]
    hyp = read_edf_hypnogram(_write(scratch, "hyp", base_files()["hyp"]))
    np.testing.assert_array_equal(hyp.stages, HYPNOGRAM.stages)


# -------------------------------------------------------------------------- mutations
KINDS = st.sampled_from(["edf", "bdf", "hyp"])

#: Fixed part of the header: name -> (offset, width).
FIXED_FIELDS = {
    "version": (0, 8),
    "patient": (8, 80),
    "recording": (88, 80),
    "startdate": (168, 8),
    "starttime": (176, 8),
    "header bytes": (184, 8),
    "reserved": (192, 44),
    "number of data records": (236, 8),
    "data record duration": (244, 8),
    "number of signals": (252, 4),
}
#: Per-signal fields: name -> (offset of the block in units of ns, width).
SIGNAL_FIELDS = {
    "label": (0, 16),
    "transducer": (16, 80),
    "unit": (96, 8),
    "physical minimum": (104, 8),
    "physical maximum": (112, 8),
    "digital minimum": (120, 8),
    "digital maximum": (128, 8),
    "prefilter": (136, 80),
    "samples per record": (216, 8),
}

JUNK = st.one_of(
    st.sampled_from([
        b"", b" ", b"0", b"-0", b"-1", b"-2", b"1", b"+1", b"1.5", b"-32768", b"32767",
        b"99999999", b"-9999999", b"1e308", b"-1e308", b"1e999", b"inf", b"-inf", b"nan",
        b"1e-300", b"0x10", b"1_0", b"1,5", b"abc", b"\x00", b"\xff\xfe", b"\xe9\xb5V",
        b"EDF+C", b"EDF+D", b"EDF+", b"BDF+C", b"EDF Annotations", b"00.00.00", b"24.00.00",
        b"31.02.20", b"99.99.99", b"12:00:00", b"Startdate 31-FEB-2020 X X X",
        b"Startdate X X X X", b"uV\xa0", b"mV", b"V", b"nV",
    ]),
    st.integers(-(10**9), 10**9).map(lambda i: str(i).encode()),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: repr(x).encode()),
    st.binary(max_size=16),
    st.text(max_size=10).map(lambda t: t.encode("utf-8")),
)


def _put(data: bytearray, offset: int, width: int, value: bytes) -> None:
    if offset + width <= len(data):
        data[offset : offset + width] = value.ljust(width)[:width]


@given(kind=KINDS, field=st.sampled_from(sorted(FIXED_FIELDS)), value=JUNK)
@FUZZ
def test_junk_in_a_fixed_header_field(scratch, kind, field, value):
    data = bytearray(base_files()[kind])
    _put(data, *FIXED_FIELDS[field], value)
    check_readers(kind, _write(scratch, kind, bytes(data)))


@given(kind=KINDS, field=st.sampled_from(sorted(SIGNAL_FIELDS)), which=st.integers(0, 3),
       value=JUNK)
@FUZZ
def test_junk_in_a_signal_header_field(scratch, kind, field, which, value):
    data = bytearray(base_files()[kind])
    ns = int(data[252:256])
    base, width = SIGNAL_FIELDS[field]
    _put(data, 256 + base * ns + (which % ns) * width, width, value)
    check_readers(kind, _write(scratch, kind, bytes(data)))


@given(kind=KINDS, edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                  min_size=1, max_size=6))
@FUZZ
def test_random_header_bytes(scratch, kind, edits):
    data = bytearray(base_files()[kind])
    header = int(data[184:192])
    for at, byte in edits:
        data[at % header] = byte
    check_readers(kind, _write(scratch, kind, bytes(data)))


@given(kind=KINDS, cut=st.floats(0, 1, exclude_max=True))
@FUZZ
def test_truncated_anywhere(scratch, kind, cut):
    data = base_files()[kind]
    results = check_readers(kind, _write(scratch, kind, data[: int(cut * len(data))]))
    assert all(isinstance(r, InputFileError) for r in results)


@given(kind=KINDS, junk=st.binary(min_size=1, max_size=1500))
@FUZZ
def test_junk_appended(scratch, kind, junk):
    check_readers(kind, _write(scratch, kind, base_files()[kind] + junk))


# ---------------------------------------------------------------- annotation damage
def _data_start(data: bytes) -> int:
    return int(data[184:192])


TAL_DAMAGE = st.sampled_from([
    "drop 0x14", "drop 0x00", "drop 0x15", "0x14 to space", "0x00 to space",
    "onset junk", "onset +inf", "onset -inf", "onset +nan", "onset huge", "duration huge",
    "duration -1", "text not utf-8", "text 0xff run", "zero the annotations",
])


def _damage(data: bytes, how: str, nth: int) -> bytes:
    head, body = data[: _data_start(data)], bytearray(data[_data_start(data) :])

    def nth_index(needle: bytes) -> int | None:
        hits = [i for i in range(len(body)) if body.startswith(needle, i)]
        return hits[nth % len(hits)] if hits else None

    def replace_nth(needle: bytes, new: bytes) -> None:
        i = nth_index(needle)
        if i is not None:
            body[i : i + len(needle)] = new

    if how == "drop 0x14":
        replace_nth(b"\x14", b"")
    elif how == "drop 0x00":
        replace_nth(b"\x00", b"")
    elif how == "drop 0x15":
        replace_nth(b"\x15", b"")
    elif how == "0x14 to space":
        replace_nth(b"\x14", b" ")
    elif how == "0x00 to space":
        replace_nth(b"\x00", b" ")
    elif how.startswith("onset"):
        new = {"onset junk": b"+a", "onset +inf": b"+inf", "onset -inf": b"-inf",
               "onset +nan": b"+nan", "onset huge": b"+99999999999999999999"}[how]
        replace_nth(b"+", new + b"\x1f")  # \x1f: keeps the digits after it out of the onset
    elif how == "duration huge":
        replace_nth(b"\x15", b"\x15999999999999999")
    elif how == "duration -1":
        replace_nth(b"\x15", b"\x15-1")
    elif how == "text not utf-8":
        replace_nth(b"\x14S", b"\x14\xff")
        replace_nth(b"\x14L", b"\x14\xc3")
    elif how == "text 0xff run":
        i = nth_index(b"\x14")
        if i is not None:
            body[i + 1 : i + 5] = b"\xff\xfe\xfd\xfc"[: len(body) - i - 1]
    elif how == "zero the annotations":
        body[:] = bytes(len(body))
    # keep the size: a TAL change must not turn into a size mismatch
    out = bytes(body[: len(data) - len(head)]).ljust(len(data) - len(head), b"\x00")
    return head + out


@given(kind=st.sampled_from(["hyp", "edf"]), how=TAL_DAMAGE, nth=st.integers(0, 50))
@FUZZ
def test_damaged_annotations(scratch, kind, how, nth):
    path = _write(scratch, kind, _damage(base_files()[kind], how, nth))
    results = check_readers(kind, path)
    if kind == "hyp" and how in ("onset +inf", "onset -inf", "onset +nan", "onset junk",
                                 "text not utf-8"):
        # never silently dropped: the annotation readers refuse the file
        assert isinstance(results[-1], InputFileError), (how, results[-1])


@given(kind=st.sampled_from(["hyp", "edf"]),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                      max_size=4))
@FUZZ
def test_random_bytes_in_the_annotations(scratch, kind, edits):
    data = bytearray(base_files()[kind])
    start = _data_start(data)
    for at, byte in edits:
        data[start + at % (len(data) - start)] = byte
    check_readers(kind, _write(scratch, kind, bytes(data)))


# -------------------------------------------------------- every field, every odd value
SWEEP_VALUES = [
    b"", b"-1", b"0", b"-0", b"99999999", b"1e308", b"1e999", b"inf", b"-inf", b"nan",
    b"4.0", b"abc", b"\xff\xfe", b"\x00", b"EDF+D", b"EDF+X", b"EDF Annotations",
    b"24.00.00", b"31.02.20", b"Startdate 31-FEB-2020 X X X", b"uV\xa0",
]


def test_every_header_field_with_every_odd_value(scratch):
    """Deterministic sweep: each fixed field and each field of the first and last signal,
    overwritten with each value above, in each base file."""
    for kind, base in base_files().items():
        ns = int(base[252:256])
        spots = list(FIXED_FIELDS.values())
        for offset, width in SIGNAL_FIELDS.values():
            spots += [(256 + offset * ns, width), (256 + offset * ns + (ns - 1) * width, width)]
        for at, width in spots:
            for value in SWEEP_VALUES:
                data = bytearray(base)
                _put(data, at, width, value)
                check_readers(kind, _write(scratch, kind, bytes(data)))


# ------------------------------------------------------------------- explicit cases
def _edf(path: Path, signals: list[Sig] | None = None, **kwargs) -> Path:
    return write_file(path, EDF_SIGNALS if signals is None else signals, **kwargs)


def _refused(path: Path, *fragments: str, reader: Callable = read_edf) -> str:
    with pytest.raises(InputFileError) as err:
        reader(path)
    msg = str(err.value)
    _check_error(err.value, path)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def _signals_with(i: int, **changes) -> list[Sig]:
    out = list(EDF_SIGNALS)
    fields = {**out[i].__dict__, **changes}
    out[i] = Sig(**fields)
    return out


def test_physical_min_equal_to_max_is_refused(tmp_path):
    path = _edf(tmp_path / "p.edf", _signals_with(1, pmin=500, pmax=500))
    _refused(path, "physical maximum' of signal 2 ('EOG horizontal')", "equals physical maximum")


def test_physical_min_above_max_inverts_the_signal(tmp_path):
    plain = read_edf(_edf(tmp_path / "a.edf"))
    flipped = read_edf(_edf(tmp_path / "b.edf", _signals_with(0, pmin=500, pmax=-500)))
    np.testing.assert_allclose(flipped.channels[0].data, -plain.channels[0].data, atol=0.02)


@pytest.mark.parametrize(("dmin", "dmax"), [(0, 0), (32767, -32768), (100, 99)])
def test_digital_min_not_below_max_is_refused(tmp_path, dmin, dmax):
    path = _edf(tmp_path / "d.edf", _signals_with(0, dmin=dmin, dmax=dmax))
    _refused(path, "digital maximum' of signal 1", f"digital minimum {dmin} must be below")


def test_physical_range_too_large_to_represent_is_refused(tmp_path):
    path = _edf(tmp_path / "big.edf", _signals_with(2, pmin=-1e300, pmax=1e300, unit="V"))
    _refused(path, "signal 3 ('Temp rectal')", "too large")


@pytest.mark.filterwarnings("ignore:Channel names are not unique")
def test_repeated_labels_get_running_numbers(tmp_path):
    sigs = [Sig("EEG", 64, digital=RNG.integers(-99, 99, 256)), Sig("EEG", 32), Sig("ECG", 32)]
    rec = read_edf(_edf(tmp_path / "dup.edf", sigs))
    assert rec.names == ["EEG-0", "EEG-1", "ECG"]
    assert [c.fs for c in rec.channels] == [64, 32, 32]


def test_repeated_label_whose_new_name_is_taken_is_refused(tmp_path):
    sigs = [Sig("EEG", 64), Sig("EEG", 32), Sig("EEG-0", 32)]
    _refused(_edf(tmp_path / "dup.edf", sigs), "'label' of signal 1", "'EEG-0'")


def _patch(src: Path, dst: Path, at: int, width: int, value: bytes) -> Path:
    data = bytearray(src.read_bytes())
    _put(data, at, width, value)
    dst.write_bytes(bytes(data))
    return dst


def test_record_count_of_minus_one_is_inferred_from_the_file_size(tmp_path, caplog):
    base = make_edf(tmp_path / "base.edf")
    want = read_edf(base)
    path = _patch(base, tmp_path / "open.edf", 236, 8, b"-1")
    with caplog.at_level(logging.WARNING, logger="dreamband.io.edf_header"):
        assert read_edf_info(path).n_records == 4
    assert "-1 data records" in caplog.text
    got = read_edf(path)
    for a, b in zip(want.channels, got.channels):
        np.testing.assert_array_equal(a.data, b.data)
    # a recording cut mid-record: the whole records are read
    cut = tmp_path / "cut.edf"
    cut.write_bytes(path.read_bytes()[:-100])
    assert read_edf_info(cut).n_records == 3
    assert read_edf(cut).channels[0].n_samples == 3 * 64
    _refused(_patch(base, tmp_path / "m2.edf", 236, 8, b"-2"), "invalid count -2",
             "number of data records")


def test_file_size_that_disagrees_with_the_header(tmp_path, caplog):
    base = make_edf(tmp_path / "base.edf")
    data = base.read_bytes()
    record = (64 + 32 + 1 + 30) * 2
    short = tmp_path / "short.edf"
    short.write_bytes(data[:-1])
    _refused(short, "truncated", "4 data records", "number of data records")
    long = tmp_path / "long.edf"
    long.write_bytes(data + bytes(record))
    _refused(long, "size disagrees with the header", "1 more whole records")
    tail = tmp_path / "tail.edf"
    tail.write_bytes(data + b"junk")
    with caplog.at_level(logging.WARNING, logger="dreamband.io.edf_header"):
        assert read_edf(tail).channels[0].n_samples == 4 * 64
    assert "4 bytes after the last data record are ignored" in caplog.text


def test_header_bytes_that_disagree_with_the_signal_count(tmp_path):
    path = _patch(make_edf(tmp_path / "base.edf"), tmp_path / "hb.edf", 184, 8, b"1024")
    _refused(path, "header bytes 1024 do not match 4 signals (expected 1280)",
             "header field 'header bytes'")


@pytest.mark.parametrize(
    ("at", "width", "value", "field"),
    [
        (244, 8, b"inf", "data record duration"),
        (244, 8, b"-1", "data record duration"),
        (184, 8, b"inf", "header bytes"),
        (236, 8, b"4.0", "number of data records"),
        (252, 4, b"-4", "number of signals"),
        (256 + 104 * 4, 8, b"nan", "physical minimum of signal 1"),
        (256 + 120 * 4 + 8, 8, b"1e999", "digital minimum of signal 2"),
        (256 + 216 * 4, 8, b"1e3", "samples per record of signal 1"),
        (256 + 216 * 4 + 16, 8, b"0", "samples per record"),
        (176, 8, b"24.00.00", "starttime"),
        (88, 80, b"Startdate 31-FEB-2020 X X X", "recording"),
        (192, 44, b"EDF+X", "reserved"),
    ],
)
def test_bad_numbers_and_dates_name_the_field(tmp_path, at, width, value, field):
    path = _patch(make_edf(tmp_path / "base.edf"), tmp_path / "bad.edf", at, width, value)
    _refused(path, field, reader=read_edf_info)


def test_a_unit_padded_with_a_latin1_space_keeps_its_scale(tmp_path):
    plain = read_edf(make_edf(tmp_path / "base.edf"))
    path = _patch(tmp_path / "base.edf", tmp_path / "u.edf", 256 + 96 * 4, 8, b"uV\xa0")
    odd = read_edf(path)
    assert odd.channels[0].unit == "uV"
    np.testing.assert_allclose(odd.channels[0].data, plain.channels[0].data)


def test_a_patient_field_with_two_equals_signs_is_read(tmp_path):
    """Legal free text in the EDF+ patient field (MNE's header parser unpacks every
    ``key=value`` item and fails on ``a=b=c``; read_edf reads the samples itself)."""
    path = _patch(make_edf(tmp_path / "base.edf"), tmp_path / "p.edf", 8, 80,
                  b"X M 01-JAN-2000 Name note=a=b")
    assert read_edf_info(path).patient.endswith("note=a=b")
    assert read_edf(path).names == ["EEG Fpz-Cz", "EOG horizontal", "Temp rectal"]


# ------------------------------------------------------------ explicit annotation damage
def hand_hypnogram(path: Path, tals: bytes, recording: str = "dreamband epoch=30s") -> Path:
    """Annotation-only EDF+C with the given TALs after the time-keeping one."""
    write_file(path, [], n_records=1, record=0, reserved="EDF+C",
               annotations=[b"+0\x14\x14\x00" + tals], ann_spr=(len(tals) + 10) // 2 + 1)
    data = bytearray(path.read_bytes())
    _put(data, 88, 80, f"Startdate 02-JAN-2020 X X X {recording}".encode())
    path.write_bytes(bytes(data))
    return path


STAGES = b"+0\x1530\x14Sleep stage W\x14\x00+30\x1560\x14Sleep stage 2\x14\x00"
TAL_CASES = [
    (b"stage 2\x14\x00", b"stage 2\x14 ", "not terminated by 0x14 0x00"),
    (b"2\x14\x00", b"2\x00\x00", "'+30\\x1560\\x14Sleep stage 2' is not terminated"),
    (b"+30\x1560\x14", b"+30\x1560 ", "lacks the 0x14 after its onset"),
    (b"+30\x15", b"+3a\x15", "onset '+3a'"),
    (b"+30\x15", b"+inf\x15", "onset '+inf'"),
    (b"+30\x15", b"-inf\x15", "onset '-inf'"),
    (b"+30\x15", b"+nan\x15", "onset '+nan'"),
    (b"+30\x15", b"30\x15", "onset '30'"),
    (b"+30\x15", b"+1e3\x15", "onset '+1e3'"),
    (b"\x1560", b"\x15-6", "duration '-6'"),
    (b"\x1560", b"\x15inf", "duration 'inf'"),
    (b"Sleep stage 2", b"Sleep \xff\xfe 2", "not UTF-8"),
    (b"W\x14\x00+30\x15", b"W\x15\x14\x00+30\x15", "0x15 inside its text"),
]


@pytest.mark.parametrize(("old", "new", "fragment"), TAL_CASES)
def test_damaged_annotation_names_the_record(tmp_path, old, new, fragment):
    good = hand_hypnogram(tmp_path / "good-hypnogram.edf", STAGES)
    np.testing.assert_array_equal(read_edf_hypnogram(good).stages, [0, 2, 2])
    assert STAGES.count(old) == 1
    path = hand_hypnogram(tmp_path / "bad-hypnogram.edf", STAGES.replace(old, new))
    for reader in (read_edf_annotations, read_edf_hypnogram):
        _refused(path, fragment, "annotation signal 1, data record 1", reader=reader)


def test_record_without_time_keeping_annotation_is_refused(tmp_path):
    path = hand_hypnogram(tmp_path / "h-hypnogram.edf", STAGES)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"+0\x14\x14\x00+0", b"+0\x14W\x14\x00+0"))
    _refused(path, "does not start with a time-keeping annotation", "data record 1",
             reader=read_edf_annotations)


def _hypnogram_with(tmp_path: Path, old: bytes, new: bytes) -> Path:
    data = make_hypnogram(tmp_path / "h-hypnogram.edf").read_bytes()
    assert data.count(old) == 1
    path = tmp_path / "bad-hypnogram.edf"
    path.write_bytes(data.replace(old, new)[: len(data)].ljust(len(data), b"\x00"))
    return path


def test_annotation_spanning_years_is_refused_without_allocating(tmp_path):
    path = hand_hypnogram(tmp_path / "a-hypnogram.edf", STAGES.replace(b"\x1560", b"\x15999999999"))
    _refused(path, "more than", "annotation 1 at 30 s", reader=read_edf_hypnogram)
    path = hand_hypnogram(tmp_path / "b-hypnogram.edf", STAGES.replace(b"+30", b"+99999999999"))
    _refused(path, "beyond 1e+09 s", reader=read_edf_hypnogram)


@pytest.mark.parametrize("epoch", [b"epoch=0s ", b"epoch=-3s", b"epoch=nan", b"epoch=inf"])
def test_epoch_in_the_recording_field_must_be_positive(tmp_path, epoch):
    path = _hypnogram_with(tmp_path, b"epoch=30s", epoch)
    _refused(path, "recording field", reader=read_edf_hypnogram)


def test_stage_annotations_without_durations_are_refused(tmp_path):
    data = make_hypnogram(tmp_path / "h-hypnogram.edf").read_bytes()
    head, body = data[:512], data[512:]
    for dur in (b"\x1560", b"\x1530"):
        body = body.replace(dur, b"")
    path = tmp_path / "nodur-hypnogram.edf"
    path.write_bytes(head + body.ljust(len(data) - 512, b"\x00"))
    _refused(path, "no sleep stage annotation covers an epoch", reader=read_edf_hypnogram)


def test_a_file_without_annotation_signal_is_not_an_annotation_file(scratch):
    _refused(_write(scratch, "bdf", base_files()["bdf"]), "no 'EDF Annotations' signal",
             reader=read_edf_annotations)


# ---------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def stage_base(tmp_path_factory) -> Path:
    """Two minutes of EEG/EOG at 100 Hz and EMG at 50 Hz: enough for ``dreamband stage``."""
    rng = np.random.default_rng(3)
    n = 120
    return write_file(
        tmp_path_factory.mktemp("cli") / "night.edf",
        [
            Sig("EEG Fpz-Cz", 100, digital=rng.integers(-3000, 3000, n * 100)),
            Sig("EOG horizontal", 100, digital=rng.integers(-3000, 3000, n * 100)),
            Sig("EMG submental", 50, digital=rng.integers(-3000, 3000, n * 50)),
        ],
        n_records=n,
        reserved="EDF+C",
        annotations=_tal_records(n, 1.0, 30),
    )


CLI_DAMAGE = {
    "truncated": lambda d: d[: len(d) // 2],
    "n records junk": lambda d: d[:236] + b"abc     " + d[244:],
    "header bytes": lambda d: d[:184] + b"1024    " + d[192:],
    "version": lambda d: b"1       " + d[8:],
    "start time": lambda d: d[:176] + b"25.00.00" + d[184:],
    "physical min = max": lambda d: d[: 256 + 104 * 4] + b"500     " + d[256 + 104 * 4 + 8 :],
    "digital min > max": lambda d: d[: 256 + 120 * 4] + b"32767   " + d[256 + 120 * 4 + 8 :],
    "extra records": lambda d: d + bytes(2 * (100 + 100 + 50 + 30) * 4),
}


def _stage(path: Path, out: Path, capsys) -> tuple[int, str]:
    from dreamband.cli import main as cli

    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main(["stage", str(path), "--out", str(out)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("how", sorted(CLI_DAMAGE))
def test_stage_refuses_a_damaged_file_in_one_line(stage_base, tmp_path, capsys, how):
    path = tmp_path / "night.edf"
    path.write_bytes(CLI_DAMAGE[how](stage_base.read_bytes()))
    code, err = _stage(path, tmp_path / "night.csv", capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("dreamband: error: ") and str(path) in err
    assert "Traceback" not in err
    assert not (tmp_path / "night.csv").exists()


@given(field=st.sampled_from(sorted(FIXED_FIELDS)), value=JUNK)
@settings(FUZZ, max_examples=min(FUZZ.max_examples, 12))
def test_stage_on_junk_header_fields(stage_base, tmp_path, capsys, field, value):
    data = bytearray(stage_base.read_bytes())
    _put(data, *FIXED_FIELDS[field], value)
    path = tmp_path / "night.edf"
    path.write_bytes(bytes(data))
    out = tmp_path / "night.csv"
    out.unlink(missing_ok=True)
    code, err = _stage(path, out, capsys)
    assert "Traceback" not in err
    if code:
        assert code == 2 and str(path) in err.splitlines()[-1]
    else:
        assert out.is_file()

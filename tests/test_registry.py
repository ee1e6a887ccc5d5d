"""Manifests: validation, record selection, local status, and agreement with the publishers'
checksum lists (those tests need the shared data folder and skip without it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dreamband.cli.main as cli_main
from dreamband.errors import InputFileError
from dreamband.paths import manifests_dir
from dreamband.registry import (
    DatasetNotFoundError,
    SelectionError,
    dataset_names,
    dataset_status,
    fetch,
    get_dataset,
    load_manifest,
    select_records,
)

SHIPPED = manifests_dir()
EXPECTED = {
    "sleep-edf",
    "slpdb",
    "sleep-accel",
    "sleep-accel-features",
    "dreams-spindles",
    "yasa-samples",
}


def _sums(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip().removeprefix("./")] = digest
    return out


# ------------------------------------------------------------------ shipped manifests
def test_every_shipped_manifest_loads_with_licence_and_citation() -> None:
    names = dataset_names(SHIPPED)
    assert EXPECTED <= set(names)
    for name in names:
        ds = get_dataset(name, SHIPPED)
        assert ds.name == name and ds.licence and ds.citations and ds.records
        for rec in ds.records:
            for f in rec.files:
                assert f.url or not ds.base_url, f"{name}:{f.path} has no URL"


def test_sleep_edf_manifest_pairs_psg_and_hypnogram_per_record() -> None:
    ds = get_dataset("sleep-edf", SHIPPED)
    for rec in ds.records:
        kinds = sorted(f.kind for f in rec.files)
        assert kinds == ["hypnogram", "psg"], rec.id
        assert all(f.name.startswith(rec.id) for f in rec.files)
        study = {"SC": "sleep-cassette", "ST": "sleep-telemetry"}[rec.id[:2]]
        assert rec.study == study
        assert rec.subject == rec.id[:2] + rec.id[3:5] and rec.night == int(rec.id[5])


def test_sleep_edf_manifest_has_every_record_of_physionet_sums(sleep_edf_dir: Path) -> None:
    sums = _sums(sleep_edf_dir / "SHA256SUMS.txt")
    ds = get_dataset("sleep-edf", SHIPPED)
    listed = {f.url.removeprefix(ds.base_url): f.sha256 for r in ds.records for f in r.files}
    edf = {k: v for k, v in sums.items() if k.endswith(".edf")}
    assert listed == edf
    counts = {
        (study, kind): sum(1 for k in edf if k.startswith(study) and k.endswith(f"{kind}.edf"))
        for study in ("sleep-cassette", "sleep-telemetry")
        for kind in ("PSG", "Hypnogram")
    }
    assert counts == {
        ("sleep-cassette", "PSG"): 153,
        ("sleep-cassette", "Hypnogram"): 153,
        ("sleep-telemetry", "PSG"): 44,
        ("sleep-telemetry", "Hypnogram"): 44,
    }
    assert len(ds.records) == 153 + 44
    other = {f.path: f.sha256 for f in ds.files}
    assert {k: v for k, v in sums.items() if not k.endswith(".edf")}.items() <= other.items()


def test_slpdb_manifest_covers_physionet_sums(slpdb_dir: Path) -> None:
    sums = _sums(slpdb_dir / "SHA256SUMS.txt")
    ds = get_dataset("slpdb", SHIPPED)
    listed = {f.path: f.sha256 for r in ds.records for f in r.files}
    listed.update({f.path: f.sha256 for f in ds.files if f.path != "SHA256SUMS.txt"})
    assert listed == sums
    assert [r.id for r in ds.records] == (slpdb_dir / "RECORDS").read_text().split()
    heart = {
        f.path.rsplit(".", 1)[1]
        for r in ds.records
        for f in r.files
        if "heart-staging" in f.needed_for
    }
    assert heart == {"hea", "ecg", "st"}


@pytest.mark.parametrize(
    ("name", "folder", "sums_name"),
    [
        ("dreams-spindles", "dreams-spindles", "SHA256SUMS"),
        ("sleep-accel-features", "sleep-accel", "SHA256SUMS"),
        ("yasa-samples", "yasa-samples", "SHA256SUMS"),
    ],
)
def test_small_manifests_match_shared_checksums(
    real_data: Path, name: str, folder: str, sums_name: str
) -> None:
    sums = _sums(real_data / folder / sums_name)
    ds = get_dataset(name, SHIPPED)
    listed = {f.path: f.sha256 for r in ds.records for f in r.files if f.sha256}
    listed.update({f.path: f.sha256 for f in ds.files if f.sha256})
    assert listed == sums


def test_sleep_accel_raw_files_have_no_invented_checksums() -> None:
    ds = get_dataset("sleep-accel", SHIPPED)
    assert all(f.sha256 is None for r in ds.records for f in r.files)
    assert len(ds.records) == 31


# ------------------------------------------------------------------ validation
GOOD = """
name = "tiny"
title = "Tiny"
version = "1"
licence = "CC0-1.0"
citations = ["A. Someone 2024"]
base_url = "https://example.org/tiny/"

[[records]]
id = "a"
files = [{ path = "a.txt", sha256 = "%s" }]
""" % ("0" * 64)


def _manifest(tmp_path: Path, text: str, name: str = "tiny") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_good_manifest_derives_url_from_base_url(tmp_path: Path) -> None:
    ds = load_manifest(_manifest(tmp_path, GOOD))
    assert ds.records[0].files[0].url == "https://example.org/tiny/a.txt"
    assert ds.records[0].subject == "a" and ds.folder == "tiny"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('version = "1"\n', 'version = "1"\nlicense = "x"\n'),
            r"top level\): unknown key 'license'",
        ),
        (lambda t: t.replace('licence = "CC0-1.0"\n', ""), r"missing required key 'licence'"),
        (
            lambda t: t.replace('sha256 = "', 'sha265 = "'),
            r"records\[0\]\.files\[0\]\): unknown key 'sha265'",
        ),
        (lambda t: t.replace("0" * 64, "0" * 63), r"'sha256' is not 64 hex digits"),
        (lambda t: t.replace('path = "a.txt"', 'path = "../a.txt"'), r"relative POSIX path"),
        (
            lambda t: t + '\n[[records]]\nid = "A"\nfiles = [{ path = "b.txt" }]\n',
            r"record id 'A' appears twice",
        ),
        (
            lambda t: t.replace('citations = ["A. Someone 2024"]', "citations = []"),
            r"'citations' must be a non-empty list",
        ),
        (lambda t: t.replace("[[records]]", "[[records"), r"not valid TOML"),
    ],
)
def test_bad_manifest_error_names_file_and_key(tmp_path: Path, edit, message: str) -> None:
    path = _manifest(tmp_path, edit(GOOD))
    with pytest.raises(InputFileError, match=message) as info:
        load_manifest(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_manifest_name_must_match_file_name(tmp_path: Path) -> None:
    _manifest(tmp_path, GOOD, name="other")
    with pytest.raises(InputFileError, match=r"other\.toml \(name\): 'name' is 'tiny'"):
        get_dataset("other", tmp_path)


def test_unknown_dataset_names_the_known_ones(tmp_path: Path) -> None:
    _manifest(tmp_path, GOOD)
    with pytest.raises(DatasetNotFoundError, match=r"dataset 'sleep'; known datasets: tiny"):
        get_dataset("sleep", tmp_path)


def test_env_variable_points_the_registry_at_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _manifest(tmp_path, GOOD)
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path))
    assert dataset_names() == ["tiny"]


# ------------------------------------------------------------------ selection and status
def test_numeric_subject_matches_the_number_in_the_subject_id() -> None:
    ds = get_dataset("sleep-edf", SHIPPED)
    assert [r.id for r in select_records(ds, subjects=["0"])] == ["SC4001", "SC4002"]
    both = [r.id for r in select_records(ds, subjects=[1])]
    assert both == ["SC4011", "SC4012", "ST7011", "ST7012"]  # two studies, two people
    assert [r.id for r in select_records(ds, subjects=["st01"])] == ["ST7011", "ST7012"]
    assert [r.id for r in select_records(ds, records=["sc4001"])] == ["SC4001"]
    with pytest.raises(SelectionError, match="no subject 'SC99'"):
        select_records(ds, subjects=["SC99"])


def test_status_reports_present_and_missing_files(tmp_path: Path) -> None:
    _manifest(
        tmp_path / "m",
        GOOD.replace(
            'files = [{ path = "a.txt", sha256 = "%s" }]' % ("0" * 64),
            'files = [{ path = "a.txt" }, { path = "sub/b.txt" }]',
        ),
    )
    data = tmp_path / "data"
    (data / "tiny" / "sub").mkdir(parents=True)
    (data / "tiny" / "sub" / "b.txt").write_text("b")
    [status] = dataset_status("tiny", data, manifests_dir=tmp_path / "m")
    assert (status.record, status.subject, status.present) == ("a", "a", False)
    assert status.missing_files == ["a.txt"]
    (data / "tiny" / "a.txt").write_text("a")
    assert dataset_status("tiny", data, manifests_dir=tmp_path / "m")[0].present


def test_status_on_shared_data_sees_the_hypnograms_only(real_data: Path) -> None:
    status = {s.record: s for s in dataset_status("sleep-edf", real_data)}
    present_hyp = {p.name[:6] for p in (real_data / "sleep-edf").glob("*-Hypnogram.edf")}
    assert present_hyp
    for rec_id in present_hyp:
        assert status[rec_id].missing_files == [f"{rec_id}E0-PSG.edf"]
    slpdb = dataset_status("slpdb", real_data, purpose="heart-staging")
    on_disk = {p.stem for p in (real_data / "slpdb").glob("*.ecg")}
    assert {s.record for s in slpdb if s.present} == on_disk


# ------------------------------------------------------------------ real mirror
def test_fetch_subject_0_from_shared_mirror_copies_hypnograms_and_reports_psg(
    sleep_edf_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_main, "COMMANDS", ("fetch",))
    monkeypatch.delenv("DREAMBAND_MANIFESTS", raising=False)
    data = tmp_path / "data"
    rc = cli_main.main(
        [
            "fetch",
            "sleep-edf",
            "--subjects",
            "0",
            "--mirror",
            str(sleep_edf_dir),
            "--data-dir",
            str(data),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 2
    copied = sorted(p.name for p in (data / "sleep-edf").iterdir())
    assert copied == ["SC4001EC-Hypnogram.edf", "SC4002EC-Hypnogram.edf"]
    sums = _sums(sleep_edf_dir / "SHA256SUMS-present.txt")
    for name in copied:
        assert (data / "sleep-edf" / name).read_bytes() == (sleep_edf_dir / name).read_bytes()
        assert name in sums
    assert "2 fetched" in out and "missing: SC4001E0-PSG.edf: not found in mirror" in out
    last = err.strip().splitlines()[-1]
    assert re.match(
        r"dreamband: error: sleep-edf: 2 requested file\(s\) not obtained: "
        r"SC4001E0-PSG\.edf: not found in mirror",
        last,
    )


def test_fetch_slpdb_heart_files_from_shared_mirror(slpdb_dir: Path, tmp_path: Path) -> None:
    report = fetch(
        "slpdb",
        records=["slp01a", "slp32"],
        purpose="heart-staging",
        data_dir=tmp_path,
        mirror=slpdb_dir,
        progress=False,
        manifests_dir=SHIPPED,
    )
    assert report.complete and not report.unverified
    got = sorted(p.name for p in (tmp_path / "slpdb").iterdir())
    assert got == sorted(
        [
            "ANNOTATORS",
            "README.st",
            "RECORDS",
            "slp01a.ecg",
            "slp01a.hea",
            "slp01a.st",
            "slp32.ecg",
            "slp32.hea",
            "slp32.st",
        ]
    )

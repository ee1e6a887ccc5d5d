"""``fetch`` against a local HTTP server on 127.0.0.1 and local mirror folders; no internet."""

from __future__ import annotations

import hashlib
import http.server
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import dreamband.cli.main as cli_main
from dreamband.errors import ChecksumError
from dreamband.registry import (
    DatasetNotFoundError,
    FetchIncompleteError,
    MirrorChecksumError,
    SelectionError,
    fetch,
)
from dreamband.registry.transfer import part_path


class _Server:
    """Serves ``files`` (path -> bytes); honours Range; can cut a transfer short."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut_after: dict[str, int] = {}  # path -> bytes sent before closing
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                path = self.path.lstrip("/")
                rng = self.headers.get("Range")
                server.requests.append((path, rng))
                if path not in server.files:
                    self.send_error(404)
                    return
                data = server.files[path]
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.cut_after.get(path)
                self.wfile.write(body if cut is None else body[:cut])
                self.wfile.flush()
                if cut is not None:
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CONTENT = {
    "r1/a.bin": bytes(range(256)) * 400,  # 100 kB, enough to cut in the middle
    "r1/b.txt": b"hypnogram of record 1\n" * 10,
    "r2/a.bin": b"\x01\x02\x03" * 5000,
    "r2/b.txt": b"hypnogram of record 2\n",
    "LICENSE": b"licence text\n",
}


def _write_manifest(folder: Path, base_url: str, *, unverified: tuple[str, ...] = ()) -> None:
    def entry(path: str) -> str:
        sha = "" if path in unverified else f', sha256 = "{_sha(CONTENT[path])}"'
        return f'{{ path = "{path}"{sha} }}'

    text = f"""
name = "toy"
title = "Toy dataset"
version = "1"
licence = "CC0-1.0"
citations = ["Nobody. A toy. 2024."]
base_url = "{base_url}"

[[files]]
path = "LICENSE"
sha256 = "{_sha(CONTENT["LICENSE"])}"
always = true

[[records]]
id = "r1"
subject = "s01"
files = [{entry("r1/a.bin")}, {entry("r1/b.txt")}]

[[records]]
id = "r2"
subject = "s02"
files = [{entry("r2/a.bin")}, {entry("r2/b.txt")}]
"""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy.toml").write_text(text, encoding="utf-8")


@pytest.fixture()
def toy(tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch) -> _Server:
    """A 'toy' manifest pointing at the local server, which serves the right bytes."""
    server.files.update(CONTENT)
    _write_manifest(tmp_path / "manifests", server.url)
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "manifests"))
    return server


def _leftovers(folder: Path) -> list[str]:
    """Temporary or partial files left in a folder tree."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and (p.name.startswith(".") or p.name.endswith((".part", ".tmp")))
    )


def test_download_writes_verified_files_and_nothing_else(toy: _Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    report = fetch("toy", data_dir=data, progress=False)
    assert sorted(report.fetched) == sorted(CONTENT)
    for rel, content in CONTENT.items():
        assert (data / "toy" / rel).read_bytes() == content
    assert _leftovers(data) == []
    assert report.complete


def test_progress_bars_do_not_change_the_result(toy: _Server, tmp_path: Path, capsys) -> None:
    mirror = _mirror(tmp_path / "mirror")
    by_http = fetch("toy", records=["r1"], data_dir=tmp_path / "a", progress=True)
    by_copy = fetch("toy", records=["r1"], data_dir=tmp_path / "b", mirror=mirror, progress=True)
    assert sorted(by_http.fetched) == sorted(by_copy.fetched) == ["LICENSE", "r1/a.bin", "r1/b.txt"]
    for rel in by_http.fetched:
        assert (tmp_path / "a" / "toy" / rel).read_bytes() == CONTENT[rel]
        assert (tmp_path / "b" / "toy" / rel).read_bytes() == CONTENT[rel]
    assert capsys.readouterr().out == ""  # bars go to stderr, never stdout


def test_second_fetch_skips_verified_files_without_requests(toy: _Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    fetch("toy", data_dir=data, progress=False)
    n_requests = len(toy.requests)
    report = fetch("toy", data_dir=data, progress=False)
    assert report.fetched == []
    assert sorted(report.skipped) == sorted(CONTENT)
    assert len(toy.requests) == n_requests


def test_local_file_with_wrong_content_is_replaced(toy: _Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    target = data / "toy" / "r2" / "b.txt"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stale")
    report = fetch("toy", records=["r2"], data_dir=data, progress=False)
    assert "r2/b.txt" in report.fetched
    assert target.read_bytes() == CONTENT["r2/b.txt"]


def test_corrupted_download_is_removed_and_raises(toy: _Server, tmp_path: Path) -> None:
    toy.files["r1/b.txt"] = b"tampered"
    data = tmp_path / "data"
    with pytest.raises(ChecksumError, match=r"b\.txt: sha256 mismatch"):
        fetch("toy", records=["r1"], data_dir=data, progress=False)
    assert not (data / "toy" / "r1" / "b.txt").exists()
    assert _leftovers(data) == []


def test_cli_checksum_mismatch_exits_2_with_one_line(
    toy: _Server, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_main, "COMMANDS", ("fetch",))
    toy.files["r2/a.bin"] = b"not the published bytes"
    rc = cli_main.main(["fetch", "toy", "--records", "r2", "--data-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[-1].startswith("dreamband: error: ")
    assert "a.bin" in err[-1] and "sha256 mismatch" in err[-1]


def test_resume_sends_range_and_appends_the_rest(toy: _Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    target = data / "toy" / "r1" / "a.bin"
    target.parent.mkdir(parents=True)
    half = len(CONTENT["r1/a.bin"]) // 2
    part_path(target).write_bytes(CONTENT["r1/a.bin"][:half])
    fetch("toy", records=["r1"], data_dir=data, progress=False)
    assert ("r1/a.bin", f"bytes={half}-") in toy.requests
    assert target.read_bytes() == CONTENT["r1/a.bin"]
    assert not part_path(target).exists()


def test_interrupted_transfer_leaves_no_final_file_and_resumes(
    toy: _Server, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    target = data / "toy" / "r1" / "a.bin"
    toy.cut_after["r1/a.bin"] = 50_000
    with pytest.raises(FetchIncompleteError, match=r"a\.bin"):
        fetch("toy", records=["r1"], data_dir=data, progress=False)
    assert not target.exists()
    kept = part_path(target).stat().st_size
    assert 0 < kept <= 50_000  # whole network reads are kept
    assert [p for p in _leftovers(data) if not p.endswith(".part")] == []
    del toy.cut_after["r1/a.bin"]
    fetch("toy", records=["r1"], data_dir=data, progress=False)
    assert toy.requests[-1] == ("r1/a.bin", f"bytes={kept}-")
    assert target.read_bytes() == CONTENT["r1/a.bin"]
    assert _leftovers(data) == []


def test_complete_part_file_is_verified_and_moved(toy: _Server, tmp_path: Path) -> None:
    target = tmp_path / "toy" / "r2" / "b.txt"
    target.parent.mkdir(parents=True)
    part_path(target).write_bytes(CONTENT["r2/b.txt"])
    fetch("toy", records=["r2"], data_dir=tmp_path, progress=False)
    assert ("r2/b.txt", f"bytes={len(CONTENT['r2/b.txt'])}-") in toy.requests  # answered 416
    assert target.read_bytes() == CONTENT["r2/b.txt"]


def test_resume_onto_corrupt_part_downloads_again_from_zero(toy: _Server, tmp_path: Path) -> None:
    target = tmp_path / "toy" / "r2" / "a.bin"
    target.parent.mkdir(parents=True)
    part_path(target).write_bytes(b"\xff" * 100)
    fetch("toy", records=["r2"], data_dir=tmp_path, progress=False)
    ranges = [rng for path, rng in toy.requests if path == "r2/a.bin"]
    assert ranges == ["bytes=100-", None]
    assert target.read_bytes() == CONTENT["r2/a.bin"]


def test_server_ignoring_range_restarts_from_zero(toy: _Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    target = data / "toy" / "r2" / "a.bin"
    target.parent.mkdir(parents=True)
    part_path(target).write_bytes(b"\xff" * 100)  # wrong bytes: must not be kept
    toy.ignore_range = True
    fetch("toy", records=["r2"], data_dir=data, progress=False)
    assert target.read_bytes() == CONTENT["r2/a.bin"]


def test_records_and_subjects_select_files(toy: _Server, tmp_path: Path) -> None:
    by_record = fetch("toy", records=["R2"], data_dir=tmp_path / "a", progress=False)
    assert sorted(by_record.fetched) == ["LICENSE", "r2/a.bin", "r2/b.txt"]
    by_subject = fetch("toy", subjects=["1"], data_dir=tmp_path / "b", progress=False)
    assert sorted(by_subject.fetched) == ["LICENSE", "r1/a.bin", "r1/b.txt"]
    assert not (tmp_path / "b" / "toy" / "r2").exists()


def test_unknown_dataset_error_lists_known_names(toy: _Server) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"unknown dataset 'nope'; known datasets: toy"):
        fetch("nope", progress=False)


def test_unknown_record_error_lists_known_records(toy: _Server, tmp_path: Path) -> None:
    with pytest.raises(SelectionError, match=r"no record 'r9'; known records: r1, r2"):
        fetch("toy", records=["r9"], data_dir=tmp_path, progress=False)


def test_file_without_checksum_is_fetched_with_warning(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    server.files.update(CONTENT)
    _write_manifest(tmp_path / "m", server.url, unverified=("r2/b.txt",))
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "m"))
    with caplog.at_level(logging.WARNING, logger="dreamband.registry"):
        report = fetch("toy", records=["r2"], data_dir=tmp_path / "d", progress=False)
    assert report.unverified == ["r2/b.txt"]
    assert any(
        "r2/b.txt" in r.message and "no published checksum" in r.message for r in caplog.records
    )


def _mirror(root: Path) -> Path:
    """Write the toy files into a mirror folder laid out like the manifest."""
    for rel, content in CONTENT.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    return root


def test_mirror_copy_by_path_is_verified_and_needs_no_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_manifest(tmp_path / "m", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "m"))
    mirror = _mirror(tmp_path / "mirror")
    report = fetch("toy", data_dir=tmp_path / "d", mirror=mirror, progress=False)
    assert sorted(report.fetched) == sorted(CONTENT)
    for rel, content in CONTENT.items():
        assert (tmp_path / "d" / "toy" / rel).read_bytes() == content
    assert _leftovers(tmp_path / "d") == []


def test_mirror_lookup_by_dataset_folder_and_by_unique_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_manifest(tmp_path / "m", "http://127.0.0.1:9/")
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "m"))
    mirror = tmp_path / "mirror"
    deep = mirror / "some" / "deep" / "folder"
    deep.mkdir(parents=True)
    (deep / "LICENSE").write_bytes(CONTENT["LICENSE"])  # found by its (unique) name
    for rel in ("r2/a.bin", "r2/b.txt"):  # a data folder used as a mirror: <mirror>/toy/<path>
        (mirror / "toy" / rel).parent.mkdir(parents=True, exist_ok=True)
        (mirror / "toy" / rel).write_bytes(CONTENT[rel])
    report = fetch("toy", records=["r2"], data_dir=tmp_path / "d", mirror=mirror, progress=False)
    assert sorted(report.fetched) == ["LICENSE", "r2/a.bin", "r2/b.txt"]


def test_mirror_never_takes_another_records_file_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_manifest(tmp_path / "m", "http://127.0.0.1:9/")
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "m"))
    mirror = _mirror(tmp_path / "mirror")
    (mirror / "r1" / "a.bin").unlink()  # r2/a.bin has the same name but is another file
    with pytest.raises(FetchIncompleteError, match=r"r1/a\.bin: not found in mirror"):
        fetch("toy", records=["r1"], data_dir=tmp_path / "d", mirror=mirror, progress=False)


def test_corrupt_mirror_copy_is_refused_and_not_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_manifest(tmp_path / "m", "http://127.0.0.1:9/")
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "m"))
    mirror = _mirror(tmp_path / "mirror")
    (mirror / "r1" / "a.bin").write_bytes(b"bit rot")
    with pytest.raises(MirrorChecksumError, match=r"mirror.*a\.bin: sha256 mismatch"):
        fetch("toy", records=["r1"], data_dir=tmp_path / "d", mirror=mirror, progress=False)
    assert not (tmp_path / "d" / "toy" / "r1" / "a.bin").exists()
    assert (mirror / "r1" / "a.bin").read_bytes() == b"bit rot"  # the mirror is left alone
    assert _leftovers(tmp_path / "d") == []


def test_missing_in_mirror_is_an_error_for_requested_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _write_manifest(tmp_path / "m", "http://127.0.0.1:9/")
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "m"))
    monkeypatch.setattr(cli_main, "COMMANDS", ("fetch",))
    mirror = _mirror(tmp_path / "mirror")
    (mirror / "r1" / "a.bin").unlink()
    args = ["fetch", "toy", "--mirror", str(mirror), "--data-dir", str(tmp_path / "d")]
    assert cli_main.main([*args, "--records", "r1"]) == 2
    out, err = capsys.readouterr()
    assert "r1/a.bin: not found in mirror" in err.strip().splitlines()[-1]
    assert "1 fetched" not in out and "2 fetched" in out  # LICENSE and r1/b.txt were copied
    # a whole-dataset fetch copies what it can, lists the rest and exits 1
    assert cli_main.main(args) == 1
    out = capsys.readouterr().out
    assert "missing: r1/a.bin" in out


def test_http_error_is_reported_with_its_status(toy: _Server, tmp_path: Path) -> None:
    del toy.files["r2/b.txt"]
    report = fetch("toy", data_dir=tmp_path, progress=False)  # whole dataset: report, no raise
    assert [path for path, _ in report.missing] == ["r2/b.txt"]
    assert "HTTP 404" in report.missing[0][1]
    assert not (tmp_path / "toy" / "r2" / "b.txt").exists()
    assert _leftovers(tmp_path) == []


def test_mirror_only_file_without_url_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_manifest(tmp_path / "m", "")  # no base URL: mirror only
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(tmp_path / "m"))
    with pytest.raises(FetchIncompleteError, match="no download URL"):
        fetch("toy", records=["r1"], data_dir=tmp_path / "d", progress=False)


def test_cli_list_shows_datasets_and_selected_files_without_fetching(
    toy: _Server, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_main, "COMMANDS", ("fetch",))
    assert cli_main.main(["fetch", "--list"]) == 0
    assert capsys.readouterr().out.split()[:3] == ["toy", "2", "records"]
    data = tmp_path / "d"
    assert (
        cli_main.main(["fetch", "toy", "--subjects", "s02", "--list", "--data-dir", str(data)]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[2] for ln in lines[1:4]] == ["LICENSE", "r2/a.bin", "r2/b.txt"]
    assert all(ln.split()[0] == "missing" for ln in lines[1:4])
    assert toy.requests == [] and not data.exists()

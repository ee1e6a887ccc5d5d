"""Pipeline files are validated before anything runs; every error names file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dreamband.errors import InputFileError
from dreamband.pipeline.spec import Field, Table, load_pipeline

SCHEMA = Table(
    {
        "name": Field("str", required=True),
        "speed": Field("float", default=1.0, minimum=0.0),
        "engine": Field("str", default="rules", choices=("rules", "model")),
        "output": Table({"dir": Field("path", required=True)}),
        "sources": Table(
            {"path": Field("path", required=True, must_exist=True), "offset_s": Field("float")},
            many=True,
            required=True,
        ),
    }
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def good(tmp_path: Path) -> str:
    (tmp_path / "night.edf").write_bytes(b"x")
    return (
        'name = "lab"\nspeed = 4\n[output]\ndir = "out"\n'
        '[[sources]]\npath = "night.edf"\noffset_s = 1.5\n'
    )


def test_valid_file_gets_defaults_and_resolved_paths(tmp_path: Path) -> None:
    cfg = load_pipeline(write(tmp_path, good(tmp_path)), SCHEMA)
    assert cfg["speed"] == 4.0 and isinstance(cfg["speed"], float)
    assert cfg["engine"] == "rules"
    assert cfg["output"]["dir"] == tmp_path / "out"
    assert cfg["sources"][0]["path"] == tmp_path / "night.edf"


def test_start_placeholder_gives_a_new_folder_per_run(tmp_path: Path) -> None:
    text = good(tmp_path).replace('dir = "out"', 'dir = "runs/night-{start}"')
    cfg = load_pipeline(write(tmp_path, text), SCHEMA)
    out = cfg["output"]["dir"]
    assert out.parent == tmp_path / "runs"
    assert re.fullmatch(r"night-\d{8}-\d{6}", out.name), out.name


@pytest.mark.parametrize("name", ["demo.toml", "replay.toml", "lab.toml"])
def test_shipped_session_pipelines_write_a_new_folder_each_run(name: str) -> None:
    from dreamband.paths import pipelines_dir

    text = (pipelines_dir() / name).read_text(encoding="utf-8")
    assert re.search(r'^out = "[^"]*\{start\}[^"]*"', text, re.M), name


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("speed = 4", "sped = 4"),
         r"key 'sped'\): unknown key \(did you mean 'speed'\?\)"),
        (lambda t: t.replace("speed = 4", 'speed = "fast"'),
         r"key 'speed'\): expected a number, got string 'fast'"),
        (lambda t: t.replace("speed = 4", "speed = -1"), r"key 'speed'\): must be >= 0.0"),
        (lambda t: t.replace('name = "lab"\n', ""), r"key 'name'\): missing required key"),
        (lambda t: t.replace('"night.edf"', '"nope.edf"'),
         r"key 'sources\[0\].path'\): file or folder not found"),
        (lambda t: 'engine = "magic"\n' + t, r"expected one of 'rules', 'model'"),
        (lambda t: t.replace("offset_s = 1.5", "offset_s = true"),
         r"key 'sources\[0\].offset_s'\): expected a number"),
        (lambda t: t + "[[sources]]\nextra = 1\n", r"key 'sources\[1\].extra'\): unknown key"),
    ],
)
def test_bad_files_are_refused_naming_file_and_key(tmp_path: Path, edit, message) -> None:
    path = write(tmp_path, edit(good(tmp_path)))
    with pytest.raises(InputFileError, match=message) as info:
        load_pipeline(path, SCHEMA)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not valid TOML"):
        load_pipeline(write(tmp_path, "name = \n"), SCHEMA)
    with pytest.raises(InputFileError, match="pipeline file not found"):
        load_pipeline(tmp_path / "absent.toml", SCHEMA)


def test_missing_required_array_of_tables(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"key 'sources'\): missing required table"):
        load_pipeline(write(tmp_path, 'name = "x"\n[output]\ndir = "o"\n'), SCHEMA)

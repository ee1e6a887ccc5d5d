"""``dreamband info PATH|DATASET``: what a file holds, or which records of a dataset are here.

* recording (EDF/BDF, DREAMS/YASA text, npz): channels with fs, unit, duration; start time
* hypnogram (any format ``read_hypnogram`` knows): epochs, start, minutes per stage, total
* WFDB record (``slp03``, ``slp03.hea``): header fields, beat count, stage minutes
* live session folder (``lab`` / ``replay`` / ``demo``, closed or crashed): participants,
  epochs announced and scored, stage minutes, REM periods, gaps, resumes after a crash
* dataset name: which records are present under the data folder and which are missing
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from dreamband.errors import InputFileError

__all__ = ["register", "render", "run", "summarise"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="describe a recording, hypnogram, WFDB record, live session or dataset",
        description="Describe what a file holds (recording, hypnogram, WFDB record, heart or "
        "feature file), what a live session folder holds (closed or crashed), or which "
        "records of a dataset are present locally.",
    )
    p.add_argument("target", metavar="PATH|DATASET", help="a file, a WFDB record or a dataset name")
    p.add_argument(
        "--hypnogram",
        metavar="FILE",
        help="check this hypnogram against the recording and summarise it",
    )
    p.add_argument("--channels", nargs="+", metavar="NAME", help="only these channels (EDF)")
    p.add_argument("--data-dir", metavar="DIR", help="data folder for a dataset name")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of tables")
    p.add_argument(
        "--purpose",
        metavar="PURPOSE",
        help="for a dataset: count only the files needed for PURPOSE "
        "(e.g. 'heart-staging' for slpdb, whose large .dat signal files it does not need)",
    )
    p.set_defaults(func=run)
    return p


def _dataset_summary(
    name: str, data_dir: str | None, purpose: str | None = None
) -> dict[str, Any] | None:
    """Status of dataset ``name`` via the registry, or None if it is not a dataset name."""
    from dreamband import paths, registry

    if name not in registry.dataset_names():
        return None
    rows = registry.dataset_status(name, data_dir=data_dir, purpose=purpose)
    records = [
        {
            "record": r.record,
            "subject": r.subject,
            "present": bool(r.present),
            "missing_files": list(r.missing_files),
        }
        for r in rows
    ]
    return {
        "kind": "dataset",
        "name": name,
        "data_dir": str(paths.data_dir(data_dir)),
        "n_records": len(records),
        "n_present": sum(r["present"] for r in records),
        "n_missing": sum(not r["present"] for r in records),
        "records": records,
    }


def summarise(args: argparse.Namespace) -> dict[str, Any]:
    """Build the summary dict for the parsed arguments."""
    from dreamband.io.summary import describe

    target = Path(args.target)
    looks_like_file = target.exists() or target.with_name(target.name + ".hea").is_file()
    if not looks_like_file and "/" not in args.target and "\\" not in args.target:
        ds = _dataset_summary(args.target, args.data_dir, getattr(args, "purpose", None))
        if ds is not None:
            return ds
        if not target.suffix:
            known = _known_datasets()
            raise InputFileError(
                target,
                "no such file, and not a dataset name"
                + (f" (known datasets: {', '.join(known)})" if known else ""),
            )
    return describe(target, hypnogram=args.hypnogram, channels=args.channels)


def _known_datasets() -> list[str]:
    try:
        from dreamband.registry import dataset_names
    except ImportError:
        return []
    return list(dataset_names())


def run(args: argparse.Namespace) -> int:
    """Print the summary; returns 0 (errors propagate as DreambandError → exit 2)."""
    summary = summarise(args)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        render(summary, sys.stdout)
    return 0


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    h, rem = divmod(float(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f} ({seconds:g} s)"


def _hypnogram_table(h: dict[str, Any], title: str = "Hypnogram") -> Table:
    t = Table(title=f"{title} minutes per stage", title_justify="left")
    t.add_column("stage")
    t.add_column("minutes", justify="right")
    t.add_column("epochs", justify="right")
    for stage, minutes in h["minutes"].items():
        t.add_row(stage, f"{minutes:.1f}", f"{minutes * 60 / h['epoch_length_s']:.0f}")
    t.add_row("total", f"{h['total_minutes']:.1f}", str(h["n_epochs"]), style="bold")
    return t


def _hypnogram_lines(h: dict[str, Any]) -> list[str]:
    lines = [
        f"Hypnogram {h['path']}",
        f"format {h['format']}, scheme {h['scheme']}, {h['n_epochs']} epochs of "
        f"{h['epoch_length_s']:g} s, start {h['start_time'] or 'unknown'}, "
        f"first epoch at {h['offset_s']:g} s",
        f"scored {h['scored_minutes']:.1f} min of {h['total_minutes']:.1f} min",
    ]
    if "in_bed" in h:
        ib = h["in_bed"]
        lines.append(f"in-bed window {ib['start_s']:g}-{ib['end_s']:g} s ({ib['n_epochs']} epochs)")
    if "statistics" in h:
        lines.extend(statistics_lines(h["statistics"]))
    return lines


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def statistics_lines(s: dict[str, Any]) -> list[str]:
    """Three lines of a night's sleep statistics
    (:func:`dreamband.io.summary.night_statistics`): times and efficiency, latencies and
    awakenings, then each sleep stage in minutes and percent of TST."""
    stages = [k[:-4] for k in s if k.endswith("_min") and f"{k[:-4]}_pct" in s]
    per = ", ".join(f"{st} {_num(s[st + '_min'], '.1f')} min "
                    f"({_num(s[st + '_pct'], '.1f')} %)" for st in stages)
    return [
        f"sleep statistics over {s['window_start_s']:g}-{s['window_end_s']:g} s: TST "
        f"{_num(s['tst_min'], '.1f')} min, sleep efficiency "
        f"{_num(s['sleep_efficiency'], '.1f')} %, WASO {_num(s['waso_min'], '.1f')} min",
        f"  sleep-onset latency {_num(s['sol_min'], '.1f')} min, REM latency "
        f"{_num(s['rem_latency_min'], '.1f')} min, {_num(s['awakenings'], '.0f')} awakenings",
        f"  of TST: {per}" if per else "  no sleep stage in this scheme",
    ]


def render(summary: dict[str, Any], file: TextIO) -> None:
    """Print a summary from :func:`summarise` to ``file``."""
    con = Console(
        file=file, width=max(120, Console(file=file).width), highlight=False, markup=False
    )
    kind = summary["kind"]
    if kind == "recording":
        con.print(
            f"Recording {summary['path']} ({summary['format']}): start "
            f"{summary['start_time'] or 'unknown'}, duration {_fmt_duration(summary['duration_s'])}"
        )
        t = Table()
        for col in ("channel", "kind", "fs (Hz)", "unit", "samples", "duration (s)"):
            t.add_column(
                col, justify="right" if col in ("fs (Hz)", "samples", "duration (s)") else "left"
            )
        for c in summary["channels"]:
            t.add_row(
                c["name"],
                c["kind"],
                f"{c['fs']:g}",
                c["unit"],
                str(c["n_samples"]),
                f"{c['duration_s']:g}",
            )
        con.print(t)
        if summary.get("gaps"):
            gaps = summary["gaps"]
            con.print(
                f"{len(gaps)} gap(s) without data, read as NaN (first at "
                f"{gaps[0][0]:g}-{gaps[0][1]:g} s), {sum(b - a for a, b in gaps):g} s in all; "
                f"records span {_fmt_duration(summary['span_s'])}"
            )
        if "hypnogram" in summary:
            for line in _hypnogram_lines(summary["hypnogram"]):
                con.print(line)
            con.print(_hypnogram_table(summary["hypnogram"]))
    elif kind == "hypnogram":
        for line in _hypnogram_lines(summary):
            con.print(line)
        con.print(_hypnogram_table(summary))
    elif kind == "wfdb":
        con.print(
            f"WFDB record {summary['record']} ({summary['path']}): {summary['fs']:g} Hz, "
            f"{summary['n_samples']} samples, duration {_fmt_duration(summary['duration_s'])}, "
            f"start {summary['start_time'] or 'unknown'}"
        )
        con.print("signals: " + ", ".join(f"{s['name']} [{s['unit']}]" for s in summary["signals"]))
        if summary["comments"]:
            con.print("comments: " + " | ".join(summary["comments"]))
        if "beats" in summary:
            b = summary["beats"]
            syms = ", ".join(f"{k}={v}" for k, v in b["symbols"].items())
            hr = f"{b['median_hr_bpm']:.1f} bpm" if b["median_hr_bpm"] else "-"
            con.print(f"beats: {b['n_beats']} ({syms}), median HR {hr}")
        if "hypnogram" in summary:
            for line in _hypnogram_lines(summary["hypnogram"]):
                con.print(line)
            con.print(_hypnogram_table(summary["hypnogram"], "Stages"))
    elif kind == "dataset":
        con.print(
            f"Dataset {summary['name']} in {summary['data_dir']}: {summary['n_present']} of "
            f"{summary['n_records']} records present, {summary['n_missing']} missing"
        )
        t = Table()
        for col in ("record", "subject", "present", "missing files"):
            t.add_column(col)
        for r in summary["records"]:
            missing = ", ".join(r["missing_files"][:3]) + (
                " ..." if len(r["missing_files"]) > 3 else ""
            )
            t.add_row(r["record"], str(r["subject"]), "yes" if r["present"] else "no", missing)
        con.print(t)
    elif kind == "session":
        state = ("closed cleanly" if summary["complete"] else
                 "not closed (crashed or still running): read from its journal")
        con.print(f"Live session {summary['path']}: {state}; wall-clock start "
                  f"{summary['wall_origin'] or 'not recorded'}, {summary['epoch_length']:g}-s "
                  f"epochs, raw streams of {len(summary['bands_recorded'])} band(s)")
        from dreamband.live.session import warm_up_text

        for r in summary.get("resumes", []):
            before = r.get("last_epoch_before")
            con.print(f"resumed after a crash at {r.get('wall_time')}: epochs from "
                      f"{r.get('first_epoch')} (last before: "
                      f"{'none' if before is None else before}; "
                      f"{float(r.get('gap_s') or 0.0) / 60:.1f} min absent; "
                      f"{warm_up_text(r)})"
                      + ("" if r.get("cut_window_start_s") is None else
                         f"; the group window open since {r['cut_window_start_s']:.0f} s "
                         "was cut by the crash"))
        t = Table()
        for col in ("participant", "band", "epochs", "scored", "stage minutes", "REM periods",
                    "gaps"):
            t.add_column(col, justify="right" if col in ("epochs", "scored", "REM periods",
                                                         "gaps") else "left")
        for r in summary["participants"]:
            mins = " ".join(f"{k} {v:g}" for k, v in r["stage_minutes"].items())
            t.add_row(r["participant"], str(r["kind"]), str(r["n_epochs"]), str(r["n_scored"]),
                      mins, str(r["rem_periods"]), str(r["gaps"]))
        con.print(t)
        con.print("events: " + (", ".join(f"{k} {v}" for k, v in summary["n_events"].items())
                                or "none"))
    else:
        for key, value in summary.items():
            con.print(f"{key}: {value}")

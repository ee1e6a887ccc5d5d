"""A static HTML report of a batch dataset: opens offline, plots as PNG files beside it.

``dreamband report DIR`` reads the tables written by ``dreamband batch`` and writes
``DIR/report/index.html`` with, per night, the hypnogram with its stage probabilities and
REM periods, a table of sleep statistics for every night, and each session's group
timeline. Nothing is loaded from the network.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np

from dreamband.errors import InputFileError
from dreamband.report.plots import plot_night
from dreamband.storage.results import hypnogram_from_epochs, read_table

__all__ = ["write_report"]

_STAT_COLUMNS = (
    ("participant", "participant", "{}"),
    ("tib_min", "TIB (min)", "{:.0f}"),
    ("tst_min", "TST (min)", "{:.0f}"),
    ("sleep_efficiency", "SE (%)", "{:.1f}"),
    ("sol_min", "SOL (min)", "{:.1f}"),
    ("waso_min", "WASO (min)", "{:.0f}"),
    ("rem_latency_min", "REM lat. (min)", "{:.0f}"),
    ("N1_pct", "N1 %", "{:.1f}"),
    ("N2_pct", "N2 %", "{:.1f}"),
    ("N3_pct", "N3 %", "{:.1f}"),
    ("NREM_pct", "NREM %", "{:.1f}"),
    ("REM_pct", "REM %", "{:.1f}"),
    ("rem_cycles", "REM cycles", "{}"),
    ("awakenings", "awakenings", "{:.0f}"),
    ("spindle_density_N2_per_min", "spindles / min N2", "{:.2f}"),
    ("ref_kappa", "kappa vs expert", "{:.2f}"),
)

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.25em .6em;border:1px solid #ddd}
th{background:#f3f3f3}td.num{text-align:right}img{max-width:100%;border:1px solid #eee}
.night{margin-bottom:1.5em}.err{color:#a00}
"""


def _fmt(value: object, pattern: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return pattern.format(value)


def write_report(folder: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the HTML report of a batch output folder.

    Parameters
    ----------
    folder : path
        Output folder of ``dreamband batch``.
    out : path, optional
        Report folder (default ``folder/report``).

    Returns
    -------
    pathlib.Path
        The ``index.html`` file.

    Raises
    ------
    InputFileError
        If the folder holds no batch results.
    """
    folder = Path(folder)
    nights = read_table(folder, "nights")
    if nights.num_rows == 0:
        raise InputFileError(folder, "no batch results here (expected nights/ written by "
                                     "`dreamband batch`)")
    out = Path(out) if out is not None else folder / "report"
    img = out / "img"
    img.mkdir(parents=True, exist_ok=True)
    rows = sorted(nights.to_pylist(), key=lambda r: r["night"])
    epochs = read_table(folder, "epochs")
    rem = read_table(folder, "rem_periods")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>dreamband report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>dreamband report — {len(rows)} night{'s' if len(rows) != 1 else ''}</h1>",
        f"<p>Source: {html.escape(str(folder.resolve()))}</p>",
        "<h2>Sleep statistics</h2>",
        _stats_table(rows),
    ]
    sessions = read_table(folder, "group_windows")
    if sessions.num_rows:
        parts.append("<h2>Group REM windows</h2>")
        for name in sorted(set(sessions["session"].to_pylist())):
            windows = [w for w in sessions.to_pylist() if w["session"] == name]
            png = img / f"session-{_safe(name)}.png"
            _plot_session(epochs, windows, png, name)
            parts.append(f"<h3>{html.escape(name)}: {len(windows)} windows</h3>")
            parts.append(f"<img src='img/{png.name}' alt='group timeline of {html.escape(name)}'>")
    parts.append("<h2>Nights</h2>")
    for row in rows:
        night = row["night"]
        hyp = _night_hypnogram(epochs, night)
        parts.append(f"<div class='night' id='night-{_safe(night)}'>")
        parts.append(f"<h3>{html.escape(night)}</h3>")
        if hyp is None:
            parts.append("<p class='err'>no epochs stored for this night</p></div>")
            continue
        periods = [r for r in rem.to_pylist() if r["night"] == night] if rem.num_rows else []
        png = img / f"night-{_safe(night)}.png"
        plot_night(hyp, periods, png, title=f"{night} ({row.get('kind', '')})")
        parts.append(f"<img src='img/{png.name}' alt='hypnogram of {html.escape(night)}'>")
        parts.append("</div>")
    errors = read_table(folder, "errors")
    if errors.num_rows:
        parts.append("<h2>Nights that failed</h2><ul>")
        for e in errors.to_pylist():
            parts.append(f"<li class='err'>{html.escape(e['night'])}: "
                         f"{html.escape(e['error'])}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index


def _plot_session(epochs, windows: list[dict], png: Path, name: str) -> None:
    """The synchronizer's group-timeline plot of a session's stored windows.

    Lanes are the participants that were members of a window; windows are placed by their
    stored wall-clock start, so the plot does not depend on which nights made the session.
    """
    from types import SimpleNamespace

    from dreamband.sync.plot import plot_timeline
    from dreamband.sync.timeline import build_timeline

    members = sorted({m for w in windows for m in w["members"]})
    hyps = {m: h for m in members if (h := _night_hypnogram(epochs, m)) is not None}
    if not hyps:
        return
    timeline = build_timeline(hyps, align="date")
    placed = []
    for w in windows:
        start = w["start_s"]
        if w["start_time"] is not None and timeline.origin is not None:
            start = (w["start_time"] - timeline.origin).total_seconds()
        duration = w["end_s"] - w["start_s"]
        placed.append(SimpleNamespace(start=start, end=start + duration, duration=duration,
                                      k=None))
    plot_timeline(timeline, placed, png,
                  title=f"{name}: REM per participant (shaded), group windows (orange)")


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _night_hypnogram(epochs, night: str):
    import pyarrow.compute as pc

    if epochs.num_rows == 0:
        return None
    rows = epochs.filter(pc.equal(epochs["night"], night))
    return hypnogram_from_epochs(rows) if rows.num_rows else None


def _stats_table(rows: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in _STAT_COLUMNS)
    body = []
    for r in rows:
        cells = [f"<td><a href='#night-{_safe(r['night'])}'>{html.escape(r['night'])}</a></td>"]
        cells += [
            f"<td class='num'>{_fmt(r.get(key), pattern)}</td>" for key, _, pattern in _STAT_COLUMNS
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr><th>night</th>{head}</tr>{''.join(body)}</table>"

"""``dreamband models [--json]``: the models this machine has, where they came from.

Two folders: the parameter tables shipped with dreamband (estimated from public expert
hypnograms, each with its provenance) and the models trained here (``dreamband train``, or
the heart stager's first use) in the user model folder, ``$DREAMBAND_MODELS``. For each
trained model: kind, dataset, input and variant, training records, cross-validated scores,
and the dreamband version and time that wrote it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["list_models", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``models`` subcommand."""
    p = subparsers.add_parser(
        "models",
        help="list shipped parameter tables and the models trained on this machine",
        description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
    )
    p.add_argument("--json", metavar="FILE", help="also write the listing as JSON ('-': stdout)")
    p.set_defaults(func=run)
    return p


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _table(path: Path) -> dict[str, Any]:
    doc = _read(path) or {}
    prov = doc.get("provenance") or {}
    source = (prov.get("source") or prov.get("data", "")) if isinstance(prov, dict) else str(prov)
    files = prov.get("files", []) if isinstance(prov, dict) else []
    return {"file": path.name, "source": source, "n_files": len(files)}


def _trained(path: Path) -> dict[str, Any]:
    side = _read(path.with_suffix(".json"))
    if side is None:
        return {"file": path.name, "error": "sidecar missing or unreadable"}
    cv = side.get("cv_scores") or {}
    return {
        "file": path.name,
        "kind": side.get("kind", ""),
        "dataset": side.get("dataset", ""),
        "input": side.get("input", ""),
        "variant": side.get("variant", ""),
        "n_training_records": len(side.get("training_records") or []),
        "cv_scheme": cv.get("scheme", ""),
        "cv_kappa": cv.get("kappa"),
        "dreamband_version": side.get("dreamband_version", ""),
        "created": side.get("created", ""),
    }


def list_models() -> dict[str, Any]:
    """The shipped tables and the trained models, as plain data.

    Returns
    -------
    dict
        ``shipped_folder``, ``shipped`` (one entry per table), ``user_folder`` and
        ``trained`` (one entry per ``.txt`` model, from its sidecar).
    """
    from dreamband.paths import models_dir, user_models_dir

    shipped, user = models_dir(), user_models_dir()
    tables = sorted(shipped.glob("*.json")) if shipped.is_dir() else []
    trained = sorted(user.glob("*.txt")) if user.is_dir() else []
    return {
        "shipped_folder": str(shipped),
        "shipped": [_table(p) for p in tables],
        "user_folder": str(user),
        "trained": [_trained(p) for p in trained],
    }


def run(args: argparse.Namespace) -> int:
    """Print the listing (and write JSON); returns the exit code."""
    doc = list_models()
    print(f"shipped parameter tables ({doc['shipped_folder']}):")
    for t in doc["shipped"]:
        print(f"  {t['file']:<30} from {t['n_files']} files: {t['source']}")
    print(f"models trained on this machine ({doc['user_folder']}):")
    if not doc["trained"]:
        print("  none yet: 'dreamband train slpdb' (heart; also trained on first use when "
              "slpdb is here) or 'dreamband train sleep-edf' (EEG --engine model)")
    for m in doc["trained"]:
        if "error" in m:
            print(f"  {m['file']:<36} {m['error']}")
            continue
        kappa = "" if m["cv_kappa"] is None else f", {m['cv_scheme']} kappa {m['cv_kappa']:.3f}"
        print(f"  {m['file']:<36} {m['dataset']} {m['input']} {m['variant']}: "
              f"{m['n_training_records']} records{kappa}; dreamband {m['dreamband_version']}, "
              f"{m['created']}")
    if args.json:
        text = json.dumps(doc, indent=2)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0

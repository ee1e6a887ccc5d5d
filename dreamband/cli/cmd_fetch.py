"""``dreamband fetch``: download or copy a dataset's files, verified by SHA-256."""

from __future__ import annotations

import argparse
import sys

from dreamband.registry import (
    FetchIncompleteError,
    FetchReport,
    dataset_folder,
    dataset_names,
    fetch,
    files_to_fetch,
    get_dataset,
    local_path,
)

__all__ = ["register", "run"]

MAX_LISTED = 20  # missing files listed in the summary

EPILOG = """\
examples:
  dreamband fetch --list                               list the datasets
  dreamband fetch sleep-edf --subjects 0 1             download subjects SC00 and SC01
  dreamband fetch sleep-edf --records SC4001 --list    show the files, URLs and local state
  dreamband fetch slpdb --purpose heart-staging        only .hea/.ecg/.st, not the signals
  dreamband fetch dreams-spindles --mirror ~/DREAMS    copy from an unpacked archive

exit status: 0 when every requested file is present and verified; 1 when a whole-dataset
fetch left some files missing (listed); 2 on a checksum mismatch or when explicitly
requested records cannot be obtained."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` subcommand."""
    parser = subparsers.add_parser(
        "fetch",
        help="download a dataset (or copy it from a mirror folder) and verify checksums",
        description=(
            "Download a dataset's files from their publisher (or copy them from a local "
            "mirror folder), verify each against its published SHA-256, resume partial "
            "downloads, and skip files already present and verified. Files go to "
            "DATA_DIR/<dataset>/ (DATA_DIR: --data-dir, else $DREAMBAND_DATA, else the "
            "user data folder)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", nargs="?", help="dataset name (see --list)")
    pick = parser.add_mutually_exclusive_group()
    pick.add_argument("--records", nargs="+", metavar="ID", help="record ids, e.g. SC4001")
    pick.add_argument(
        "--subjects",
        nargs="+",
        metavar="ID",
        help="subject ids (SC00, slp01) or numbers (0 matches SC00)",
    )
    parser.add_argument(
        "--purpose", metavar="NAME", help="only files needed for NAME, e.g. heart-staging"
    )
    parser.add_argument("--mirror", metavar="DIR", help="copy from this folder, no download")
    parser.add_argument("--data-dir", metavar="DIR", help="data folder (default: $DREAMBAND_DATA)")
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the datasets, or with DATASET the files that would be fetched; fetch nothing",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def _list_datasets() -> int:
    for name in dataset_names():
        ds = get_dataset(name)
        print(f"{name:22s} {len(ds.records):4d} records  {ds.licence:16s} {ds.title}")
    return 0


def _list_files(args: argparse.Namespace) -> int:
    ds = get_dataset(args.dataset)
    files = files_to_fetch(ds, args.records, args.subjects, args.purpose)
    print(f"{ds.name}: {ds.title} (version {ds.version}, licence {ds.licence})")
    for f in files:
        state = "present" if local_path(ds, f, args.data_dir).is_file() else "missing"
        check = "sha256" if f.sha256 else "no checksum"
        print(f"  {state:8s} {check:12s} {f.path}  {f.url or '(mirror only)'}")
    print(f"{len(files)} file(s); local folder {dataset_folder(ds, args.data_dir)}")
    return 0


def _summary(report: FetchReport) -> None:
    print(
        f"{report.dataset}: {len(report.fetched)} fetched, {len(report.skipped)} already "
        f"present, {len(report.missing)} missing -> {report.folder}"
    )
    if report.unverified:
        print(f"  {len(report.unverified)} file(s) have no published checksum (not verified)")
    for path, reason in report.missing[:MAX_LISTED]:
        print(f"  missing: {path}: {reason}")
    if len(report.missing) > MAX_LISTED:
        print(f"  ... and {len(report.missing) - MAX_LISTED} more missing")


def run(args: argparse.Namespace) -> int:
    """Run ``dreamband fetch``; returns the exit status."""
    if args.list and not args.dataset:
        return _list_datasets()
    if not args.dataset:
        print("dreamband fetch: give a DATASET, or --list to see them", file=sys.stderr)
        return 2
    if args.list:
        return _list_files(args)
    try:
        report = fetch(
            args.dataset,
            records=args.records,
            subjects=args.subjects,
            data_dir=args.data_dir,
            mirror=args.mirror,
            progress=not args.no_progress and sys.stderr.isatty(),
            purpose=args.purpose,
        )
    except FetchIncompleteError as exc:
        _summary(exc.report)  # what did succeed, then the one-line error from main
        raise
    _summary(report)
    return 0 if report.complete else 1

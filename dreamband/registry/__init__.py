"""Dataset registry: manifests in ``datasets/*.toml``, local status, and verified ``fetch``.

>>> from dreamband.registry import dataset_names, get_dataset, dataset_status, fetch
>>> "sleep-edf" in dataset_names()
True
"""

from dreamband.registry.catalog import (
    MANIFESTS_ENV,
    RecordStatus,
    dataset_folder,
    dataset_names,
    dataset_status,
    get_dataset,
    local_path,
    select_records,
)
from dreamband.registry.errors import (
    DatasetNotFoundError,
    FetchError,
    FetchIncompleteError,
    SelectionError,
)
from dreamband.registry.fetch import FetchReport, fetch, files_to_fetch
from dreamband.registry.manifest import DataFile, Dataset, Record, load_manifest
from dreamband.registry.transfer import MirrorChecksumError, file_sha256

__all__ = [
    "MANIFESTS_ENV",
    "DataFile",
    "Dataset",
    "DatasetNotFoundError",
    "FetchError",
    "FetchIncompleteError",
    "FetchReport",
    "MirrorChecksumError",
    "Record",
    "RecordStatus",
    "SelectionError",
    "dataset_folder",
    "dataset_names",
    "dataset_status",
    "fetch",
    "file_sha256",
    "files_to_fetch",
    "get_dataset",
    "load_manifest",
    "local_path",
    "select_records",
]

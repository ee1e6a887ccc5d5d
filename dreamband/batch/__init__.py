"""Nightly batch: many nights to a Parquet dataset, on a process pool or a Dask cluster."""

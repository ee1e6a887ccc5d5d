"""Readers and writers, one narrow module per format.

======================  ==============================================================
module                  format
======================  ==============================================================
``edf``                 EDF/EDF+/BDF recordings (mne), header-only info
``sleepedf``            Sleep-EDF hypnograms (annotation-only EDF+), PSG/hypnogram names
``hypnogram_files``     dreamband's hypnogram contract: CSV, Parquet, EDF+ (read/write)
``slpdb``               MIT-BIH slpdb WFDB records: stages (.st), beats (.ecg), header
``dreams``              DREAMS excerpts: EEG text, 5-s hypnograms, spindle scorings
``sleep_accel``         sleep-accel per-epoch feature files
``yasa_samples``        YASA tutorial files (npz EOG, EEG text, integer hypnograms)
``rr_csv``              RR-interval / heart-rate CSV files
======================  ==============================================================

Submodules are imported lazily; ``read_hypnogram`` and ``write_hypnogram`` are here.
"""

from __future__ import annotations

from dreamband.io.dispatch import hypnogram_format, read_hypnogram
from dreamband.io.hypnogram_files import write_hypnogram

__all__ = ["hypnogram_format", "read_hypnogram", "write_hypnogram"]

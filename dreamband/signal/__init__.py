"""Signal processing: SOS filters (causal and zero-phase), resampling, quality flags."""

from dreamband.signal.filters import (
    CausalFilter,
    bandpass_sos,
    filter_causal,
    filter_zero_phase,
    highpass_sos,
    lowpass_sos,
)
from dreamband.signal.quality import QualityFlags, epoch_quality
from dreamband.signal.resample import decimate_mean, resample

__all__ = [
    "CausalFilter",
    "QualityFlags",
    "bandpass_sos",
    "decimate_mean",
    "epoch_quality",
    "filter_causal",
    "filter_zero_phase",
    "highpass_sos",
    "lowpass_sos",
    "resample",
]

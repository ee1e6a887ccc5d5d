"""Sleep staging: EEG engines (rules, model) and the heart-rate stager behind one API.

>>> from dreamband.staging import stage, stage_file, LiveStager
"""

from dreamband.staging.api import ENGINES, stage, stage_file, stage_recording
from dreamband.staging.live import LiveStager

__all__ = ["ENGINES", "LiveStager", "stage", "stage_file", "stage_recording"]

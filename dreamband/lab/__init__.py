"""Lab runs: real bands over BLE through the live engine (``dreamband lab``).

``participants.py`` says who wears which band and maps a band's profile to a live
participant; ``run.py`` connects the bands and runs the session; ``view.py`` shows it;
``console.py`` runs it with the view and prints the summary (CLI and pipeline);
``virtual.py`` builds virtual bands for trying it without a radio.
"""

from dreamband.lab.participants import LabParticipant, engine_participant, parse_participant
from dreamband.lab.run import LabError, LabOptions, LabResult, run_lab

__all__ = ["LabError", "LabOptions", "LabParticipant", "LabResult", "engine_participant",
           "parse_participant", "run_lab"]

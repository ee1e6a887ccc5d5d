"""The REM rule: atonia with rapid eye movements tells REM from N1 (AASM)."""

from __future__ import annotations

import numpy as np

from dreamband.staging.rules import RULE_NAMES, stage_likelihoods


def predicates(**values: float) -> np.ndarray:
    row = np.zeros(len(RULE_NAMES))
    for name, v in values.items():
        row[RULE_NAMES.index(name)] = v
    return row[None, :]


STAGES = ("W", "N1", "N2", "N3", "REM")


def test_low_amplitude_theta_with_atonia_and_eye_movements_is_rem() -> None:
    lik = stage_likelihoods(predicates(low_amplitude=1, theta=1, eye_movements=1, low_emg=1))
    assert STAGES[int(lik.argmax())] == "REM"


def test_the_same_epoch_with_chin_tone_and_no_eye_movements_is_n1() -> None:
    lik = stage_likelihoods(predicates(low_amplitude=1, theta=1, eye_movements=0, low_emg=0))
    assert STAGES[int(lik.argmax())] == "N1"


def test_without_eog_and_emg_the_rem_rule_neither_helps_nor_hurts() -> None:
    # absent channels sit at 0.5: N1 keeps its full likelihood, REM a quarter of its base
    lik = stage_likelihoods(predicates(low_amplitude=1, theta=1, eye_movements=0.5, low_emg=0.5))
    assert STAGES[int(lik.argmax())] == "N1"
    assert lik[0, 4] < lik[0, 1]


def test_atonia_with_eye_movements_outweighs_relative_alpha_for_wake() -> None:
    # REM often shows more relative alpha than the NREM around it; wake keeps chin tone
    lik = stage_likelihoods(
        predicates(alpha=0.6, low_amplitude=1, theta=1, eye_movements=1, low_emg=1)
    )
    assert STAGES[int(lik.argmax())] == "REM"
    awake = stage_likelihoods(predicates(alpha=0.6, high_freq=0.9, low_amplitude=1, theta=1,
                                         eye_movements=1, low_emg=0))
    assert STAGES[int(awake.argmax())] == "W"

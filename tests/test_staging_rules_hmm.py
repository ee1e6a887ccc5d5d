"""The doubling-scan HMM recursions equal the step-by-step ones."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.staging.hmm import fixed_lag, forward_backward, forward_filter
from dreamband.staging.transitions import load_transitions


def _loop_forward(lik, trans, init):
    a = init * lik[0]
    out = [a / a.sum()]
    for t in range(1, lik.shape[0]):
        a = out[-1] @ (trans * lik[t])
        out.append(a / a.sum())
    return np.array(out)


def _loop_smooth(lik, trans, init):
    alpha = _loop_forward(lik, trans, init)
    b = np.ones(lik.shape[1])
    betas = [b]
    for t in range(lik.shape[0] - 2, -1, -1):
        b = (trans * lik[t + 1]) @ b
        b = b / b.sum()
        betas.append(b)
    p = alpha * np.array(betas[::-1])
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n", [1, 2, 3, 17, 600])
def test_scan_equals_the_step_by_step_recursion(n):
    trans, init = load_transitions(30.0)
    lik = np.random.default_rng(n).random((n, 5)) ** 3 + 1e-3
    np.testing.assert_allclose(forward_filter(lik, trans, init), _loop_forward(lik, trans, init),
                               atol=1e-12)
    np.testing.assert_allclose(forward_backward(lik, trans, init),
                               _loop_smooth(lik, trans, init), atol=1e-12)
    np.testing.assert_allclose(fixed_lag(lik, trans, init, 0), forward_filter(lik, trans, init))


def test_long_nights_with_tiny_likelihoods_do_not_underflow():
    trans, init = load_transitions(30.0)
    lik = np.full((3000, 5), 1e-250)
    lik[:, 2] = 1e-200
    post = forward_backward(lik, trans, init)
    assert np.isfinite(post).all() and (post.argmax(axis=1) == 2).all()

"""Hidden-Markov smoothing of per-epoch stage likelihoods.

Batch uses forward-backward (each epoch's posterior given the whole night); live uses the
forward pass only (filtering: the posterior given the epochs so far), the same recursion
stopped before the backward pass. Scaled recursions, no logs needed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fixed_lag", "forward_backward", "forward_filter"]

# Rescale the recursions every few epochs: likelihoods are normalised to a maximum of 1
# and floored at 1e-300, so a few unscaled steps cannot underflow float64.
_RESCALE = 4


def _check(lik: np.ndarray, trans: np.ndarray, init: np.ndarray) -> np.ndarray:
    lik = np.asarray(lik, dtype=np.float64)
    k = trans.shape[0]
    if lik.ndim != 2 or lik.shape[1] != k:
        raise ValueError(f"likelihoods must have shape (n_epochs, {k}); got {lik.shape}")
    if init.shape != (k,):
        raise ValueError(f"initial distribution must have {k} entries; got {init.shape}")
    return np.maximum(lik, 1e-300)


def forward_filter(lik: np.ndarray, trans: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Filtered posteriors ``P(stage_t | obs_1..t)`` (causal, for live use).

    Parameters
    ----------
    lik : numpy.ndarray
        ``(n_epochs, k)`` emission likelihoods ``p(obs_t | stage)`` up to a factor per epoch.
    trans : numpy.ndarray
        ``(k, k)`` transition matrix, rows = from.
    init : numpy.ndarray
        ``(k,)`` distribution before the first epoch.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, k)``; rows sum to 1.
    """
    lik = _check(lik, trans, init)
    n = lik.shape[0]
    lik = lik / lik.max(axis=1, keepdims=True)  # per-epoch factors do not matter
    step = trans[np.newaxis, :, :] * lik[:, np.newaxis, :]  # alpha_t = alpha_{t-1} @ step_t
    alpha = np.empty_like(lik)
    a = init * lik[0]
    a = a / a.sum()
    alpha[0] = a
    for t in range(1, n):
        a = a @ step[t]
        if not t % _RESCALE:
            a = a / a.sum()
        alpha[t] = a
    return alpha / alpha.sum(axis=1, keepdims=True)


def forward_backward(lik: np.ndarray, trans: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Smoothed posteriors ``P(stage_t | obs_1..n)`` (batch).

    Same parameters as :func:`forward_filter`.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, k)``; rows sum to 1.
    """
    lik = _check(lik, trans, init)
    n, k = lik.shape
    alpha = forward_filter(lik, trans, init)
    lik = lik / lik.max(axis=1, keepdims=True)
    step = trans[np.newaxis, :, :] * lik[:, np.newaxis, :]  # beta_t = step_{t+1} @ beta_{t+1}
    beta = np.empty((n, k))
    b = np.ones(k)
    beta[-1] = b
    for t in range(n - 2, -1, -1):
        b = step[t + 1] @ b
        if not t % _RESCALE:
            b = b / b.sum()
        beta[t] = b
    post = alpha * beta
    return post / post.sum(axis=1, keepdims=True)


def fixed_lag(lik: np.ndarray, trans: np.ndarray, init: np.ndarray, lag: int) -> np.ndarray:
    """Fixed-lag smoothed posteriors ``P(stage_t | obs_1..t+lag)`` (live, decided late).

    A live engine that may announce each epoch's stage ``lag`` epochs after it ends gets
    most of the benefit of smoothing while staying causal at announcement time.
    ``lag=0`` is :func:`forward_filter`; the last ``lag`` epochs use what exists.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, k)``; rows sum to 1.
    """
    lik = _check(lik, trans, init)
    alpha = forward_filter(lik, trans, init)
    if lag <= 0:
        return alpha
    n, k = lik.shape
    out = np.empty_like(alpha)
    for t in range(n):
        beta = np.ones(k)
        for u in range(min(t + lag, n - 1), t, -1):  # backward over the lag window
            beta = trans @ (lik[u] * beta)
            beta /= beta.sum()
        p = alpha[t] * beta
        out[t] = p / p.sum()
    return out

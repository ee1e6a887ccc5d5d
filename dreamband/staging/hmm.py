"""Hidden-Markov smoothing of per-epoch stage likelihoods.

Batch uses forward-backward (each epoch's posterior given the whole night); live uses the
forward pass only (filtering: the posterior given the epochs so far), the same recursion
stopped before the backward pass. Scaled recursions, no logs needed.

The recursions are products of per-epoch matrices ``step_t = trans * lik_t``, which are
associative: they are computed as prefix (forward) and suffix (backward) products by a
doubling scan (Hillis & Steele 1986), ``log2(n)`` batched 5x5 products over the whole night
instead of one Python step per epoch; every partial product is rescaled to a maximum of 1
(posteriors do not depend on per-epoch factors).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["fixed_lag", "forward_backward", "forward_filter"]


def _scan(m: np.ndarray, reverse: bool = False) -> np.ndarray:
    """Inclusive prefix products ``m[0] @ ... @ m[t]`` (``reverse``: suffix products
    ``m[t] @ ... @ m[-1]``) of ``(n, k, k)`` matrices, each rescaled to a maximum of 1."""
    p = m.copy()
    n = p.shape[0]
    d = 1
    while d < n:
        if reverse:
            p[:-d] = p[:-d] @ p[d:]
        else:
            p[d:] = p[:-d] @ p[d:]
        p /= p.reshape(n, -1).max(axis=1)[:, np.newaxis, np.newaxis]
        d *= 2
    return p


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
    lik = lik / lik.max(axis=1, keepdims=True)  # per-epoch factors do not matter
    a0 = init * lik[0]
    alpha = np.empty_like(lik)
    alpha[0] = a0
    if lik.shape[0] > 1:
        # alpha_t = alpha_0 @ step_1 @ ... @ step_t
        step = trans[np.newaxis, :, :] * lik[1:, np.newaxis, :]
        alpha[1:] = (a0 / a0.sum()) @ _scan(step)
    return alpha / alpha.sum(axis=1, keepdims=True)


def forward_backward(
    lik: np.ndarray, trans: np.ndarray, init: np.ndarray, parallel: bool = False
) -> np.ndarray:
    """Smoothed posteriors ``P(stage_t | obs_1..n)`` (batch).

    Same parameters as :func:`forward_filter`; ``parallel=True`` runs the forward pass in
    a second thread beside the backward one (for a long night when a core is idle: numpy
    releases the GIL in the batched products). The result is the same either way.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, k)``; rows sum to 1.
    """
    lik = _check(lik, trans, init)
    n = lik.shape[0]
    if parallel and n > 1:
        done: dict[str, object] = {}

        def forward() -> None:
            try:
                done["alpha"] = forward_filter(lik, trans, init)
            except BaseException as exc:  # re-raised below, in the caller's thread
                done["error"] = exc

        worker = threading.Thread(target=forward, name="dreamband-hmm", daemon=True)
        worker.start()
        try:
            beta = _backward(lik, trans)
        finally:
            worker.join()
        if "error" in done:
            raise done["error"]
        alpha = done["alpha"]
    else:
        alpha = forward_filter(lik, trans, init)
        beta = _backward(lik, trans)
    post = alpha * beta
    return post / post.sum(axis=1, keepdims=True)


def _backward(lik: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Backward messages ``beta_t`` (up to a factor per epoch) of checked likelihoods."""
    n, k = lik.shape
    lik = lik / lik.max(axis=1, keepdims=True)
    beta = np.ones((n, k))
    if n > 1:
        # beta_t = step_{t+1} @ ... @ step_{n-1} @ 1
        step = trans[np.newaxis, :, :] * lik[1:, np.newaxis, :]
        beta[:-1] = _scan(step, reverse=True).sum(axis=2)
    return beta


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

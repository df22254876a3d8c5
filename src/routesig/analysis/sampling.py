"""Exact simulation of per-prompt expert counts when every token picks k distinct experts at random.

Each token's k-subset follows the conditional Poisson design (CPS: the maximum-entropy way to draw k distinct
items with given inclusion probabilities; uniform k-subsets when all probabilities are k/E). Its draw is a
left-to-right scan over the experts in which the chance of taking expert j depends only on j and on the
number r of picks still to make: ``w_j e_{r-1}(w_{j+1:}) / e_r(w_{j:})`` (``e_r``: elementary symmetric
polynomial of the weights). Tokens are exchangeable, so a prompt's counts follow from tracking how many of
its tokens still need r picks: each expert moves Binomial(tokens with r left, p_{j,r}) of them from r to
r - 1. The cost is O(E k) binomial draws per (prompt, layer), whatever the number of tokens.
"""

from __future__ import annotations

import numpy as np

TOL = 1e-10


def suffix_esp(w: np.ndarray, k: int) -> np.ndarray:
    """``Z[j, r] = e_r(w[j:])`` for j = 0..E and r = 0..k.

    Examples
    --------
    >>> suffix_esp(np.array([1.0, 2.0, 3.0]), 2)[0].tolist()   # e_0, e_1 = 1+2+3, e_2 = 2+3+6
    [1.0, 6.0, 11.0]
    """
    E = len(w)
    Z = np.zeros((E + 1, k + 1))
    Z[E, 0] = 1.0
    for j in range(E - 1, -1, -1):
        Z[j] = Z[j + 1]
        Z[j, 1:] += w[j] * Z[j + 1, :-1]
    return Z


def cps_inclusion(w: np.ndarray, k: int) -> np.ndarray:
    """Inclusion probabilities ``w_e e_{k-1}(w without e) / e_k(w)`` of the size-k CPS design."""
    E = len(w)
    P = suffix_esp(w[::-1], k)[::-1]  # P[j, r] = e_r(w[:j]), read from the reversed suffixes
    Z = suffix_esp(w, k)
    without = np.array([P[j, :k][::-1] @ Z[j + 1, :k] for j in range(E)])  # e_{k-1} of all but j
    return w * without / Z[0, k]


def cps_weights(pi: np.ndarray, k: int, max_iter: int = 10_000) -> np.ndarray:
    """Weights whose size-k CPS design has inclusion probabilities ``pi`` (all strictly between 0 and 1).

    Fixed-point iteration ``w <- w * pi / inclusion(w)`` (Chen, Dempster & Liu 1994), to 1e-10.
    """
    w = pi / (1 - pi)
    for _ in range(max_iter):
        incl = cps_inclusion(w, k)
        if np.max(np.abs(incl - pi)) < TOL:
            break
        w = w * pi / incl
        w /= w.max()  # keeps the polynomials in range
    return w


def step_probabilities(pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per expert j and picks left r: the chance of taking j, shape (E, k + 1); and the always-taken experts.

    Experts with inclusion 1 are taken by every token and experts with 0 by none; the others follow CPS.
    """
    k = int(round(pi.sum()))
    certain = pi >= 1 - TOL
    free = (pi > TOL) & ~certain
    k_free = k - int(certain.sum())
    p = np.zeros((len(pi), k + 1))
    if k_free > 0:
        w = np.zeros(len(pi))
        w[free] = cps_weights(pi[free], k_free)
        Z = suffix_esp(w, k_free)
        with np.errstate(invalid="ignore", divide="ignore"):
            take = w[:, None] * Z[1:, :-1] / Z[:-1, 1:]  # r = 1..k_free
        p[:, 1 : k_free + 1] = np.nan_to_num(take)  # 0/0: a state no token can be in
    return p, certain


def simulate_counts(n_tokens: np.ndarray, pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Counts [N, L, E] when each token picks k distinct experts with inclusion probabilities ``pi`` [L, E].

    Examples
    --------
    >>> c = simulate_counts(np.array([3, 5]), np.full((2, 4), 0.5), np.random.default_rng(0))
    >>> c.sum(axis=2).tolist()   # every token picked exactly k = 2 experts per layer
    [[6, 6], [10, 10]]
    """
    n_tokens = np.asarray(n_tokens, dtype=np.int64)
    N, (L, E) = len(n_tokens), pi.shape
    out = np.zeros((N, L, E), dtype=np.int64)
    for layer in range(L):
        p, certain = step_probabilities(pi[layer])
        out[:, layer, certain] = n_tokens[:, None]
        left = np.zeros((N, p.shape[1]), dtype=np.int64)  # tokens still needing r picks
        left[:, p.shape[1] - 1 - int(certain.sum())] = n_tokens
        for j in np.flatnonzero(p.any(axis=1)):
            moved = rng.binomial(left, p[j])
            out[:, layer, j] = moved.sum(axis=1)
            left -= moved
            left[:, :-1] += moved[:, 1:]
    return out

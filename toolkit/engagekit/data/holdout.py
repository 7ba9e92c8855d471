"""A random holdout that is stable: the same contact and seed always fall on the same side.

Each contact id is hashed with the plan's seed (SplitMix64, a well-studied 64-bit mixer) into a
number in ``[0, 1)``; a contact is held out when that number is below the holdout share. So the
assignment needs no stored random state, does not depend on the order or the number of contacts,
and a contact keeps its group when the segment gains or loses members.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    z = values + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def assignment_draw(contact_ids: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in ``[0, 1)`` per contact id, fixed by the id and ``seed``.

    Examples
    --------
    >>> draws = assignment_draw(np.arange(1, 6), seed=7)
    >>> bool(((draws >= 0) & (draws < 1)).all()), bool((assignment_draw(np.arange(1, 6), 7) == draws).all())
    (True, True)
    """
    ids = np.asarray(contact_ids, dtype=np.int64).view(np.uint64)
    with np.errstate(over="ignore"):  # wrap-around multiplication is the hash
        mixed = _splitmix64(_splitmix64(ids) ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def holdout_mask(contact_ids: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Which contacts are held out (``True``) for a holdout ``share`` and ``seed``.

    Examples
    --------
    >>> mask = holdout_mask(np.arange(1, 100_001), 0.2, seed=1)
    >>> round(float(mask.mean()), 2)
    0.2
    >>> bool((holdout_mask(np.arange(50_001, 100_001), 0.2, seed=1) == mask[50_000:]).all())
    True
    """
    if not 0 <= share < 1:
        raise ValueError(f"the holdout share must be at least 0 and below 1, not {share}")
    return assignment_draw(contact_ids, seed) < share


__all__ = ["assignment_draw", "holdout_mask"]

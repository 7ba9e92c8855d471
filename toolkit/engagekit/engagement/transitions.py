"""Movement between the previous and the current level.

A contact's *movement* is one of:

- ``new``: previously *everyone else* (not judged) and now judged;
- ``rising``: moved to a more engaged level;
- ``slipping``: moved to a less engaged level (including judged -> everyone else);
- ``steady``: same level (including everyone else -> everyone else).

Levels rank most > somewhat > least engaged > everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagekit.data.schema import LEVEL_RANKS, LEVELS, Level, level_ranks
from engagekit.engagement.levels import LevelResult

MOVEMENTS: tuple[str, ...] = ("rising", "steady", "slipping", "new")
MOVEMENT_DTYPE = pd.CategoricalDtype(list(MOVEMENTS))


def movement(previous: pd.Series | np.ndarray, current: pd.Series | np.ndarray) -> np.ndarray:
    """The movement of each contact from its previous to its current level.

    Examples
    --------
    >>> movement(np.array(["everyone_else", "most_engaged", "least_engaged"]),
    ...          np.array(["least_engaged", "least_engaged", "somewhat_engaged"])).tolist()
    ['new', 'slipping', 'rising']
    """
    return np.asarray(MOVEMENTS, dtype=object)[_movement_codes(level_ranks(previous), level_ranks(current))]


def _movement_codes(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Movement positions in MOVEMENTS from level ranks (higher is more engaged)."""
    unjudged = LEVEL_RANKS[Level.EVERYONE_ELSE]
    codes = np.where(after > before, 0, np.where(after < before, 2, 1))
    codes[(before == unjudged) & (after != unjudged)] = 3
    return codes.astype(np.int8)


@dataclass(frozen=True)
class Transitions:
    """The previous -> current level matrix and each contact's movement.

    Attributes
    ----------
    contacts : pandas.DataFrame
        ``contact_id``, ``previous_level``, ``current_level``, ``movement``.
    counts : pandas.DataFrame
        4 x 4 counts, rows previous level, columns current level (most engaged first).
    """

    contacts: pd.DataFrame
    counts: pd.DataFrame

    @property
    def row_shares(self) -> pd.DataFrame:
        """Each row of ``counts`` divided by its total: where each previous level went."""
        totals = self.counts.sum(axis=1).replace(0, np.nan)
        return self.counts.div(totals, axis=0).fillna(0.0)

    @property
    def shares(self) -> pd.DataFrame:
        """``counts`` divided by all contacts."""
        total = self.counts.to_numpy().sum()
        return self.counts / total if total else self.counts.astype(float)

    def movement_counts(self) -> pd.Series:
        """Contacts per movement: rising, steady, slipping, new."""
        return self.contacts["movement"].value_counts(sort=False).reindex(list(MOVEMENTS), fill_value=0)

    def pair(self, previous_level: str, current_level: str) -> pd.DataFrame:
        """The contacts that went from ``previous_level`` to ``current_level``."""
        rows = self.contacts
        return rows[(rows["previous_level"] == previous_level) & (rows["current_level"] == current_level)]

    def long(self) -> pd.DataFrame:
        """One row per (previous, current) pair: counts, share of all, share of the row."""
        counts = self.counts.stack().rename("contacts")
        out = counts.reset_index()
        out.columns = ["previous_level", "current_level", "contacts"]
        out["share"] = self.shares.stack().to_numpy()
        out["row_share"] = self.row_shares.stack().to_numpy()
        return out


def compute_transitions(previous: LevelResult, current: LevelResult) -> Transitions:
    """Compare two level results of the same contacts.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.engagement.levels import current_and_previous
    >>> now, before = current_and_previous(generate_sample(400, seed=4), as_of="2026-11-30")
    >>> int(compute_transitions(before, now).counts.to_numpy().sum())
    400
    """
    before = previous.table["level"].cat.codes.to_numpy()
    after = current.table["level"].cat.codes.to_numpy()
    # The codes number the levels most engaged first (the matrix's order); a movement compares
    # ranks, which grow with engagement.
    ranks = level_ranks(previous.table["level"]), level_ranks(current.table["level"])
    contacts = pd.DataFrame(
        {
            "contact_id": current.table["contact_id"].to_numpy(),
            "previous_level": previous.table["level"].array,
            "current_level": current.table["level"].array,
            "movement": pd.Categorical.from_codes(_movement_codes(*ranks), dtype=MOVEMENT_DTYPE),
        }
    )
    codes = before.astype(np.int64) * len(LEVELS) + after
    matrix = np.bincount(codes, minlength=len(LEVELS) ** 2).reshape(len(LEVELS), len(LEVELS))
    counts = pd.DataFrame(
        matrix,
        index=pd.Index(list(LEVELS), name="previous_level"),
        columns=pd.Index(list(LEVELS), name="current_level"),
    )
    return Transitions(contacts=contacts, counts=counts)

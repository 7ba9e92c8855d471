"""The tier rules as a scikit-learn transformer, for pipelines and model code.

Its own module: scikit-learn takes most of a second to import, and the levels themselves need only
the rules of :mod:`engagekit.engagement.tiers`, which this transformer applies unchanged.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from engagekit.config import EngagementConfig
from engagekit.engagement.tiers import Thresholds, assign_codes, level_names, score_cuts


class EngagementTiers(TransformerMixin, BaseEstimator):
    """Assign engagement levels to scores by quantile thresholds.

    Each column of ``X`` is a score; ``nan`` marks a contact that is not judged (fewer eligible
    sends than the minimum, see :func:`judged_scores`). ``fit`` learns, per column, the score cuts
    ``thresholds_``; ``transform`` returns level codes: 3 most engaged, 2 somewhat engaged,
    1 least engaged, 0 everyone else (:func:`level_names` turns them into names).

    Parameters
    ----------
    most_engaged_share : float, default 0.2
        Share of judged contacts, from the top score down, that is most engaged.
    least_engaged_share : float, default 0.4
        Share of judged contacts, from the bottom score up, that is least engaged.

    Attributes
    ----------
    thresholds_ : ndarray of shape (n_features, 2)
        Per column, ``least_engaged_max`` then ``most_engaged_min`` (``nan`` if none judged).
    n_judged_ : ndarray of shape (n_features,)
        Judged (non-``nan``) scores seen by ``fit``, per column.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [0.5], [0.9], [1.0], [np.nan]])
    >>> tiers = EngagementTiers(most_engaged_share=0.2, least_engaged_share=0.4).fit(X)
    >>> level_names(tiers.transform(X)[:, 0]).tolist()
    ['least_engaged', 'least_engaged', 'somewhat_engaged', 'somewhat_engaged', 'most_engaged', 'everyone_else']
    """

    def __init__(self, *, most_engaged_share=0.2, least_engaged_share=0.4):
        self.most_engaged_share = most_engaged_share
        self.least_engaged_share = least_engaged_share

    @classmethod
    def from_config(cls, config: EngagementConfig) -> EngagementTiers:
        return cls(
            most_engaged_share=config.most_engaged_share,
            least_engaged_share=config.least_engaged_share,
        )

    def fit(self, X, y=None):
        """Learn ``thresholds_`` from the judged (non-``nan``) scores of each column."""
        shares = (self.most_engaged_share, self.least_engaged_share)
        if not all(0 < share < 1 for share in shares) or sum(shares) > 1:
            raise ValueError(
                "most_engaged_share and least_engaged_share must each lie in (0, 1) and add up "
                f"to at most 1, got {self.most_engaged_share} and {self.least_engaged_share}"
            )
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        cuts = [score_cuts(column[~np.isnan(column)], *shares) for column in X.T]
        self.thresholds_ = np.array([cut[:2] for cut in cuts], dtype=np.float64)
        self.n_judged_ = np.array([cut[2] for cut in cuts], dtype=np.int64)
        return self

    def transform(self, X):
        """Level codes, one column per score column."""
        check_is_fitted(self, "thresholds_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        return np.column_stack(
            [assign_codes(X[:, j], Thresholds(*self.thresholds_[j], 0)) for j in range(X.shape[1])]
        )

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "thresholds_")
        if self.n_features_in_ == 1:
            return np.array(["level"], dtype=object)
        names = getattr(self, "feature_names_in_", [f"x{j}" for j in range(self.n_features_in_)])
        return np.array([f"{name}_level" for name in names], dtype=object)

    def thresholds_for(self, column: int = 0) -> Thresholds:
        """The learned cuts of one score column as a :class:`Thresholds`."""
        check_is_fitted(self, "thresholds_")
        least, most = self.thresholds_[column]
        return Thresholds(float(least), float(most), int(self.n_judged_[column]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []
        return tags


__all__ = ["EngagementTiers", "level_names"]

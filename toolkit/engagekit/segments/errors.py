"""The typed error of segment definitions."""

from __future__ import annotations

from engagekit.errors import EngagekitError


class SegmentDefinitionError(EngagekitError):
    """A segment definition that cannot be used, with the place in the tree where it breaks.

    Attributes
    ----------
    path : str
        Where the problem is, e.g. ``criteria.group[1].group[0]`` (empty for the whole document).
    reason : str
        What is wrong there.

    Examples
    --------
    >>> str(SegmentDefinitionError("unknown operator 'foo'", path="criteria.group[0]"))
    "criteria.group[0]: unknown operator 'foo'"
    """

    def __init__(self, reason: str, *, path: str = ""):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)

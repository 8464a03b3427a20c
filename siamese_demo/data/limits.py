"""The upload caps live in :mod:`siamese_demo.limits`; re-exported here for the readers."""
from ..limits import Limits, limits

__all__ = ["Limits", "limits"]

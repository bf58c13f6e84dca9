"""Cache pecan's argument-spec lookups.

pecan (1.8 and earlier) builds a new namedtuple class on every ``getargspec`` call and
calls it about ten times per request: that alone cost about 0.5 ms per request here,
more than the rest of pecan's routing. Controllers never change at run time, so the
spec of a function is computed once.
"""

import functools

import pecan.util


def install():
    if not hasattr(pecan.util._getargspec, "cache_info"):
        pecan.util._getargspec = functools.lru_cache(maxsize=None)(pecan.util._getargspec)

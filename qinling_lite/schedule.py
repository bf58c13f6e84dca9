"""Cron patterns of jobs: validation and the next fire time (naive UTC datetimes)."""

import re

import croniter
from oslo_utils import timeutils

from qinling_lite import exceptions

# The largest value of each field, in order: minute, hour, day of month, month, weekday.
FIELD_MAXIMA = (59, 23, 31, 12, 7)
_STEP = re.compile(r"/([0-9]+)")


def validate(pattern):
    """A 5-field cron pattern that fires, or InputError.

    Steps (``*/N``) must be from 1 to the field's largest value, and the pattern must
    match a date that comes (``0 0 30 2 *`` never does).
    """
    fields = pattern.split()
    if len(fields) != 5 or not croniter.croniter.is_valid(pattern):
        raise exceptions.InputError(f"The specified pattern is not valid: {pattern}")
    for field, maximum in zip(fields, FIELD_MAXIMA, strict=True):
        for step in _STEP.findall(field):
            if not 1 <= int(step) <= maximum:
                raise exceptions.InputError(
                    f"The specified pattern is not valid: {pattern} "
                    f"(a step must be from 1 to {maximum} in that field)"
                )
    if _next(pattern, timeutils.utcnow()) is None:
        raise exceptions.InputError(f"The specified pattern never fires: {pattern}")
    return pattern


def next_fire(pattern, after):
    """The first time after ``after`` that ``pattern`` fires; InputError if none comes."""
    fire = _next(pattern, after)
    if fire is None:
        raise exceptions.InputError(
            f"The specified pattern does not fire after {after:%Y-%m-%d %H:%M}: {pattern}"
        )
    return fire


def _next(pattern, after):
    try:
        return croniter.croniter(pattern, after).get_next(type(after))
    except (croniter.CroniterBadDateError, ValueError, OverflowError):
        return None  # no such date within croniter's search, or past the year 9999

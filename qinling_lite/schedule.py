"""Cron patterns of jobs: validation and the next fire time (naive UTC datetimes)."""

import croniter

from qinling_lite import exceptions


def validate(pattern):
    """A 5-field cron pattern, or InputError."""
    if len(pattern.split()) != 5 or not croniter.croniter.is_valid(pattern):
        raise exceptions.InputError(f"The specified pattern is not valid: {pattern}")
    return pattern


def next_fire(pattern, after):
    """The first time after ``after`` that ``pattern`` fires."""
    return croniter.croniter(pattern, after).get_next(type(after))

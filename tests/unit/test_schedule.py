"""Cron patterns of jobs: what is refused, and when the next tick is."""

import datetime

import pytest

from qinling_lite import exceptions, schedule


@pytest.mark.parametrize(
    "pattern",
    ["* * * * *", "*/59 * * * *", "0 */23 * * *", "0 0 */31 * *", "0 0 1 */12 *",
     "0 0 * * */7", "0 0 29 2 *", "0 0 30 2 1", "0 0 1 jan *", "0 0 L * *"],
)  # fmt: skip
def test_patterns_that_fire_are_taken(pattern):
    assert schedule.validate(pattern) == pattern


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("* * * *", "is not valid"),
        ("61 * * * *", "is not valid"),
        ("*/0 * * * *", "is not valid"),
        ("*/60 * * * *", "a step must be from 1 to 59 in that field"),
        ("*/100000000000000000000 * * * *", "a step must be from 1 to 59"),
        ("0-59/100 * * * *", "a step must be from 1 to 59"),
        ("0 */24 * * *", "a step must be from 1 to 23"),
        ("0 0 */32 * *", "a step must be from 1 to 31"),
        ("0 0 1 */13 *", "a step must be from 1 to 12"),
        ("0 0 * * 1-5/8", "a step must be from 1 to 7"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 2,4,6,9,11 *", "never fires"),
    ],
)
def test_patterns_that_cannot_fire_as_written_are_refused(pattern, message):
    with pytest.raises(exceptions.InputError, match=message) as e:
        schedule.validate(pattern)
    assert e.value.code == 400


def test_next_fire():
    after = datetime.datetime(2026, 2, 27, 12, 0)
    assert schedule.next_fire("0 0 29 2 *", after) == datetime.datetime(2028, 2, 29)


def test_no_fire_after_the_last_year_is_an_input_error():
    with pytest.raises(exceptions.InputError, match="does not fire after 9999-06-01 00:00"):
        schedule.next_fire("0 0 1 1 *", datetime.datetime(9999, 6, 1))

"""What started an execution, from its description."""

import pytest

from qinling_lite.metrics import triggers


@pytest.mark.parametrize(
    ("description", "trigger"),
    [
        ("Created by Webhook 0f1e", triggers.WEBHOOK),
        ("Created by Job 0f1e", triggers.JOB),
        ("Dead letter of execution 0f1e", triggers.DEAD_LETTER),
        ("nightly report", triggers.API),
        ("", triggers.API),
        (None, triggers.API),
    ],
)
def test_the_trigger_comes_from_the_description(description, trigger):
    assert triggers.of(description) == trigger

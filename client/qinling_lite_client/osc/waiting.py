"""``--wait``: poll a resource until it reaches a final state."""

import time

from osc_lib import exceptions

INTERVAL = 0.5


def add_options(parser, what, timeout):
    parser.add_argument(
        "--wait", action="store_true", help=f"Wait until the {what} reaches a final state"
    )
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=timeout,
        metavar="<seconds>",
        help=f"How long --wait waits (default {timeout} s); rc 1 after that",
    )


def until(fetch, done, timeout, what):
    """Call ``fetch()`` until ``done(item)``; the last item, or CommandError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        item = fetch()
        if done(item):
            return item
        if time.monotonic() >= deadline:
            raise exceptions.CommandError(
                f"Timed out after {timeout:g} s waiting for {what} (status: {item.get('status')})"
            )
        time.sleep(INTERVAL)

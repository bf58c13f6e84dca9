"""Build the venvs of the real programs the functional tests run, all at once, ahead of
the tests that need them: Keystone's, Swift's, the ``openstack`` CLI's and the
"openstack" runtime environment.

``tools/run-tests`` starts it in the background while the unit tests run. Each fixture
then finds its venv complete, or waits on its lock for the build under way; a build that
failed here is tried again, and fails loudly, by its fixture. The directories are the
ones the fixtures read from the same variables.
"""

import concurrent.futures
import os
import sys
import time

from tests import cli, keystone, runtime_environments, swift

BUILDS = {
    "QINLING_LITE_KEYSTONE_VENV": keystone.install,
    "QINLING_LITE_SWIFT_VENV": swift.install,
    "QINLING_LITE_OSC_VENV": cli.install,
    "QINLING_LITE_OPENSTACK_RUNTIME_ENV": runtime_environments.install,
}


def main():
    wanted = {var: build for var, build in BUILDS.items() if os.environ.get(var)}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(wanted) or 1) as pool:
        futures = {var: pool.submit(build, os.environ[var]) for var, build in wanted.items()}
    failed = 0
    for var, future in futures.items():
        try:
            future.result()
        except Exception as exc:  # its fixture tries again and reports it
            failed += 1
            print(f"{var}: {exc}", file=sys.stderr)
    took = time.monotonic() - started
    print(f"prebuilt {len(futures) - failed} of {len(futures)} venvs in {took:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

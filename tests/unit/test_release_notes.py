"""The release notes in ``releasenotes/notes`` pass ``reno lint``: known sections, valid
YAML, one note per file."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_release_notes_pass_reno_lint():
    reno = os.path.join(os.path.dirname(sys.executable), "reno")
    run = subprocess.run(
        [reno, "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted((ROOT / "releasenotes" / "notes").glob("*.yaml")), "no release notes"

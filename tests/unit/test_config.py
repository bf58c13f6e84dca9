"""The sample config in etc/ is what oslo-config-generator makes of the options now."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parents[2]


def test_sample_config_is_current(tmp_path):
    generated = tmp_path / "qinling-lite.conf.sample"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "oslo_config.generator",
            "--config-file",
            str(ROOT / "etc" / "qinling-lite-config-generator.conf"),
            "--output-file",
            str(generated),
        ],
        check=True,
        capture_output=True,
    )
    sample = (ROOT / "etc" / "qinling-lite.conf.sample").read_text()
    assert generated.read_text() == sample, "run: tox -e genconfig"

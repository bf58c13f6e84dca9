"""The runtime server as workers run it: one zip application of this package,
``python3 -I -S runtime.pyz`` (``-I`` puts no directory of the host on the path, but a
zip application's own). In it the package is ``qinling_runtime``: nothing named
``qinling_lite`` is importable in a worker.

The local orchestrator builds it once per engine and copies it into each sandbox; the
runtime image builds it with ``python3 -m qinling_lite.runtime.archive runtime.pyz``.
"""

import io
import pathlib
import sys
import zipfile

PACKAGE = pathlib.Path(__file__).parent
PACKAGE_NAME = "qinling_runtime"
MAIN = f"from {PACKAGE_NAME} import server\n\nserver.main()\n"
# A fixed time for every entry, so that the same sources make the same archive.
ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def build() -> bytes:
    """The zip application of this package's modules, and its ``__main__``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PACKAGE.glob("*.py")):
            archive.writestr(_file(f"{PACKAGE_NAME}/{path.name}"), path.read_bytes())
        archive.writestr(_file("__main__.py"), MAIN)
    return buffer.getvalue()


def _file(name):
    info = zipfile.ZipInfo(name, ENTRY_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def main(argv=None):
    """Write the zip application to the path given."""
    (target,) = sys.argv[1:] if argv is None else argv
    pathlib.Path(target).write_bytes(build())


if __name__ == "__main__":
    main()

"""The runtime server as workers run it: one zip application of this package,
``python3 -I -S runtime.pyz`` (``-I`` puts no directory of the host on the path, but a
zip application's own). In it the package is ``qinling_runtime``: nothing named
``qinling_lite`` is importable in a worker.

The local orchestrator builds it once per engine and copies it into each sandbox; the
runtime image builds it with ``python3 -m qinling_lite.runtime.archive runtime.pyz``.

Beside each module is its byte code, compiled by the interpreter that builds the archive
(an unchecked hash-based ``.pyc``, PEP 552: the same sources give the same bytes). A
worker on that interpreter's version imports it without compiling, which saves a sixth
of a server's start; another version refuses it for its magic number and compiles the
sources.
"""

import functools
import importlib.util
import io
import marshal
import pathlib
import sys
import zipfile

PACKAGE = pathlib.Path(__file__).parent
PACKAGE_NAME = "qinling_runtime"
MAIN = f"from {PACKAGE_NAME} import server\n\nserver.main()\n"
# A fixed time for every entry, so that the same sources make the same archive.
ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


@functools.cache
def build() -> bytes:
    """The zip application of this package's modules, and its ``__main__`` (built once
    per process: the sources do not change under a running service)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PACKAGE.glob("*.py")):
            name = f"{PACKAGE_NAME}/{path.name}"
            source = path.read_bytes()
            archive.writestr(_file(name), source)
            archive.writestr(_file(f"{name}c"), _byte_code(source, name))
        archive.writestr(_file("__main__.py"), MAIN)
    return buffer.getvalue()


def _byte_code(source, name):
    """The ``.pyc`` of ``source``: magic number, flags (hash-based, unchecked), the
    source's hash and the marshalled code, whose tracebacks name ``name``.

    marshal writes whether each string is interned. One-character strings are objects
    shared by the whole process, interned or not by whatever ran before: they are all
    interned first, so that the same sources give the same bytes in any process.
    """
    for byte in range(256):
        sys.intern(chr(byte))
    code = compile(source, name, "exec", dont_inherit=True)
    header = importlib.util.MAGIC_NUMBER + (0b01).to_bytes(4, "little")
    return header + importlib.util.source_hash(source) + marshal.dumps(code)


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

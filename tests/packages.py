"""Function packages for tests."""

import io
import zipfile

HELLO_WORLD = "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n"


def make_zip(files):
    """A ZIP package of ``{file name: text}``, as bytes; the same files give the same
    bytes (a fixed time stamp, not the clock's)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()

"""Function packages for tests."""

import io
import zipfile

HELLO_WORLD = "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n"


def make_zip(files):
    """A ZIP package of ``{file name: text}``, as bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()

"""A function's ``code``: where its code comes from, as stored and on the wire.

``{"source": "package", "md5sum": ...}`` (a ZIP in the package store),
``{"source": "swift", "swift": {...}, "md5sum": ...}`` (a ZIP object in Swift, its last
fetched copy in the package store, see ``storage.swift``) or
``{"source": "image", "image": ...}`` (a container image run once per execution).
"""

PACKAGE = "package"
SWIFT = "swift"
IMAGE = "image"
SOURCES = (PACKAGE, SWIFT, IMAGE)


def is_image(code):
    """Whether ``code`` (None for a vanished function) names a container image."""
    return code is not None and code.get("source") == IMAGE


def is_swift(code):
    """Whether ``code`` (None for a vanished function) is an object in Swift."""
    return code is not None and code.get("source") == SWIFT

"""What a function package may hold: checked once, from its ZIP central directory.

Every package a store keeps goes through ``check`` first: on function create and update
(``store``) and on version create (``snapshot``, for packages stored before these rules).
Nothing is decompressed: the sizes checked are the ones the central directory declares.
A header that lies about them is the runtime server's to catch: it extracts no entry past
its declared size (``runtime/package.py``, ``extract_package``), so what a worker writes
stays within the declared total, which is checked here.

Refused with 413: a declared uncompressed total over ``max_uncompressed_size``. Refused
with 400: more than ``max_entries`` entries (bounded before zipfile reads them, see
``_most_entries``); an entry of at least ``RATIO_FLOOR`` bytes
compressed more than ``max_compression_ratio`` to 1 (a bomb); an absolute path, a ``..``
component, a backslash or a drive letter; a symbolic link or another special file (Unix
mode in the entry's external attributes); a name given twice, or given to a file and
to a directory; an encrypted entry; a compression method the runtime cannot read.
"""

import dataclasses
import re
import stat
import zipfile

from qinling_lite import exceptions

MIB = 1024 * 1024
# Entries smaller than this are never refused for their compression ratio: small files
# of repeated text compress well, and what many of them hold is bounded by the total.
RATIO_FLOOR = MIB
# What the runtime server's zipfile can decompress.
METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
NOT_A_ZIP = "Package is not a valid ZIP package."
SHOWN_NAME = 80  # characters of an entry name quoted in an error

# The signature of a central directory entry (APPNOTE 4.3.12).
_CENTRAL_SIG = b"PK\x01\x02"
_CHUNK = 1024 * 1024
_ENCRYPTED = 0x1
_DRIVE = re.compile(r"[A-Za-z]:")


@dataclasses.dataclass(frozen=True)
class Limits:
    max_uncompressed_size: int
    max_entries: int
    max_compression_ratio: int

    @classmethod
    def from_conf(cls, storage_conf):
        """The limits of the ``[storage]`` options."""
        return cls(
            max_uncompressed_size=storage_conf.max_package_uncompressed_size,
            max_entries=storage_conf.max_package_entries,
            max_compression_ratio=storage_conf.max_package_compression_ratio,
        )


def check(package, limits):
    """Raise PackageTooLarge or InputError unless the open binary file ``package`` is a
    ZIP package within ``limits``."""
    too_many = f"Package has more than {limits.max_entries} entries."
    if _most_entries(package) > limits.max_entries:
        raise exceptions.InputError(too_many)
    try:
        with zipfile.ZipFile(package) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError):
        raise exceptions.InputError(NOT_A_ZIP) from None
    if len(entries) > limits.max_entries:
        raise exceptions.InputError(too_many)
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_size:
        raise exceptions.PackageTooLarge(
            f"Package of {total} bytes uncompressed exceeds the limit of "
            f"{limits.max_uncompressed_size} bytes."
        )
    seen, files, directories = set(), set(), set()
    for entry in entries:
        path = _check_entry(entry, limits)
        if path in seen:
            raise exceptions.InputError(f"Package entry {_shown(entry)} appears more than once.")
        seen.add(path)
        parents = path.split("/")[:-1]
        directories.update("/".join(parents[: i + 1]) for i in range(len(parents)))
        (directories if _is_dir(entry) else files).add(path)
    both = files & directories
    if both:
        shown = repr(min(both)[:SHOWN_NAME])
        raise exceptions.InputError(f"Package path {shown} is both a file and a directory.")


def _check_entry(entry, limits):
    """Refuse one entry that breaks a rule; return its path, normalised."""
    name = entry.filename
    shown = _shown(entry)
    if name.startswith("/"):
        raise exceptions.InputError(f"Package entry {shown} has an absolute path.")
    if "\\" in name:
        raise exceptions.InputError(
            f"Package entry {shown} has a backslash: ZIP paths are separated by '/'."
        )
    if _DRIVE.match(name):
        raise exceptions.InputError(f"Package entry {shown} starts with a drive letter.")
    parts = name.split("/")
    if ".." in parts:
        raise exceptions.InputError(f"Package entry {shown} has a '..' path component.")
    path = "/".join(part for part in parts if part not in ("", "."))
    if not path and not _is_dir(entry):
        raise exceptions.InputError(f"Package entry {shown} names no file.")
    kind = stat.S_IFMT(entry.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise exceptions.InputError(f"Package entry {shown} is a symbolic link.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise exceptions.InputError(f"Package entry {shown} is not a regular file or directory.")
    if entry.flag_bits & _ENCRYPTED:
        raise exceptions.InputError(f"Package entry {shown} is encrypted.")
    if entry.compress_type not in METHODS:
        raise exceptions.InputError(
            f"Package entry {shown} uses an unsupported compression method ({entry.compress_type})."
        )
    ratio = limits.max_compression_ratio
    if entry.file_size >= RATIO_FLOOR and entry.file_size > ratio * entry.compress_size:
        raise exceptions.InputError(
            f"Package entry {shown} inflates {entry.compress_size} bytes to "
            f"{entry.file_size}, more than {ratio} to 1."
        )
    return path


def _is_dir(entry):
    """``ZipInfo.is_dir``, for an empty name too (zipfile's raises IndexError)."""
    return entry.filename.endswith("/")


def _shown(entry):
    return repr(entry.filename[:SHOWN_NAME])


def _most_entries(package):
    """How many entries the package can list at most: its central directory signatures.

    zipfile reads every entry of the central directory before any can be checked:
    600,000 of them in a 50 MiB package take seconds and hundreds of MiB. Each entry
    starts with the signature ``PK\\1\\2``, so however a reader locates the directory, it
    cannot list more entries than the package holds signatures. Counting them is one
    pass over the bytes. Compressed data matches by chance about once per 4 GiB; only
    ZIP files stored uncompressed inside the package add their own entries.
    """
    package.seek(0)
    count = 0
    carry = b""
    while chunk := package.read(_CHUNK):
        data = carry + chunk
        count += data.count(_CENTRAL_SIG)
        # The last bytes may start a signature that the next chunk completes (too few
        # to hold a whole one, which was counted).
        carry = data[-(len(_CENTRAL_SIG) - 1) :]
    package.seek(0)
    return count

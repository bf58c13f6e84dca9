"""Function packages, and function sources, for tests."""

import dataclasses
import functools
import io
import stat
import struct
import zipfile
import zlib

HELLO_WORLD = "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n"

# User code finding the pipe its result goes back through to the runtime server (the one
# write-only pipe among its descriptors), to flood it or forge a report: ``report_pipe()``
# and ``write_all(fd, data)``, for a function source to start with.
REPORT_PIPE = """
import fcntl, os, stat

def report_pipe():
    for name in os.listdir('/proc/self/fd'):
        fd = int(name)
        try:
            mode, flags = os.fstat(fd).st_mode, fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if stat.S_ISFIFO(mode) and flags & os.O_ACCMODE == os.O_WRONLY:
            return fd
    raise RuntimeError('no report pipe')

def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]
"""


def report_pipe_flood(size):
    """The source of a function writing ``size`` bytes into its report pipe, unless the
    runtime server stops reading first."""
    return REPORT_PIPE + (
        "def main(**kwargs):\n"
        "    fd = report_pipe()\n"
        "    chunk = b'7' * 65536\n"
        f"    for _ in range({size // 65536}):\n"
        "        write_all(fd, chunk)\n"
        "    return 'unreachable'\n"
    )


def make_zip(files):
    """A ZIP package of ``{file name: text}``, as bytes; the same files give the same
    bytes (a fixed time stamp, not the clock's)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


# --- hostile packages ---------------------------------------------------------------
# ZIP files written record by record (APPNOTE 4.3), so that a test can say what the
# central directory declares, whatever the data holds, and can build a bomb of gigabytes
# without compressing them.

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_UNIX_REGULAR = (stat.S_IFREG | 0o644) << 16
_MADE_ON_UNIX = 3 << 8 | 20


@dataclasses.dataclass
class RawEntry:
    """One entry: ``data`` as stored (compressed by ``method``), and what the headers
    declare: ``crc`` and ``size`` (the uncompressed size)."""

    name: str
    data: bytes
    crc: int
    size: int
    method: int = zipfile.ZIP_DEFLATED
    external_attr: int = _UNIX_REGULAR
    flags: int = 0x800  # UTF-8 names


def raw_zip(entries):
    """The ZIP file of ``RawEntry`` records, as bytes."""
    out = io.BytesIO()
    central = []
    for entry in entries:
        name = entry.name.encode()
        offset = out.tell()
        head = (20, entry.flags, entry.method, 0, 0x5021)  # version, flags, method, 2020-01-01
        sizes = (entry.crc, len(entry.data), entry.size)
        out.write(_LOCAL.pack(b"PK\x03\x04", *head, *sizes, len(name), 0) + name + entry.data)
        # name length, extra field and comment lengths, disk, internal attributes
        lengths = (len(name), 0, 0, 0, 0)
        central.append(
            _CENTRAL.pack(
                b"PK\x01\x02", _MADE_ON_UNIX, *head, *sizes, *lengths, entry.external_attr, offset
            )
            + name
        )
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(_END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()


def deflated(data):
    return zlib.compress(data, 9, wbits=-15)


def deflated_entry(name, data, size=None, crc=None):
    """An entry of ``data``, deflated, declaring ``size`` and ``crc`` (its own unless given)."""
    return RawEntry(
        name,
        deflated(data),
        zlib.crc32(data) if crc is None else crc,
        len(data) if size is None else size,
    )


_BOMB_BLOCK = 1024 * 1024


@functools.cache
def _zeros(size):
    """(raw deflate stream, CRC-32) of ``size`` zero bytes, a multiple of _BOMB_BLOCK.

    A block compressed after a full flush refers to nothing before it, so the stream is
    that one block repeated, then an empty final block (BFINAL=1, fixed codes, end).
    """
    assert size % _BOMB_BLOCK == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = compressor.compress(bytes(_BOMB_BLOCK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zeros = bytes(_BOMB_BLOCK)
    for _ in range(size // _BOMB_BLOCK):
        crc = zlib.crc32(zeros, crc)
    return unit * (size // _BOMB_BLOCK) + b"\x03\x00", crc


def zip_bomb(names, size):
    """A valid ZIP of ``size`` zero bytes under each of ``names``, about 1,000 times
    smaller than what it holds (4 x 1 GiB: 4 MiB), built in well under a second."""
    stream, crc = _zeros(size)
    return raw_zip([RawEntry(name, stream, crc, size) for name in names])


def symlink_zip(name, target, files=None):
    """A ZIP package of ``files`` plus a symbolic link ``name`` to ``target``, as
    ``zip --symlinks`` writes one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file_name, text in (files or {}).items():
            archive.writestr(zipfile.ZipInfo(file_name, date_time=(2020, 1, 1, 0, 0, 0)), text)
        link = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, target)
    return buffer.getvalue()


def many_entries_zip(count):
    """A ZIP package of ``count`` empty files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            archive.writestr(zipfile.ZipInfo(f"f{i}.txt", date_time=(2020, 1, 1, 0, 0, 0)), b"")
    return buffer.getvalue()

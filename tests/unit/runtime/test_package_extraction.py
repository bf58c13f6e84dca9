"""The runtime server's own guard on package extraction: whatever a ZIP's headers say,
and whatever the API let through when it was stored (an older release checked less)."""

import os
import stat
import zipfile
import zlib

import pytest

from qinling_lite.runtime.package import extract_package
from qinling_lite.runtime.protocol import RequestError
from tests.packages import (
    RawEntry,
    deflated_entry,
    make_zip,
    many_entries_zip,
    raw_zip,
    symlink_zip,
    zip_bomb,
)
from tests.unit.runtime.test_server import HELLO

MIB = 1024 * 1024
INFLATED = b"0" * (10 * MIB)


def extract(package, dest, **limits):
    """The HTTPError of a refused extraction, or None."""
    try:
        extract_package(package, str(dest), **limits)
    except RequestError as e:
        return e
    return None


def written(root):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files)


def test_a_lying_size_is_refused_and_leaves_nothing(tmp_path):
    """The central directory declares 1,000 bytes; the data inflates to 10 MiB."""
    dest = tmp_path / "package"
    error = extract(raw_zip([deflated_entry("main.py", INFLATED, size=1000)]), dest)
    assert error.status == 400
    assert "main.py" in error.message
    assert not dest.exists()


def test_a_lying_size_with_a_matching_checksum_writes_no_more_than_declared(tmp_path):
    """Even a CRC made for the first 1,000 bytes only gets those 1,000 bytes written."""
    dest = tmp_path / "package"
    package = raw_zip(
        [deflated_entry("main.py", INFLATED, size=1000, crc=zlib.crc32(INFLATED[:1000]))]
    )
    assert extract(package, dest) is None
    assert written(dest) == 1000


def test_lying_sizes_stay_within_the_budget(tmp_path):
    """Many lying entries: what is written never exceeds the declared total, itself
    within the budget."""
    dest = tmp_path / "package"
    entries = [
        deflated_entry(f"f{i}", INFLATED, size=100_000, crc=zlib.crc32(INFLATED[:100_000]))
        for i in range(10)
    ]
    assert extract(raw_zip(entries), dest, max_bytes=1_000_000) is None
    assert written(dest) == 1_000_000
    error = extract(raw_zip(entries), tmp_path / "other", max_bytes=999_999)
    assert (error.status, error.message) == (413, "package expands to 1000000 bytes, over 999999")
    assert not (tmp_path / "other").exists()


def test_a_bomb_over_the_budget_is_refused_before_anything_is_written(tmp_path):
    dest = tmp_path / "package"
    dest.mkdir()
    (dest / "old.py").write_text("")
    error = extract(zip_bomb(["a", "b", "c", "d"], 1024 * MIB), dest)
    assert error.status == 413
    assert error.message == f"package expands to {4 * 1024 * MIB} bytes, over {1024 * MIB}"
    assert (dest / "old.py").exists()  # refused before the directory is replaced


def test_entries_over_the_limit_are_refused(tmp_path):
    error = extract(many_entries_zip(11), tmp_path / "package", max_entries=10)
    assert (error.status, error.message) == (400, "package has more than 10 entries")
    assert extract(many_entries_zip(10), tmp_path / "package", max_entries=10) is None


def test_a_symbolic_link_is_written_as_a_plain_file(tmp_path):
    dest = tmp_path / "package"
    assert extract(symlink_zip("link", "/etc/passwd", {"main.py": HELLO}), dest) is None
    assert stat.S_ISREG(os.lstat(dest / "link").st_mode)
    assert (dest / "link").read_text() == "/etc/passwd"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [RawEntry("main.py", b"x", 0, 1, method=zipfile.ZIP_STORED, flags=0x801)],
            "package is not a valid zip file: File ",  # Python names it as a ZipInfo
        ),
        (
            [RawEntry("main.py", b"x", 0, 1, method=9)],
            "package is not a valid zip file: That compression method is not supported",
        ),
        (
            [deflated_entry("lib", b""), deflated_entry("lib/x.py", b"")],
            "package cannot be extracted: ",
        ),
        ([deflated_entry(".", b"")], "unsafe path in package: '.'"),
        ([deflated_entry("", b"")], "unsafe path in package: ''"),
        (
            [RawEntry("a", b"\xff" * 2000, 0, 5000, method=zipfile.ZIP_DEFLATED)],
            "package member 'a' cannot be read: Error -3",
        ),
        (
            [RawEntry("a", b"BZh9" + b"\xff" * 2000, 0, 5000, method=zipfile.ZIP_BZIP2)],
            "package member 'a' cannot be read: Invalid data stream",
        ),
        (
            [RawEntry("a", b"\x09\x14\x05\x00" + b"\xff" * 2000, 0, 5000, method=zipfile.ZIP_LZMA)],
            "package member 'a' cannot be read: ",
        ),
    ],
)
def test_what_cannot_be_extracted_is_a_400_and_leaves_nothing(tmp_path, entries, message):
    dest = tmp_path / "package"
    error = extract(raw_zip(entries), dest)
    assert error.status == 400
    assert error.message.startswith(message)
    assert not dest.exists()


def test_directories_and_files_are_extracted(tmp_path):
    dest = tmp_path / "package"
    files = {"pkg/": "", "pkg/__init__.py": "", "pkg/mod.py": HELLO, "./top.py": "x = 1\n"}
    assert extract(make_zip(files), dest) is None
    assert sorted(os.listdir(dest)) == ["pkg", "top.py"]
    assert (dest / "pkg" / "mod.py").read_text() == HELLO


def test_a_worker_refuses_a_lying_package_and_stays_usable(worker):
    lying = raw_zip([deflated_entry("hello_world.py", INFLATED, size=1000)])
    query = "/load?function_id=f&version=0&entry=hello_world.main"
    status, answer = worker.call("POST", query, lying)
    assert status == 400
    assert answer["error"].startswith("package member 'hello_world.py' cannot be read: Bad CRC-32")
    assert not (worker.workdir / "package").exists()
    assert worker.call("GET", "/ping")[1]["function_id"] is None
    assert worker.load({"hello_world.py": HELLO})[0] == 200
    assert worker.execute()["output"] == "Hello, World"

"""The package rules, on packages built record by record (``tests.packages``)."""

import io
import stat
import zipfile

import pytest

from qinling_lite import config, exceptions
from qinling_lite.storage import package_check
from tests.packages import (
    RawEntry,
    deflated_entry,
    make_zip,
    many_entries_zip,
    raw_zip,
    symlink_zip,
    zip_bomb,
)

MIB = 1024 * 1024
LIMITS = package_check.Limits(
    max_uncompressed_size=16 * MIB, max_entries=100, max_compression_ratio=100
)
HELLO = "def main(**kwargs):\n    return 1\n"


def check(data, limits=LIMITS):
    package_check.check(io.BytesIO(data), limits)


def refused(data, limits=LIMITS):
    """The InputError (400) ``check`` raises."""
    with pytest.raises(exceptions.InputError) as e:
        check(data, limits)
    assert e.value.code == 400
    return e.value.message


def test_the_defaults_are_the_options():
    config.CONF([], project="qinling-lite")
    limits = package_check.Limits.from_conf(config.CONF.storage)
    assert limits == package_check.Limits(256 * MIB, 10000, 100)


@pytest.mark.parametrize(
    "files",
    [
        {"main.py": HELLO},
        {"pkg/": "", "pkg/__init__.py": "", "pkg/mod.py": HELLO, "data/a/b/c.json": "{}"},
        {"./main.py": HELLO, "lib//util.py": ""},
        {"modulé.py": HELLO, "a..b.py": "", "..hidden": ""},
        {"pkg/mod.py": HELLO, "pkg/": ""},  # a directory listed after its files
    ],
)
def test_ordinary_packages_pass(files):
    check(make_zip(files))


def test_a_package_at_every_limit_passes():
    limits = package_check.Limits(
        max_uncompressed_size=2 * MIB, max_entries=2, max_compression_ratio=1010
    )
    check(zip_bomb(["a", "b"], MIB), limits)


def test_uncompressed_size_over_the_limit_is_413():
    with pytest.raises(exceptions.PackageTooLarge) as e:
        check(zip_bomb(["a", "b", "c", "d"], 1024 * MIB))
    assert e.value.code == 413
    assert e.value.message == (
        f"Package of {4 * 1024 * MIB} bytes uncompressed exceeds the limit of {16 * MIB} bytes."
    )


def test_one_byte_over_the_uncompressed_limit_is_413():
    data = b"x" * (16 * MIB + 1)
    with pytest.raises(exceptions.PackageTooLarge):
        check(raw_zip([deflated_entry("big.txt", data)]))


def test_a_bomb_under_the_size_limit_is_refused_for_its_ratio():
    bomb = zip_bomb(["zeros.bin"], 8 * MIB)
    (entry,) = zipfile.ZipFile(io.BytesIO(bomb)).infolist()
    assert refused(bomb) == (
        f"Package entry 'zeros.bin' inflates {entry.compress_size} bytes to {8 * MIB}, "
        "more than 100 to 1."
    )


def test_small_entries_are_not_refused_for_their_ratio():
    """Below 1 MiB, repeated text compresses well and makes no bomb."""
    data = b" " * (package_check.RATIO_FLOOR - 1)
    check(raw_zip([deflated_entry("spaces.txt", data)]))
    message = refused(raw_zip([deflated_entry("spaces.txt", data + b" ")]))
    assert "more than 100 to 1" in message


def test_an_entry_declaring_data_without_any_is_refused():
    assert "more than 100 to 1" in refused(raw_zip([RawEntry("a", b"", 0, MIB)]))


def test_the_ratio_is_an_option():
    limits = package_check.Limits(16 * MIB, 100, max_compression_ratio=2000)
    check(zip_bomb(["zeros.bin"], 8 * MIB), limits)


def test_entries_over_the_limit_are_refused():
    check(many_entries_zip(100))
    assert refused(many_entries_zip(101)) == "Package has more than 100 entries."


def test_entries_are_bounded_before_zipfile_reads_them():
    """A directory whose end record understates it: the signatures still count."""
    package = many_entries_zip(101)
    end = package.rindex(b"PK\x05\x06")
    lying = package[: end + 8] + (1).to_bytes(2, "little") * 2 + package[end + 12 :]
    assert zipfile.ZipFile(io.BytesIO(lying)).infolist()[100].filename == "f100.txt"
    assert refused(lying) == "Package has more than 100 entries."


def test_signatures_are_counted_across_read_chunks():
    entry = RawEntry("x.bin", b"PK\x01\x02", 0, 4, method=zipfile.ZIP_STORED)
    for offset in range(-3, 1):
        padding = RawEntry("pad", bytes(package_check._CHUNK + offset), 0, 0, zipfile.ZIP_STORED)
        package = raw_zip([padding, entry])
        # Two central directory entries, and the stored signature, wherever it falls.
        assert package_check._most_entries(io.BytesIO(package)) == 3


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/abs/x.py", "Package entry '/abs/x.py' has an absolute path."),
        ("../../x.py", "Package entry '../../x.py' has a '..' path component."),
        ("pkg/../../x.py", "Package entry 'pkg/../../x.py' has a '..' path component."),
        ("pkg/..", "Package entry 'pkg/..' has a '..' path component."),
        ("..\\x.py", "Package entry '..\\\\x.py' has a backslash: ZIP paths are separated by '/'."),
        ("C:x.py", "Package entry 'C:x.py' starts with a drive letter."),
        (".", "Package entry '.' names no file."),
        ("", "Package entry '' names no file."),
        ("\x00main.py", "Package entry '' names no file."),  # zipfile cuts a name at NUL
    ],
)
def test_unsafe_paths_are_refused(name, message):
    assert refused(make_zip({name: "x = 1\n", "main.py": HELLO})) == message


def test_long_names_are_cut_in_the_message():
    message = refused(make_zip({"/" + "a" * 5000: ""}))
    assert len(message) < 200


def test_a_symbolic_link_is_refused():
    package = symlink_zip("secrets", "/etc/shadow", {"main.py": HELLO})
    assert refused(package) == "Package entry 'secrets' is a symbolic link."


@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK])
def test_special_files_are_refused(kind):
    entry = deflated_entry("dev", b"")
    entry.external_attr = (kind | 0o666) << 16
    assert refused(raw_zip([entry])) == "Package entry 'dev' is not a regular file or directory."


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["main.py", "main.py"], "Package entry 'main.py' appears more than once."),
        (["main.py", "./main.py"], "Package entry './main.py' appears more than once."),
        (["lib/", "lib//"], "Package entry 'lib//' appears more than once."),
        (["lib", "lib/x.py"], "Package path 'lib' is both a file and a directory."),
        (["lib/x.py", "lib"], "Package path 'lib' is both a file and a directory."),
        (["lib/", "lib"], "Package entry 'lib' appears more than once."),
    ],
)
def test_a_name_given_twice_is_refused(names, message):
    assert refused(raw_zip([deflated_entry(name, b"") for name in names])) == message


def test_an_encrypted_entry_is_refused():
    entry = deflated_entry("main.py", HELLO.encode())
    entry.flags |= 0x1
    assert refused(raw_zip([entry])) == "Package entry 'main.py' is encrypted."


def test_a_compression_method_the_runtime_cannot_read_is_refused():
    entry = deflated_entry("main.py", HELLO.encode())
    entry.method = 9  # Deflate64
    message = refused(raw_zip([entry]))
    assert message == "Package entry 'main.py' uses an unsupported compression method (9)."


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip", b"PK\x05\x06" + bytes(17), make_zip({"main.py": HELLO})[:-30]],
)
def test_what_is_not_a_zip_is_refused(data):
    assert refused(data) == "Package is not a valid ZIP package."

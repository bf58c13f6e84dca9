"""The local package store on a real temporary directory."""

import hashlib
import io
import os
import types
import zipfile

import pytest

from qinling_lite import exceptions
from qinling_lite.storage import file_system
from tests.packages import many_entries_zip, zip_bomb

PROJECT = "project-1"
FUNCTION = "5f0c6e4e-9b7a-4d5e-8a51-7a8f7f0f4a11"


def _zip(files=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in (files or {"main.py": "def main():\n    return 'hi'\n"}).items():
            zf.writestr(name, text)
    return buf.getvalue()


def _md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _files_under(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files
    )


def _assert_nothing_left(root):
    """No file anywhere, and no function directory: at most the empty project directory."""
    assert _files_under(root) == []
    assert not os.path.exists(os.path.join(root, PROJECT, FUNCTION))
    assert os.listdir(root) in ([], [PROJECT])


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "packages")


def _storage(root, max_size=1024 * 1024):
    conf = types.SimpleNamespace(
        storage=types.SimpleNamespace(
            file_system_dir=root,
            max_package_size=max_size,
            max_package_uncompressed_size=16 * 1024 * 1024,
            max_package_entries=100,
            max_package_compression_ratio=100,
        )
    )
    return file_system.FileSystemStorage(conf)


@pytest.fixture
def storage(root):
    return _storage(root)


def test_store_returns_md5_and_package_reads_back(storage, root):
    data = _zip()
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    assert md5 == _md5(data)
    assert storage.read(PROJECT, FUNCTION, md5) == data
    with storage.open(PROJECT, FUNCTION, md5) as f:
        assert f.read() == data
    assert _files_under(root) == [os.path.join(PROJECT, FUNCTION, f"0_{md5}.zip")]


def test_store_reads_stream_in_chunks(storage):
    # Bigger than one chunk, so the size and digest are accumulated across reads.
    data = _zip({"big.bin": os.urandom(3 * file_system._CHUNK).hex()})
    assert len(data) > file_system._CHUNK
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    assert md5 == _md5(data)
    assert storage.read(PROJECT, FUNCTION, md5) == data


@pytest.mark.parametrize("transform", [str.lower, str.upper])
def test_given_md5_matching_in_any_case_is_accepted(storage, root, transform):
    data = _zip()
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data), md5=transform(_md5(data)))
    assert md5 == _md5(data)  # always the lower-case hex digest
    assert _files_under(root) == [os.path.join(PROJECT, FUNCTION, f"0_{md5}.zip")]


def test_md5_mismatch_is_rejected_and_leaves_nothing(storage, root):
    data = _zip()
    with pytest.raises(exceptions.InputError) as e:
        storage.store(PROJECT, FUNCTION, io.BytesIO(data), md5=_md5(b"something else"))
    assert e.value.message == "Package md5 mismatch."
    assert e.value.code == 400
    _assert_nothing_left(root)


def test_not_a_zip_is_rejected_and_leaves_nothing(storage, root):
    with pytest.raises(exceptions.InputError) as e:
        storage.store(PROJECT, FUNCTION, io.BytesIO(b"print('not a zip')\n"))
    assert e.value.code == 400
    assert "ZIP" in e.value.message
    _assert_nothing_left(root)


def test_empty_package_is_not_a_zip(storage, root):
    with pytest.raises(exceptions.InputError):
        storage.store(PROJECT, FUNCTION, io.BytesIO(b""))
    _assert_nothing_left(root)


def test_package_over_max_size_is_rejected_and_leaves_nothing(root):
    data = _zip()
    storage = _storage(root, max_size=len(data) - 1)
    with pytest.raises(exceptions.PayloadTooLarge) as e:
        storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    assert e.value.code == 413
    assert str(len(data) - 1) in e.value.message
    _assert_nothing_left(root)


def test_package_of_exactly_max_size_is_accepted(root):
    data = _zip()
    storage = _storage(root, max_size=len(data))
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    assert storage.read(PROJECT, FUNCTION, md5) == data


def test_failed_store_keeps_existing_packages_of_the_function(storage, root):
    data = _zip()
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    with pytest.raises(exceptions.InputError):
        storage.store(PROJECT, FUNCTION, io.BytesIO(b"garbage"), version=1)
    assert _files_under(root) == [os.path.join(PROJECT, FUNCTION, f"0_{md5}.zip")]
    assert storage.read(PROJECT, FUNCTION, md5) == data


def test_versions_are_distinct_files(storage, root):
    v0 = _zip({"main.py": "v = 0\n"})
    v1 = _zip({"main.py": "v = 1\n"})
    md5_0 = storage.store(PROJECT, FUNCTION, io.BytesIO(v0))
    md5_1 = storage.store(PROJECT, FUNCTION, io.BytesIO(v1), version=1)
    # The same bytes again under another version: still its own file.
    md5_2 = storage.store(PROJECT, FUNCTION, io.BytesIO(v0), version=2)
    assert md5_2 == md5_0
    assert storage.read(PROJECT, FUNCTION, md5_0) == v0
    assert storage.read(PROJECT, FUNCTION, md5_1, version=1) == v1
    assert storage.read(PROJECT, FUNCTION, md5_0, version=2) == v0
    assert len(_files_under(root)) == 3

    storage.delete(PROJECT, FUNCTION, md5_0, version=2)
    assert storage.read(PROJECT, FUNCTION, md5_0) == v0
    with pytest.raises(exceptions.NotFound):
        storage.open(PROJECT, FUNCTION, md5_0, version=2)


def test_projects_are_separate(storage):
    data = _zip()
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    with pytest.raises(exceptions.NotFound):
        storage.open("project-2", FUNCTION, md5)


def test_open_missing_is_not_found(storage):
    with pytest.raises(exceptions.NotFound) as e:
        storage.open(PROJECT, FUNCTION, _md5(b"x"), version=3)
    assert e.value.code == 404
    assert FUNCTION in e.value.message
    assert "version=3" in e.value.message


def test_open_with_wrong_md5_is_not_found(storage):
    storage.store(PROJECT, FUNCTION, io.BytesIO(_zip()))
    with pytest.raises(exceptions.NotFound):
        storage.read(PROJECT, FUNCTION, _md5(b"other"))


def test_delete_removes_package_and_empty_function_dir(storage, root):
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(_zip()))
    storage.delete(PROJECT, FUNCTION, md5)
    with pytest.raises(exceptions.NotFound):
        storage.open(PROJECT, FUNCTION, md5)
    _assert_nothing_left(root)


def test_delete_keeps_other_versions(storage, root):
    md5_0 = storage.store(PROJECT, FUNCTION, io.BytesIO(_zip({"a.py": "0"})))
    md5_1 = storage.store(PROJECT, FUNCTION, io.BytesIO(_zip({"a.py": "1"})), version=1)
    storage.delete(PROJECT, FUNCTION, md5_0)
    assert _files_under(root) == [os.path.join(PROJECT, FUNCTION, f"1_{md5_1}.zip")]


def test_delete_of_missing_is_fine(storage, root):
    storage.delete(PROJECT, FUNCTION, _md5(b"never stored"))
    data = _zip()
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    storage.delete(PROJECT, FUNCTION, md5, version=7)
    assert storage.read(PROJECT, FUNCTION, md5) == data


def test_delete_all_removes_every_version_of_one_function_only(storage, root):
    other = "0b8a3cb4-2c1e-4f07-9d3e-2d9c1f0e6b22"
    for version in range(3):
        storage.store(PROJECT, FUNCTION, io.BytesIO(_zip({"v.py": str(version)})), version=version)
    kept = storage.store(PROJECT, other, io.BytesIO(_zip()))
    storage.delete_all(PROJECT, FUNCTION)
    assert not os.path.exists(os.path.join(root, PROJECT, FUNCTION))
    assert _files_under(root) == [os.path.join(PROJECT, other, f"0_{kept}.zip")]
    # And again, when there is nothing left: not an error.
    storage.delete_all(PROJECT, FUNCTION)
    storage.delete_all("no-such-project", FUNCTION)


@pytest.mark.parametrize(
    ("package", "error"),
    [
        (zip_bomb(["a", "b"], 16 * 1024 * 1024), exceptions.PackageTooLarge),
        (_zip({"../../x.py": "x = 1\n"}), exceptions.InputError),
        (many_entries_zip(101), exceptions.InputError),
    ],
)
def test_a_package_breaking_the_rules_is_refused_and_leaves_nothing(storage, root, package, error):
    with pytest.raises(error):
        storage.store(PROJECT, FUNCTION, io.BytesIO(package))
    _assert_nothing_left(root)


def test_snapshot_copies_the_current_package(storage, root):
    data = _zip()
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(data))
    storage.snapshot(PROJECT, FUNCTION, md5, 1)
    assert storage.read(PROJECT, FUNCTION, md5, version=1) == data


def test_snapshot_refuses_a_package_stored_before_the_rules(storage, root):
    md5 = storage.store(PROJECT, FUNCTION, io.BytesIO(_zip()))
    current = os.path.join(root, PROJECT, FUNCTION, f"0_{md5}.zip")
    with open(current, "wb") as f:  # as an older release kept it
        f.write(zip_bomb(["a"], 8 * 1024 * 1024))
    with pytest.raises(exceptions.InputError, match="more than 100 to 1"):
        storage.snapshot(PROJECT, FUNCTION, md5, 1)
    assert _files_under(root) == [os.path.join(PROJECT, FUNCTION, f"0_{md5}.zip")]


def test_snapshot_of_a_missing_package_is_not_found(storage):
    with pytest.raises(exceptions.NotFound, match="version=0"):
        storage.snapshot(PROJECT, FUNCTION, _md5(b"gone"), 1)

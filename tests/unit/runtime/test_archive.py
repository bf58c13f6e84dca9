"""The runtime package as workers get it: standard library only, one zip application."""

import ast
import io
import subprocess
import sys
import zipfile

from qinling_lite.runtime import archive

# What a function may import when the runtime's libraries have it (--library-path).
LIBRARIES = {"keystoneauth1"}


def test_the_runtime_package_imports_only_the_standard_library_and_itself():
    for path in sorted(archive.PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        in_functions = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef)
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            allowed = sys.stdlib_module_names | (LIBRARIES if id(node) in in_functions else set())
            for name in names:
                assert name.partition(".")[0] in allowed, (path.name, name)


def test_the_archive_holds_every_module_of_the_package_and_is_reproducible():
    data = archive.build()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    modules = sorted(f"qinling_runtime/{p.name}" for p in archive.PACKAGE.glob("*.py"))
    assert names == [*(f"{m}{c}" for m in modules for c in ("", "c")), "__main__.py"]
    # Built again in other processes, it is the same (the runtime image builds its own),
    # whatever they interned before (one-character strings are shared by a process).
    for before in ("", "import sys; [sys.intern(c) for c in '[]:/? .'];"):
        rebuilt = subprocess.run(
            [
                sys.executable,
                "-c",
                f"{before}import sys; from qinling_lite.runtime import archive; "
                "sys.stdout.buffer.write(archive.build())",
            ],
            capture_output=True,
            check=True,
        ).stdout
        assert rebuilt == data


def _imported_from(target):
    """Where the code of the server module in the archive at ``target`` says it is from."""
    probe = "import qinling_runtime.server as s; print(s.main.__code__.co_filename)"
    return subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path[:0] = [{str(target)!r}]; {probe}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_workers_import_the_byte_code_and_compile_the_sources_when_it_is_not_theirs(tmp_path):
    target = tmp_path / "runtime.pyz"
    target.write_bytes(archive.build())
    assert _imported_from(target) == "qinling_runtime/server.py"

    # Byte code of another Python version (another magic number) is passed over.
    other = tmp_path / "other.pyz"
    with zipfile.ZipFile(target) as source, zipfile.ZipFile(other, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            copy.writestr(info, b"\0\0\r\n" + data[4:] if info.filename.endswith("c") else data)
    assert _imported_from(other) == f"{other}/qinling_runtime/server.py"


def test_the_written_archive_runs_isolated(tmp_path):
    target = tmp_path / "runtime.pyz"
    archive.main([str(target)])
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(target), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert "--listen-fd" in result.stdout
    assert "--egress-fd" in result.stdout
    assert "--library-path" in result.stdout
    assert result.stderr == ""

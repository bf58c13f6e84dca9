"""The runtime package as workers get it: standard library only, one zip application."""

import ast
import io
import subprocess
import sys
import zipfile

from qinling_lite.runtime import archive


def test_the_runtime_package_imports_only_the_standard_library_and_itself():
    for path in sorted(archive.PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.partition(".")[0] in sys.stdlib_module_names, (path.name, name)


def test_the_archive_holds_every_module_of_the_package_and_is_reproducible():
    data = archive.build()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    modules = sorted(f"qinling_runtime/{p.name}" for p in archive.PACKAGE.glob("*.py"))
    assert names == [*modules, "__main__.py"]
    assert archive.build() == data


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
    assert result.stderr == ""

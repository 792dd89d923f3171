"""The floors stay true: import-linter's layers contract (pyproject.toml) holds on the code,
and it fails on a back edge, here a copy of the code with one added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lakehouse.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]["root_packages"]


def lint_imports(code_root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache"], cwd=code_root,
                          env=env, capture_output=True, text=True, timeout=300)


def copy_of_the_code(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_code_keeps_its_floors():
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_the_contract_covers_every_python_package_of_the_project():
    packages = {path.parent.name for path in PROJECT_ROOT.glob("*/__init__.py")}
    assert packages == set(PACKAGES)


@pytest.mark.parametrize(("module", "added_import", "edge"), [
    ("lakehouse/settings.py", "from ops import demo", "lakehouse.settings -> ops.demo"),
    ("ml/anomalies.py", "from producer import events", "ml.anomalies -> producer.events"),
    ("orchestration/commands.py", "from lakehouse import settings",
     "orchestration.commands -> lakehouse.settings"),
], ids=["foundation imports an operation", "a stage imports another stage",
        "a DAG imports the project's code"])
def test_an_import_against_the_floors_breaks_it(tmp_path: Path, module: str, added_import: str,
                                                edge: str):
    root = copy_of_the_code(tmp_path)
    source = root / module
    source.write_text(source.read_text() + f"\n{added_import}  # noqa\n")
    result = lint_imports(root)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and edge in result.stdout

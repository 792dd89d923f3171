"""The floors stay true: import-linter's layers contract (pyproject.toml) holds on the code,
and it fails on a back edge, here a copy of the code with one added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

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
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_covers_every_python_package_of_the_project():
    packages = {path.parent.name for path in PROJECT_ROOT.glob("*/__init__.py")}
    assert packages == set(PACKAGES)


def test_a_back_edge_from_the_foundation_to_an_operation_breaks_it(tmp_path: Path):
    root = copy_of_the_code(tmp_path)
    settings = root / "lakehouse" / "settings.py"
    settings.write_text(settings.read_text() + "\nfrom ops import demo  # noqa\n")
    result = lint_imports(root)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "lakehouse.settings -> ops.demo" in result.stdout


def test_a_stage_importing_another_stage_breaks_it(tmp_path: Path):
    root = copy_of_the_code(tmp_path)
    anomalies = root / "ml" / "anomalies.py"
    anomalies.write_text(anomalies.read_text() + "\nfrom producer import events  # noqa\n")
    result = lint_imports(root)
    assert result.returncode == 1
    assert "ml.anomalies -> producer.events" in result.stdout

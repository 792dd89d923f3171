"""The class archive reaches its path whole or not at all: a JVM that maps a half-written
archive crashes (SIGBUS), so every Spark start after a failed build would."""

import re
from pathlib import Path

import pytest

from lakehouse.settings import Settings
from ops import class_archive

DUMP = re.compile(r"-XX:ArchiveClassesAtExit=(\S+)")


def settings_with_archive(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", jars_dir=tmp_path / "jars")
    settings.jars_dir.mkdir()
    settings.spark_class_archive.write_bytes(b"the archive of an earlier build")
    return settings


def test_a_build_replaces_the_archive_once_a_jvm_has_used_the_new_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings = settings_with_archive(tmp_path).model_copy(
        update={"catalog_uri": "postgresql://u:p@db:5432/iceberg"})
    runs: list[str] = []

    def fake_run(run_settings: Settings, option: str) -> None:
        runs.append(option)
        assert run_settings.spark_class_sharing is False  # the runs never map the old archive
        assert (run_settings.profile, run_settings.catalog_uri) == ("local", None)
        assert run_settings.home != settings.home  # a scratch catalog, not the user's
        if dump := DUMP.search(option):
            Path(dump.group(1)).write_bytes(b"new archive")

    monkeypatch.setattr(class_archive, "_run", fake_run)
    assert class_archive.build(settings) == settings.spark_class_archive
    assert settings.spark_class_archive.read_bytes() == b"new archive"
    assert "-Xshare:on" in runs[1]  # the check must map it, or fail
    assert sorted(p.name for p in settings.jars_dir.iterdir()) == ["spark-classes.jsa"]


def test_a_failed_check_leaves_the_earlier_archive_and_no_partial_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings = settings_with_archive(tmp_path)

    def fake_run(run_settings: Settings, option: str) -> None:
        if dump := DUMP.search(option):
            Path(dump.group(1)).write_bytes(b"trunc")
        else:
            raise RuntimeError("the Spark run with -Xshare:on exited 134")

    monkeypatch.setattr(class_archive, "_run", fake_run)
    with pytest.raises(RuntimeError, match="exited 134"):
        class_archive.build(settings)
    assert settings.spark_class_archive.read_bytes() == b"the archive of an earlier build"
    assert sorted(p.name for p in settings.jars_dir.iterdir()) == ["spark-classes.jsa"]

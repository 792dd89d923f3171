"""terraform/, checked statically (no AWS account, no provider download): every file parses,
checkov passes with every skip justified inline, modules are wired to what they declare, the
outputs feed the `aws` profile's variables, and the formatting is canonical when a terraform or
tofu binary is on PATH (none is built here: docs/aws.md says why)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from lakehouse.settings import DBT_PROJECT_DIR, PROJECT_ROOT

TERRAFORM = PROJECT_ROOT / "terraform"
TFVARS_EXAMPLE = TERRAFORM / "terraform.tfvars.example"
CHECKOV = PROJECT_ROOT / ".venv-tools" / "bin" / "checkov"
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))
MODULE_DIRS = sorted({path.parent for path in TF_FILES})


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals: '"aws"' -> 'aws'."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def attributes(body: dict[str, Any]) -> set[str]:
    """The names set in a block or file, without python-hcl2's own keys (__comments__, ...)."""
    return {name for name in body if not name.startswith("__")}


@cache
def parsed(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


def blocks(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Every `kind` block (variable, output, module) of one module, by its name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for block in parsed(path).get(kind, []):
            found.update({unquote(name): block[name] for name in attributes(block)})
    return found


def module_text(directory: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(directory.glob("*.tf")))


def test_root_and_modules_are_there():
    names = {path.relative_to(TERRAFORM).as_posix() for path in MODULE_DIRS}
    assert names == {
        ".", "modules/storage", "modules/catalog", "modules/athena", "modules/iam",
        "modules/emr_serverless", "modules/msk_serverless",
    }
    assert TFVARS_EXAMPLE.is_file()


@pytest.mark.parametrize(
    "path", [*TF_FILES, TFVARS_EXAMPLE], ids=lambda p: p.relative_to(TERRAFORM).as_posix())
def test_every_file_parses(path: Path):
    assert parsed(path)


def checkov_report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make .venv-tools/.installed` installs it "
                    "(`make test` does it first)")
    # --skip-download: checkov would otherwise ask its vendor's API for guidelines at every run.
    run = subprocess.run(
        [str(CHECKOV), "--directory", str(TERRAFORM), "--framework", "terraform",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert run.stdout.strip(), f"checkov printed no report (exit {run.returncode}): {run.stderr[-2000:]}"
    report = json.loads(run.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_passes_with_no_failed_checks():
    report = checkov_report()
    summary = report["summary"]
    failures = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]}): "
        f"{check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, "checkov failed checks:\n" + "\n".join(failures)
    assert summary["parsing_errors"] == 0
    # A run that scanned nothing would pass too: make sure the buckets, key, roles were seen.
    checked = {check["resource"].split(".")[-1].split("[")[0]
               for check in report["results"]["passed_checks"]}
    assert {"data", "access_logs", "lakehouse", "job"} <= checked
    skipped = {check["check_id"] for check in report["results"]["skipped_checks"]}
    assert skipped == set(inline_skips()), "every skip checkov honoured is one written inline"


def inline_skips() -> dict[str, list[str]]:
    """check id -> the reasons written beside `#checkov:skip=` in terraform/."""
    skips: dict[str, list[str]] = {}
    for path in TF_FILES:
        for line in path.read_text().splitlines():
            if "checkov:skip" not in line:
                continue
            match = re.fullmatch(r"\s*#checkov:skip=(CKV2?_[A-Z0-9]+_\d+):(.+)", line)
            assert match, f"{path.name}: malformed skip {line.strip()!r}"
            skips.setdefault(match[1], []).append(match[2].strip())
    return skips


def test_every_checkov_skip_says_why():
    skips = inline_skips()
    assert skips, "expected the justified skips (for example CKV_AWS_144, cross-region replication)"
    for check_id, reasons in skips.items():
        for reason in reasons:
            assert len(reason.split()) >= 6, f"{check_id}: give a real reason, not {reason!r}"


def test_provider_is_pinned_exactly():
    terraform = parsed(TERRAFORM / "versions.tf")["terraform"][0]
    aws = terraform["required_providers"][0]["aws"]
    assert unquote(aws["source"]) == "hashicorp/aws"
    assert re.fullmatch(r"\d+\.\d+\.\d+", unquote(aws["version"]))
    assert unquote(terraform["required_version"]).startswith(">=")


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=lambda p: p.relative_to(TERRAFORM).as_posix())
def test_every_variable_and_output_is_documented(directory: Path):
    for kind in ("variable", "output"):
        for name, body in blocks(directory, kind).items():
            assert unquote(body.get("description", "")).strip(), f"{kind} {name} has no description"
    for name, body in blocks(directory, "variable").items():
        assert "type" in body, f"variable {name} has no type"


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=lambda p: p.relative_to(TERRAFORM).as_posix())
def test_references_name_declared_things(directory: Path):
    """What `terraform validate` would catch first, without providers: every var.*, local.* and
    module.*.<output> a module uses is declared."""
    text = module_text(directory)
    declared_variables = set(blocks(directory, "variable"))
    assert set(re.findall(r"\bvar\.(\w+)", text)) <= declared_variables
    declared_locals = {name for path in directory.glob("*.tf")
                       for block in parsed(path).get("locals", []) for name in attributes(block)}
    assert set(re.findall(r"\blocal\.(\w+)", text)) <= declared_locals
    modules = blocks(directory, "module")
    for name, output in re.findall(r"\bmodule\.(\w+)(?:\[0\])?\.(\w+)", text):
        source = (directory / unquote(modules[name]["source"])).resolve()
        assert output in blocks(source, "output"), f"module.{name} has no output {output}"


def test_module_calls_match_the_modules_inputs():
    for name, call in blocks(TERRAFORM, "module").items():
        source = (TERRAFORM / unquote(call["source"])).resolve()
        inputs = blocks(source, "variable")
        passed = attributes(call) - {"source", "count", "for_each", "depends_on", "providers"}
        assert passed <= set(inputs), f"module {name}: no such inputs {passed - set(inputs)}"
        required = {var for var, body in inputs.items() if "default" not in body}
        assert required <= passed, f"module {name}: inputs not given {required - passed}"


def test_tfvars_example_sets_only_declared_variables():
    declared = blocks(TERRAFORM, "variable")
    assert attributes(parsed(TFVARS_EXAMPLE)) <= set(declared)


def env_example_defaults() -> dict[str, str]:
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.startswith("LAKEHOUSE_"))


def test_outputs_feed_every_variable_the_athena_target_reads():
    outputs = set(blocks(TERRAFORM, "output"))
    athena = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())[
        "purchases_lakehouse"]["outputs"]["athena"]
    athena_variables = set(re.findall(r"env_var\('(LAKEHOUSE_\w+)'", json.dumps(athena)))
    assert {"LAKEHOUSE_ATHENA_RESULTS_S3", "LAKEHOUSE_GOLD_S3", "LAKEHOUSE_AWS_REGION",
            "LAKEHOUSE_ATHENA_WORKGROUP"} <= athena_variables
    assert athena_variables <= outputs
    for name in outputs:
        assert name == name.lower() or re.fullmatch(r"LAKEHOUSE_[A-Z0-9_]+", name), name


def test_every_lakehouse_output_is_a_setting_of_the_aws_profile():
    from lakehouse.settings import Settings

    fields = {f"LAKEHOUSE_{name.upper()}" for name in Settings.model_fields}
    outputs = {name for name in blocks(TERRAFORM, "output") if name.startswith("LAKEHOUSE_")}
    assert outputs - fields == set()
    assert {"LAKEHOUSE_PROFILE", "LAKEHOUSE_SILVER_S3", "LAKEHOUSE_CHECKPOINTS_S3"} <= outputs


def test_defaults_agree_with_env_example():
    variables = blocks(TERRAFORM, "variable")
    env = env_example_defaults()
    assert unquote(variables["region"]["default"]) == env["LAKEHOUSE_AWS_REGION"]
    assert unquote(variables["athena_workgroup"]["default"]) == env["LAKEHOUSE_ATHENA_WORKGROUP"]
    assert unquote(variables["kafka_topic_prefix"]["default"]) == env["LAKEHOUSE_TOPIC_PREFIX"]


def fmt_binary() -> str | None:
    return shutil.which("tofu") or shutil.which("terraform")


@pytest.mark.skipif(fmt_binary() is None,
                    reason="no tofu or terraform on PATH (docs/aws.md says why none is built)")
def test_formatting_is_canonical():
    binary = fmt_binary()
    run = subprocess.run([binary, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, f"run `{Path(binary).name} fmt -recursive terraform`:\n{run.stdout}"
    # fmt skips a file named *.example: give it the example's text on stdin.
    run = subprocess.run([binary, "fmt", "-"], input=TFVARS_EXAMPLE.read_text(),
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0 and run.stdout == TFVARS_EXAMPLE.read_text(), run.stdout + run.stderr

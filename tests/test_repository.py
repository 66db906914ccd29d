"""The repository as readers meet it: CI workflow, licence, citation, contributor guide, the package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _check_schema(builtin: str, path: Path) -> subprocess.CompletedProcess:
    # check-jsonschema ships these schemas (pinned in requirements.txt): no network needed.
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", builtin, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_workflow_is_a_valid_github_workflow():
    result = _check_schema("vendor.github-workflows", WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps: 5\n", encoding="utf-8"
    )
    assert _check_schema("vendor.github-workflows", broken).returncode != 0


def test_the_workflow_runs_the_readme_commands_and_deploys_main():
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = flow[True]  # YAML 1.1 reads the key `on` as True
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    steps = flow["jobs"]["test-and-build"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    for command in (
        "bash scripts/test.sh",
        "bash scripts/build_book.sh",
        "bash scripts/portability.sh --ci",
    ):
        assert command in runs
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11" and python["with"]["cache"] == "pip"
    assert any(s.get("with", {}).get("path") == "_build/npm" for s in steps)
    assert any(
        s.get("uses", "").startswith("actions/upload-artifact")
        and s["with"]["path"] == "_build/html"
        for s in steps
    )
    deploy = flow["jobs"]["deploy"]
    assert "refs/heads/main" in deploy["if"] and deploy["steps"][0]["uses"].startswith(
        "actions/deploy-pages"
    )


def test_citation_file_is_valid_and_matches_the_book():
    result = _check_schema("vendor.citation-file-format", ROOT / "CITATION.cff")
    assert result.returncode == 0, result.stdout + result.stderr
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert cff["repository-code"] == config["repository"]["url"]  # one repository URL everywhere
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["version"] == project["version"] and cff["license"] == project["license"] == "MIT"
    assert project["urls"]["Repository"] == config["repository"]["url"]


def test_licence_says_what_covers_code_and_what_covers_text():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in text and "Permission is hereby granted" in text
    assert "CC BY 4.0" in text and "creativecommons.org/licenses/by/4.0" in text


def test_contributor_guide_points_to_the_appendix_chapter():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert (
        "chapters/07_appendix/contributing.md" in text
        and (ROOT / "chapters/07_appendix/contributing.md").exists()
    )


def test_binder_installs_the_pinned_requirements_and_nnlib_on_python_3_11():
    # repo2docker reads only .binder/ when it exists: the pinned requirements.txt (chained, so the pins
    # live in one file), Python 3.11 (the version CI and the bootstrap use), and nnlib installed as
    # scripts/bootstrap.sh installs it (postBuild runs from the repository root).
    binder = ROOT / ".binder"
    lines = (binder / "requirements.txt").read_text(encoding="utf-8").split()
    assert lines == ["-r", "../requirements.txt"] and (binder / "../requirements.txt").is_file()
    assert (binder / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.11"
    post_build = binder / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    subprocess.run(["bash", "-n", str(post_build)], check=True, timeout=30)
    install = re.compile(r"-m pip install (--quiet )?--no-deps -e \.\n")
    assert install.search(post_build.read_text(encoding="utf-8"))
    assert install.search((ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8"))


def test_tensorflow_is_an_extra_not_a_dependency():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any("tensorflow" in dep for dep in project["dependencies"])  # Colab keeps its own TF
    assert project["optional-dependencies"]["tf"] == ["tensorflow>=2.21,<2.22"]


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_imports(tmp_path):
    wheels = tmp_path / "wheels"
    had_build = (ROOT / "build").exists()
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "-w",
                str(wheels),
                str(ROOT),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        if not had_build:  # setuptools builds in the tree; leave the checkout as it was
            shutil.rmtree(ROOT / "build", ignore_errors=True)
    (wheel,) = wheels.glob("nnlib-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "nnlib/activations.py" in names and not any(
        n.startswith(("tools/", "tests/")) for n in names
    )
    assert any(n.endswith("licenses/LICENSE") for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        # --no-compile: no .pyc files written for NumPy, SciPy, ... (8 of the 13 s; imports still work)
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    code = (
        "import importlib.util, nnlib, nnlib.activations as a, numpy as np;"
        "print(nnlib.__version__, float(a.relu(np.float64([-1.0, 2.0])).sum()),"
        " importlib.util.find_spec('tensorflow') is None, nnlib.__file__)"
    )
    out = subprocess.run(
        [str(python), "-c", code],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    ).stdout.split()
    assert out[:3] == ["0.1.0", "2.0", "True"]  # installed, works, and did not pull TensorFlow
    assert str(venv) in out[3]  # imported from the venv, not from this checkout

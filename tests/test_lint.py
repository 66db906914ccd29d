"""Lint: `ruff check` and `ruff format --check` are clean (settings in pyproject.toml and
chapters/ruff.toml), the pre-commit configuration is valid, and its notebook hook refuses a notebook
with a code cell that was never executed."""

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args, cwd=ROOT):
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_ruff_check_is_clean():
    proc = run(BIN / "ruff", "check", ".")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_format_is_clean():
    proc = run(BIN / "ruff", "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_reads_the_notebooks():
    proc = run(BIN / "ruff", "check", "--show-files", ".")
    assert "12_multi_worker.ipynb" in proc.stdout and "nnlib/training.py" in proc.stdout


def test_pre_commit_config_is_valid():
    proc = run(BIN / "pre-commit", "validate-config", ".pre-commit-config.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_notebook_hook_refuses_an_unexecuted_cell(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("x")]
    )
    nb.cells[0].execution_count = 1
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    proc = run(sys.executable, "-m", "tools.notebooks", "check-executed", path)
    assert proc.returncode == 1 and "code cells [1] were never executed" in proc.stdout
    nb.cells[1].execution_count = 2
    nbformat.write(nb, path)
    assert run(sys.executable, "-m", "tools.notebooks", "check-executed", path).returncode == 0

"""Lint: `ruff check` and `ruff format --check` are clean (settings in pyproject.toml and
chapters/ruff.toml), the pre-commit configuration is valid, and its notebook hook refuses a notebook
with a code cell that was never executed; and no tracked text file contains a control character."""

import json
import re
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


# A control character in a text file is almost always an escape sequence gone wrong: "\b" or "\a"
# typed into a non-raw Python string where LaTeX's \big or \approx was meant (a backspace, a bell).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TEXT_SUFFIXES = {
    ".py",
    ".md",
    ".bib",
    ".yml",
    ".yaml",
    ".toml",
    ".cfg",
    ".ini",
    ".txt",
    ".sh",
    ".js",
    ".css",
    ".cff",
}


def control_characters(path: Path) -> list[str]:
    """``line: repr`` of each control character in a text file (in a notebook: in its cell sources)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts = [(f"cell {i}, ", "".join(cell["source"])) for i, cell in enumerate(cells)]
    else:
        texts = [("", path.read_text(encoding="utf-8"))]
    return [
        f"{where}line {text.count(chr(10), 0, m.start()) + 1}: {m.group()!r}"
        for where, text in texts
        for m in CONTROL.finditer(text)
    ]


def test_no_control_characters_in_tracked_text_files(tmp_path):
    files = run("git", "ls-files", "-z").stdout.split("\0")
    paths = [ROOT / f for f in files if f and Path(f).suffix in TEXT_SUFFIXES | {".ipynb"}]
    assert len(paths) > 100 and any(p.name == "losses.py" for p in paths)
    bad = {str(p.relative_to(ROOT)): found for p in paths if (found := control_characters(p))}
    assert not bad, f"control characters (an escape in a non-raw string?): {bad}"
    probe = tmp_path / "probe.py"
    probe.write_text('doc = ":math:`\\big(x\\big)`"\nbad = "\bx"\n', encoding="utf-8")
    assert control_characters(probe) == ["line 2: '\\x08'"]  # the check can fail

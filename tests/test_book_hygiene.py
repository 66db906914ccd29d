"""Book hygiene: every notebook is in the table of contents, stored executed, seeded and asserting.

nbval (run by the same ``pytest`` command) re-executes the notebooks and compares their outputs; these
tests make sure there *are* outputs to compare and that the book's conventions hold.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools.notebooks import toc_files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def test_there_are_notebooks():
    assert NOTEBOOKS, "chapters/ holds no notebooks"


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    missing = [i for i, p in zip(IDS, NOTEBOOKS) if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"


def test_every_toc_entry_exists():
    absent = [f for f in toc_files() if not any((ROOT / (f + ext)).exists() for ext in (".md", ".ipynb"))]
    assert not absent, f"_toc.yml entries with no .md/.ipynb file: {absent}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_executed(path: Path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    cells = code_cells(nb)
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, "a code cell was never executed: re-run `python -m tools.notebooks execute`"
    assert counts == list(range(1, len(cells) + 1)), f"not executed top to bottom in one kernel: {counts}"
    assert any(c["outputs"] for c in cells), "no stored outputs: strict nbval would check nothing"
    for cell in cells:
        for out in cell["outputs"]:
            assert out["output_type"] != "error", "an error output is stored"
            if out["output_type"] == "stream":
                assert out["name"] == "stdout", f"stderr output stored (warnings/log noise): {out['text'][:200]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_conventions(path: Path):
    nb = load(path)
    cells = code_cells(nb)
    first = "".join(cells[0]["source"])
    assert re.search(r"seed_everything\(", first), "the first code cell must call nnlib.repro.seed_everything"
    sources = ["".join(c["source"]) for c in cells]
    assert any(re.search(r"^\s*assert\b", s, re.M) for s in sources), "a chapter must assert its claims"
    ignored = sum(
        "NBVAL_IGNORE_OUTPUT" in s or "nbval-ignore-output" in c.get("metadata", {}).get("tags", [])
        for s, c in zip(sources, cells)
    )
    assert ignored <= max(1, len(cells) // 10), f"{ignored} cells skip output checks; make them deterministic"
    assert not any("NBVAL_SKIP" in s or "nbval-skip" in c.get("metadata", {}).get("tags", [])
                   for s, c in zip(sources, cells)), "cells must not be skipped by nbval"
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"learning goals", markdown, re.I), "a chapter opens with learning goals"
    assert re.search(r"^## Summary", markdown, re.M), "a chapter closes with a summary"
    assert re.search(r"^## Exercises", markdown, re.M), "a chapter has exercises"


def test_suite_is_strict():
    for name in ("pytest.ini", ".ci/run", "README.md", "scripts/test.sh"):
        path = ROOT / name
        if path.exists():
            assert "--nbval-lax" not in path.read_text(encoding="utf-8"), f"{name} must run strict --nbval"
    ini = (ROOT / "pytest.ini").read_text(encoding="utf-8")
    assert "--nbval\n" in ini or "--nbval " in ini


def test_nnlib_knows_nothing_of_the_book():
    # The library serves any reader's code; the book's files are known only to tools/.
    pattern = re.compile(r"_toc\.yml|chapters/|_build\b|reference_environment")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "nnlib").glob("*.py"))
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not hits, f"nnlib refers to the book's files (move that code to tools/): {hits}"

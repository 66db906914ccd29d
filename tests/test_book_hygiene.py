"""Book hygiene: every notebook is in the table of contents, stored executed, seeded and asserting;
its figures have alt text and text readable at the column width; its solutions hide code and output.

nbval (run by the same ``pytest`` command) re-executes the notebooks and compares their outputs; these
tests make sure there *are* outputs to compare and that the book's conventions hold.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from nnlib.plots import COLUMN_PX, MIN_TEXT_PX, figure_text_px
from tools.colab import is_colab_cell
from tools.notebooks import toc_files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(
    p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def figure_cells(nb: dict) -> list[tuple[int, dict]]:
    """(code cell number, cell) of every code cell with a PNG output."""
    return [
        (n, c)
        for n, c in enumerate(code_cells(nb))
        if any("image/png" in o.get("data", {}) for o in c["outputs"])
    ]


def where(n: int, cell: dict) -> str:
    return f"code cell {n} ({''.join(cell['source']).strip().splitlines()[0][:60]!r})"


def test_there_are_notebooks():
    assert NOTEBOOKS, "chapters/ holds no notebooks"


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    missing = [
        i for i, p in zip(IDS, NOTEBOOKS) if str(p.relative_to(ROOT).with_suffix("")) not in listed
    ]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"


def test_every_toc_entry_exists():
    absent = [
        f for f in toc_files() if not any((ROOT / (f + ext)).exists() for ext in (".md", ".ipynb"))
    ]
    assert not absent, f"_toc.yml entries with no .md/.ipynb file: {absent}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_executed(path: Path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    cells = code_cells(nb)
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, (
        "a code cell was never executed: re-run `python -m tools.notebooks execute`"
    )
    assert counts == list(range(1, len(cells) + 1)), (
        f"not executed top to bottom in one kernel: {counts}"
    )
    assert any(c["outputs"] for c in cells), "no stored outputs: strict nbval would check nothing"
    for cell in cells:
        for out in cell["outputs"]:
            assert out["output_type"] != "error", "an error output is stored"
            if out["output_type"] == "stream":
                assert out["name"] == "stdout", (
                    f"stderr output stored (warnings/log noise): {out['text'][:200]!r}"
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_conventions(path: Path):
    nb = load(path)
    cells = [
        c for c in code_cells(nb) if not is_colab_cell(c)
    ]  # tests/test_colab.py checks the Colab cell
    first = "".join(cells[0]["source"])
    assert re.search(r"seed_everything\(", first), (
        "the first code cell must call nnlib.repro.seed_everything"
    )
    sources = ["".join(c["source"]) for c in cells]
    assert any(re.search(r"^\s*assert\b", s, re.M) for s in sources), (
        "a chapter must assert its claims"
    )
    ignored = sum(
        "NBVAL_IGNORE_OUTPUT" in s or "nbval-ignore-output" in c.get("metadata", {}).get("tags", [])
        for s, c in zip(sources, cells)
    )
    assert ignored <= max(1, len(cells) // 10), (
        f"{ignored} cells skip output checks; make them deterministic"
    )
    assert not any(
        "NBVAL_SKIP" in s or "nbval-skip" in c.get("metadata", {}).get("tags", [])
        for s, c in zip(sources, cells)
    ), "cells must not be skipped by nbval"
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"learning goals", markdown, re.I), "a chapter opens with learning goals"
    assert re.search(r"^## Summary", markdown, re.M), "a chapter closes with a summary"
    assert re.search(r"^## Exercises", markdown, re.M), "a chapter has exercises"


def test_suite_is_strict():
    for name in ("pytest.ini", ".ci/run", "README.md", "scripts/test.sh"):
        path = ROOT / name
        if path.exists():
            assert "--nbval-lax" not in path.read_text(encoding="utf-8"), (
                f"{name} must run strict --nbval"
            )
    ini = (ROOT / "pytest.ini").read_text(encoding="utf-8")
    assert "--nbval\n" in ini or "--nbval " in ini


def test_nnlib_knows_nothing_of_the_book():
    # The library serves any reader's code; the book's files are known only to tools/.
    pattern = re.compile(r"_toc\.yml|chapters/|_build\b|reference_environment")
    hits = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sorted((ROOT / "nnlib").glob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, f"nnlib refers to the book's files (move that code to tools/): {hits}"


# Alt text that says nothing: a file name, or only a word like "figure" or "plot".
UNINFORMATIVE_ALT = re.compile(
    r"\.(png|jpe?g|svg)\b|^\W*(figure|plot|image|chart|graph|output)\W*$", re.I
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_has_alt_text(path: Path):
    """A figure's alt text (cell metadata ``mystnb.image.alt``, which MyST-NB puts on the <img>) says
    what the figure shows, for readers who cannot see it."""
    missing = []
    for n, cell in figure_cells(load(path)):
        alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
        if len(alt.split()) < 8 or UNINFORMATIVE_ALT.search(alt):
            missing.append(f"{where(n, cell)}: alt={alt!r}")
    assert not missing, (
        "figures without a meaningful alt text (at least 8 words; set the cell metadata "
        '{"mystnb": {"image": {"alt": "..."}}}): ' + "; ".join(missing)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figure_text_is_readable_in_the_column(path: Path):
    """Every stored figure's smallest text is >= 10 CSS px in the 676-px page column.

    nnlib.plots.use_book_style (applied by seed_everything) records the smallest font size and
    the dpi in each PNG; the PNG's width gives the scale at which the column shows it.
    """
    problems = []
    for n, cell in figure_cells(load(path)):
        for out in cell["outputs"]:
            if "image/png" not in out.get("data", {}):
                continue
            try:
                px = figure_text_px(base64.b64decode(out["data"]["image/png"]), COLUMN_PX)
            except ValueError:
                problems.append(
                    f"{where(n, cell)}: not drawn with the book style (re-execute the notebook)"
                )
                continue
            if px is not None and px < MIN_TEXT_PX:
                problems.append(
                    f"{where(n, cell)}: smallest text {px:.1f} px (make the figure narrower "
                    "or the text larger)"
                )
    assert not problems, (
        f"figure text below {MIN_TEXT_PX:g} CSS px at {COLUMN_PX} px: " + "; ".join(problems)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercise_solutions_hide_code_and_output(path: Path):
    """A solution (a code cell starting ``# Solution``) is one closed toggle over its code *and* its
    output (tag ``hide-cell``), so the answer is not printed under the question."""
    wrong = []
    for n, cell in enumerate(code_cells(load(path))):
        tags = cell.get("metadata", {}).get("tags", [])
        if "".join(cell["source"]).lstrip().startswith("# Solution") and (
            "hide-cell" not in tags or "hide-input" in tags or "hide-output" in tags
        ):
            wrong.append(f"{where(n, cell)}: tags {tags}")
    assert not wrong, (
        'solution cells must carry the tag "hide-cell" (and not hide-input): ' + "; ".join(wrong)
    )

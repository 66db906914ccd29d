"""tools.check: the number-by-number comparator, the report, likely causes, and one real check run."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nnlib.distribute import WORKER_PYTHON_VARIABLE, python_command
from tools import check
from tools.check import (
    DIFFERENT,
    IDENTICAL,
    IGNORED,
    WITHIN,
    compare_cell,
    compare_notebooks,
    compare_text,
)
from tools.environment import likely_causes

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "01_background" / "01_ai_ml_dl.ipynb"


def stdout(text: str):
    return new_output("stream", name="stdout", text=text)


def cell(source: str, *outputs, **kwargs):
    return new_code_cell(source, execution_count=1, outputs=list(outputs), **kwargs)


# ----------------------------------------------------------------------------- compare_text


def test_identical_text_is_identical():
    result = compare_text("loss = 0.4831\n", "loss = 0.4831\n")
    assert result.status == IDENTICAL and result.max_rel_diff == 0.0


@pytest.mark.parametrize(
    "expected, got",
    [
        ("loss = 0.472", "loss = 0.483"),  # a real change, not a rounding flip
        ("lr 9.1e-04", "lr 9.8e-04"),  # seven units in the last digit
        ("accuracy 0.95", "accuracy -0.95"),  # a sign
        ("step  0: loss =   29074.5", "step  0: loss =   39074.5"),
    ],
)
def test_a_digit_changed_beyond_the_tolerance_is_different(expected, got):
    result = compare_text(expected, got, rtol=1e-5)
    assert result.status == DIFFERENT
    assert (result.expected, result.got) == (expected, got)


@pytest.mark.parametrize(
    "expected, got, rel",
    [
        ("loss = 0.483", "loss = 0.484", 0.001 / 0.484),  # rounding flip in the last digit
        ("lr 9.1e-04", "lr 9.2e-04", 0.1e-04 / 9.2e-04),  # one unit of 0.1e-04
        ("w = 1.0000001", "w = 1.0000003", 2e-7 / 1.0000003),  # relative change below rtol
    ],
)
def test_a_change_within_the_tolerance_reports_the_relative_difference(expected, got, rel):
    result = compare_text(expected, got, rtol=1e-5)
    assert result.status == WITHIN
    assert result.max_rel_diff == pytest.approx(rel)


@pytest.mark.parametrize(
    "expected, got",
    [
        (
            "predicted: [0, 1, 2, 3]",
            "predicted: [0, 1, 2, 4]",
        ),  # a label is exact, not a rounding flip
        ("442 patients", "443 patients"),
        ("68,865 parameters", "68,866 parameters"),
    ],
)
def test_integers_are_exact(expected, got):
    assert compare_text(expected, got, rtol=0.5).status == DIFFERENT


def test_the_largest_relative_difference_is_reported():
    result = compare_text("a 0.483 b 10.5 c 7", "a 0.484 b 10.4 c 7", rtol=1e-5)
    assert result.status == WITHIN
    assert result.max_rel_diff == pytest.approx(0.1 / 10.5)


def test_rtol_decides_beyond_the_last_digit():
    assert compare_text("x 100.0", "x 100.5", rtol=1e-5).status == DIFFERENT
    assert compare_text("x 100.0", "x 100.5", rtol=1e-2).status == WITHIN


@pytest.mark.parametrize(
    "expected, got",
    [
        ("train loss 0.483", "test loss 0.483"),  # a word changed
        ("values: 1.5 2.5", "values: 1.5 2.5 3.5"),  # one number more
        ("Python 3.11.7", "Python 3.11.8"),  # a version is text, not a number
        ("layer dense_3", "layer dense_4"),  # so is a name with digits
    ],
)
def test_changed_text_or_number_count_is_different(expected, got):
    assert compare_text(expected, got).status == DIFFERENT


def test_only_the_differing_line_is_shown():
    result = compare_text("a 1\nb 2.0\nc 3\n", "a 1\nb 2.7\nc 3\n")
    assert (result.expected, result.got) == ("b 2.0", "b 2.7")
    long = compare_text("x " * 300 + "1.0", "x " * 300 + "2.0")
    assert len(long.expected) <= 200 and long.expected.endswith("…")


def test_the_repository_sanitizers_apply_to_both_sides():
    assert compare_text("fit took 12 ms\n", "fit took 30 ms\n").status == IDENTICAL
    assert (
        compare_text("<object at 0x7f00aa11bb22>", "<object at 0x7f00cc33dd44>").status == IDENTICAL
    )
    assert compare_text("fit took 12 ms\n", "fit took 30 ms\n", sanitizers=()).status == DIFFERENT


def test_tokenize_splits_numbers_from_text():
    assert check.tokenize("loss: -1.5e-03, acc 97 nan") == (
        ["loss: ", ", acc ", " ", ""],
        ["-1.5e-03", "97", "nan"],
    )
    assert check.tokenize("float32 v3.11.7 3.11.7 information") == (
        ["float32 v3.11.7 3.11.7 information"],
        [],
    )


@pytest.mark.parametrize("rtol", [-0.1, 1.0, 2])
def test_rtol_must_be_in_0_1(rtol):
    with pytest.raises(ValueError, match=rf"`rtol` must be >= 0 and < 1\. Received: rtol={rtol}$"):
        compare_text("1", "1", rtol=rtol)


# ----------------------------------------------------------------------------- cells and notebooks


def test_an_extra_stderr_output_is_different():
    stored = cell("fit()", stdout("loss 0.5\n"))
    run = cell(
        "fit()", stdout("loss 0.5\n"), new_output("stream", name="stderr", text="W0000 slow op\n")
    )
    result = compare_cell(stored, run, rtol=1e-5)
    assert result.status == DIFFERENT
    assert result.reason == "new stderr output: W0000 slow op"
    assert result.got == "W0000 slow op"


def test_a_vanished_output_is_different():
    result = compare_cell(cell("x", stdout("1\n")), cell("x"), rtol=1e-5)
    assert (result.status, result.reason) == (DIFFERENT, "stdout output vanished")


def test_streams_are_merged_and_images_ignored_as_nbval_does():
    figure = {"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": "AAAA"}
    stored = cell("plot()", stdout("a 1\nb 2\n"), new_output("display_data", data=figure))
    run = cell(
        "plot()",
        stdout("a 1\n"),
        stdout("b 2\n"),
        new_output("display_data", data=dict(figure, **{"image/png": "BBBB"})),
    )
    assert compare_cell(stored, run, rtol=1e-5).status == IDENTICAL


@pytest.mark.parametrize(
    "marked",
    [
        cell("# NBVAL_IGNORE_OUTPUT\nprint(time.time())", stdout("1.0\n")),
        cell("print(time.time())", stdout("1.0\n"), metadata={"tags": ["nbval-ignore-output"]}),
        cell("#NBVAL_SKIP\nprint(time.time())", stdout("1.0\n")),
        cell("print(time.time())", stdout("1.0\n"), metadata={"tags": ["nbval-skip"]}),
    ],
)
def test_an_ignored_cell_is_counted_as_ignored(marked):
    result = compare_cell(marked, cell(marked.source, stdout("2.0\n")), rtol=1e-5)
    assert result.status == IGNORED


def test_a_marker_inside_a_code_line_is_not_a_marker():
    # nbval only honours a comment line that is exactly the marker
    stored = cell("print(t)  # NBVAL_IGNORE_OUTPUT", stdout("1.0\n"))
    assert compare_cell(stored, cell(stored.source, stdout("2.0\n")), rtol=1e-5).status == DIFFERENT


def test_compare_notebooks_classifies_cells_and_names_them_as_nbval_does():
    stored = new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            cell("seed_everything(0)"),
            new_markdown_cell("text between"),
            cell("print(loss)", stdout("loss 0.483\n")),
            cell("print(acc)\nprint(n)", stdout("accuracy 0.912\nn 100\n")),
            cell("# NBVAL_IGNORE_OUTPUT\nprint(t)", stdout("12.5\n")),
        ]
    )
    run = nbformat.from_dict(json.loads(json.dumps(stored)))
    run.cells[3].outputs = [stdout("loss 0.484\n")]
    run.cells[4].outputs = [stdout("accuracy 0.871\nn 100\n")]
    run.cells[5].outputs = [stdout("99.1\n")]
    results = compare_notebooks(stored, run, rtol=1e-5, notebook="chapters/x/01.ipynb")
    assert [r.status for r in results] == [IDENTICAL, WITHIN, DIFFERENT, IGNORED]
    assert [r.index for r in results] == [0, 1, 2, 3]
    different = results[2]
    assert (different.name, different.notebook, different.first_line) == (
        "Cell 2",
        "chapters/x/01.ipynb",
        "print(acc)",
    )
    assert (different.expected, different.got) == ("accuracy 0.912", "accuracy 0.871")
    assert different.reason == "stdout output differs"


def _result(stored_text: str, got_text: str) -> check.NotebookResult:
    stored = new_notebook(cells=[cell("print(loss)", stdout(stored_text))])
    run = new_notebook(cells=[cell("print(loss)", stdout(got_text))])
    cells = compare_notebooks(stored, run, 1e-5, notebook="chapters/x/01.ipynb")
    return check.NotebookResult("chapters/x/01.ipynb", cells, 1.5)


def test_the_markdown_report_names_the_cell_and_shows_expected_and_got():
    env = {
        "cpu": "AMD EPYC",
        "cpu_vendor": "AMD",
        "onednn": True,
        "gpus": [],
        "packages": {"numpy": "2.4.6"},
    }
    blocks = check.build_report([_result("loss 0.472\n", "loss 0.483\n")], env, env, 1e-5)
    markdown = check.render_markdown(blocks)
    assert "## chapters/x" in markdown and "| 01.ipynb | 0 | 0 | 1 | 0 |" in markdown
    assert "### chapters/x/01.ipynb Cell 0" in markdown
    assert re.search(
        r"Expected:\n\n```text\nloss 0\.472\n```\n\nGot:\n\n```text\nloss 0\.483\n```", markdown
    )
    assert "FAIL: 1 of 1 compared cells differ" in markdown.splitlines()[-1]
    html = check.render_html(markdown)
    assert "<title>" in html and "<table>" in html and "loss 0.483" in html
    text = check.render_text(blocks)
    assert "chapters/x/01.ipynb Cell 0" in text and text.rstrip().splitlines()[-1].startswith(
        "FAIL"
    )


def test_a_passing_report_says_pass():
    env = {"cpu": "AMD EPYC", "packages": {}}
    blocks = check.build_report([_result("loss 0.483\n", "loss 0.484\n")], env, env, 1e-5)
    assert (
        check.render_text(blocks).rstrip().splitlines()[-1].startswith("PASS: all 1 compared cells")
    )


# ----------------------------------------------------------------------------- likely causes

REFERENCE = {
    "python": "3.11.7",
    "cpu": "AMD EPYC",
    "cpu_vendor": "AMD",
    "isa": ["avx2", "avx512f"],
    "cpu_count": 2,
    "onednn": True,
    "gpus": [],
    "tensorflow_built_with_cuda": False,
    "blas": "openblas 0.3.30",
    "packages": {"tensorflow-cpu": "2.21.0", "numpy": "2.4.6"},
    "env": {},
}


def test_identical_reports_give_no_cause():
    assert likely_causes(dict(REFERENCE), dict(REFERENCE)) == []


def test_onednn_off_is_named():
    causes = likely_causes(dict(REFERENCE, onednn=False), REFERENCE)
    assert len(causes) == 1 and "oneDNN" in causes[0] and "off here" in causes[0]


def test_a_gpu_is_named_first():
    mine = dict(
        REFERENCE,
        gpus=["NVIDIA H100 80GB HBM3 (compute capability 9.0)"],
        cpu="Intel Xeon",
        cpu_vendor="Intel",
        cpu_count=16,
    )
    causes = likely_causes(mine, REFERENCE)
    assert "GPU" in causes[0] and "NVIDIA H100" in causes[0]
    assert len(causes) >= 3


# ----------------------------------------------------------------------------- end to end


def _run_check(notebook: Path, report_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    python = python_command()  # the suite's: the check process is forked with TF imported
    for name in (
        "PYTEST_CURRENT_TEST",
        "PYTEST_XDIST_WORKER",
        WORKER_PYTHON_VARIABLE,
    ):  # the kernel (a fresh one, as a reader's) should see what a reader's sees
        env.pop(name, None)
    return subprocess.run(
        [*python, "-m", "tools.check", str(notebook), "--report-dir", str(report_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _tamper(nb: dict) -> int:
    """Change the first printed loss beyond the tolerance; returns the code-cell index (nbval's Cell N)."""
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for index, code_cell in enumerate(code_cells):
        for out in code_cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            match = re.search(r"loss =\s+(\d)\d*\.\d+", text)
            if out.get("output_type") == "stream" and match:
                digit = str((int(match.group(1)) + 1) % 10 or 1)
                out["text"] = text[: match.start(1)] + digit + text[match.end(1) :]
                return index
    raise AssertionError("no printed loss found to tamper with")


@pytest.mark.slow
def test_check_passes_a_real_chapter_and_names_a_tampered_cell(tmp_path: Path):
    copy = tmp_path / CHAPTER.name  # the chapter reads no relative files, so it runs from anywhere
    copy.write_text(CHAPTER.read_text(encoding="utf-8"), encoding="utf-8")
    proc = _run_check(copy, tmp_path / "clean")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "clean" / "report.md").is_file() and (
        tmp_path / "clean" / "report.html"
    ).is_file()
    assert (
        json.loads((tmp_path / "clean" / "report.json").read_text(encoding="utf-8"))["passed"]
        is True
    )
    assert proc.stdout.rstrip().splitlines()[-1].startswith("PASS")

    nb = json.loads(copy.read_text(encoding="utf-8"))
    index = _tamper(nb)
    copy.write_text(json.dumps(nb), encoding="utf-8")
    proc = _run_check(copy, tmp_path / "tampered")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{copy.name} Cell {index}" in proc.stdout, proc.stdout[-3000:]
    assert f"Cell {index}" in (tmp_path / "tampered" / "report.md").read_text(encoding="utf-8")
    assert proc.stdout.rstrip().splitlines()[-1].startswith("FAIL: 1 of")


# ----------------------------------------------------------------------------- command line and progress


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--rtol", "1.5", str(CHAPTER)], "`rtol` must be >= 0 and < 1. Received: rtol=1.5"),
        (["--jobs", "0", str(CHAPTER)], "`jobs` must be an integer >= 1. Received: jobs=0"),
        (["no/such.ipynb"], "`paths` must name notebooks or folders"),
    ],
)
def test_usage_errors_exit_2_before_running_anything(argv, message, capsys):
    assert check.main(argv) == 2
    assert message in capsys.readouterr().err


def test_progress_rewrites_one_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = check.Progress(29, stream)
    progress.update("chapters/03_algorithms/05_optimizers.ipynb", "9.4 s  ok")
    progress.update("chapters/03_algorithms/06_lr_schedules.ipynb", "8.1 s  ok")
    progress.close()
    text = stream.getvalue()
    assert text.startswith(
        "\r[#-------------------]  1/29  chapters/03_algorithms/05_optimizers.ipynb  9.4 s"
    )
    assert text.count("\n") == 1 and text.count("\r") == 2
    plain = io.StringIO()
    check.Progress(2, plain).update("a.ipynb", "1.0 s  ok")
    assert plain.getvalue() == "[##########----------] 1/2  a.ipynb  1.0 s  ok\n"

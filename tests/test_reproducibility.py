"""The Reproducibility page: the timing plugin's bookkeeping and the page generator."""

from __future__ import annotations

import json

import pytest

from tests._timing_plugin import merge, summarize
from tools import reproducibility as repro_page

RECORDS = [
    ("chapters/a/01_x.ipynb::Cell 0", "setup", "passed", 2.0),  # kernel start
    ("chapters/a/01_x.ipynb::Cell 0", "call", "passed", 0.5),
    ("chapters/a/01_x.ipynb::Cell 0", "teardown", "passed", 0.0),
    ("chapters/a/01_x.ipynb::Cell 1", "setup", "passed", 0.0),
    ("chapters/a/01_x.ipynb::Cell 1", "call", "failed", 0.25),
    ("tests/test_y.py::test_one", "setup", "skipped", 0.125),
]


def test_summarize_adds_every_phase_per_file():
    files = summarize(RECORDS)
    assert files["chapters/a/01_x.ipynb"] == {"seconds": 2.75, "tests": 2, "outcome": "failed"}
    assert files["tests/test_y.py"] == {"seconds": 0.12, "tests": 1, "outcome": "skipped"}


def test_merge_keeps_files_that_were_not_run():
    old = {
        "notebooks": {"chapters/b/02.ipynb": {"seconds": 9.0, "tests": 3, "outcome": "passed"}},
        "test_files": {"tests/test_y.py": {"seconds": 5.0, "tests": 4, "outcome": "passed"}},
    }
    run = {"finished": "2026-01-02 03:04:05 +0000"}
    new = merge(old, summarize(RECORDS), run)
    assert list(new["notebooks"]) == ["chapters/a/01_x.ipynb", "chapters/b/02.ipynb"]
    assert new["notebooks"]["chapters/b/02.ipynb"]["seconds"] == 9.0
    assert new["test_files"]["tests/test_y.py"]["tests"] == 1  # replaced by this run
    assert new["notebooks"]["chapters/a/01_x.ipynb"]["recorded"] == run["finished"]
    assert new["last_run"] is run and "last_full_run" not in new
    full = merge(new, {}, {"finished": "later"}, full=True)
    assert full["last_full_run"]["finished"] == "later"
    assert merge(full, {}, {"finished": "partial"})["last_full_run"]["finished"] == "later"


def test_load_timings_names_the_command_when_missing(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"run `bash scripts/test.sh` first\. Received: path="
    ):
        repro_page.load_timings(tmp_path / "none.json")


def test_render_tables(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n    - file: chapters/a/01_x\n",
        encoding="utf-8",
    )
    nb = tmp_path / "chapters" / "a" / "01_x.ipynb"
    nb.parent.mkdir(parents=True)
    nb.write_text(
        json.dumps({"cells": [{"cell_type": "markdown", "source": ["# 1.1 Title X\n", "text"]}]}),
        encoding="utf-8",
    )
    (nb.parent / "extra.ipynb").write_text(json.dumps({"cells": []}), encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_y.py").write_text("", encoding="utf-8")
    (tmp_path / "package-lock.json").write_text(
        json.dumps({"packages": {"node_modules/mathjax": {"version": "3.2.2"}}}), encoding="utf-8"
    )
    timings = {
        "notebooks": {
            "chapters/a/01_x.ipynb": {
                "seconds": 2.75,
                "tests": 2,
                "outcome": "passed",
                "recorded": "2026-01-02 x",
            },
            "chapters/a/extra.ipynb": {"seconds": 1.0, "tests": 1, "outcome": "passed"},
            "chapters/a/gone.ipynb": {"seconds": 9.0, "tests": 9, "outcome": "passed"},
        },
        "test_files": {
            "tests/test_y.py": {"seconds": 0.5, "tests": 4, "outcome": "passed"},
            "tests/test_removed.py": {"seconds": 7.0, "tests": 7, "outcome": "passed"},
        },
        "last_full_run": {
            "finished": "2026-01-02 03:04:05",
            "tests": 7,
            "files": 3,
            "wall_seconds": 3.0,
            "workers": 2,
            "exit_status": 0,
        },
    }
    text = repro_page.render(
        timings,
        {"cpu": "Test CPU", "op_determinism": "False", "tensor_float_32": "True"},
        {"numpy": "9.9"},
        root=tmp_path,
    )
    assert text.startswith("# Reproducibility\n")
    assert "| 1.1 Title X<br>`chapters/a/01_x.ipynb` | 2 | 2.8 | passed | 2026-01-02 |" in text
    assert "| `chapters/a/extra.ipynb` | 1 | 1.0 | passed |  |" in text  # not in the toc: path only
    # files timed once but since deleted are not listed (nor counted in the total)
    assert "gone.ipynb" not in text and "test_removed.py" not in text
    assert "| **total** | 3 | **3.8** | | |" in text
    assert "| `tests/test_y.py` | 4 | 0.5 | passed |" in text
    assert "| numpy | 9.9 |" in text and "| MathJax (npm, bundled into the HTML) | 3.2.2 |" in text
    assert (
        "| cpu | Test CPU |" in text
        and "op_determinism" not in text
        and "tensor_float_32" not in text
    )
    assert "7 tests in 3 files, 3.0 s wall-clock with 2 worker(s), exit status 0" in text
    del timings["last_full_run"]
    assert "No run of the whole suite is recorded yet" in repro_page.render(
        timings, {}, {}, root=tmp_path
    )


def test_package_versions_skips_missing():
    versions = repro_page.package_versions(("pytest", "no-such-distribution-xyz"))
    assert list(versions) == ["pytest"] and versions["pytest"][0].isdigit()


def test_render_reference_environment_and_portability_matrix(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n", encoding="utf-8")
    reference = {
        "cpu": "Test CPU",
        "cpu_vendor": "AMD",
        "cpu_count": 2,
        "isa": ["avx2", "avx512f"],
        "onednn": True,
        "gpus": [],
        "blas": "openblas 0.3 (Haswell, 2 threads)",
        "python": "3.11.7",
        "packages": {"tensorflow-cpu": "2.21.0"},
        "env": {},
    }
    portability = {
        "configurations": [
            {
                "name": "onednn-flip",
                "env": {"TF_ENABLE_ONEDNN_OPTS": "0"},
                "why": "oneDNN off",
                "returncode": 0,
                "counts": {"passed": 464},
                "seconds": 116.4,
                "finished": "2026-11-28 09:00:00 +0000",
            },
            {
                "name": "perturb",
                "env": {"NNLIB_PERTURB": "1"},
                "why": "one ulp",
                "returncode": 1,
                "counts": {"passed": 460, "failed": 4},
                "seconds": 120.0,
                "finished": "2026-11-28 09:02:00 +0000",
            },
        ]
    }
    text = repro_page.render(
        {}, {}, {}, root=tmp_path, reference=reference, portability=portability
    )
    assert "## Reference environment" in text and "| CPU | Test CPU (AMD), 2 threads |" in text
    assert "| TensorFlow oneDNN operations | on |" in text and "| GPU | none (CPU only) |" in text
    assert (
        "| onednn-flip | `TF_ENABLE_ONEDNN_OPTS=0` | oneDNN off | passed (464 passed, 0 failed) | 116 | "
        "2026-11-28 09:00 |"
    ) in text
    assert (
        "| perturb | `NNLIB_PERTURB=1` | one ulp | **failed** (460 passed, 4 failed) | 120 |"
        in text
    )
    assert "**GPU:** not checked yet" in text
    empty = repro_page.render({}, {}, {}, root=tmp_path)
    assert "## Reference environment" not in empty and "The matrix has not been run" in empty

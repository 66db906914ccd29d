"""Write the appendix page *Reproducibility* from the last test run (serves the Appendix).

Usage (from the repository root, after the tests)::

    bash scripts/test.sh                       # records _build/test-timings.json
    .venv/bin/python -m tools.reproducibility  # writes chapters/07_appendix/reproducibility.md
    bash scripts/build_book.sh

The page lists, per notebook, how long strict nbval took to re-execute and check it, the test files'
times, the versions of the packages the book depends on, and the machine (from
:func:`nnlib.repro.environment_report`). The page is committed, so the book builds without running
the tests first; regenerate it when notebooks or pinned versions change.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tools import environment
from tools.notebooks import toc_files

__all__ = ["PACKAGES", "load_timings", "load_portability", "package_versions", "render", "main"]

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = ROOT / "_build" / "test-timings.json"
PORTABILITY = ROOT / "_build" / "portability.json"
PAGE = ROOT / "chapters" / "07_appendix" / "reproducibility.md"

#: Distributions whose versions the page reports, in this order (missing ones are left out).
PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "jupyter-book",
    "sphinx",
    "myst-nb",
    "sphinx-book-theme",
    "nbval",
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "selenium",
)


def load_timings(path: str | os.PathLike = TIMINGS) -> dict:
    """The timings that the test suite's plugin (``tests/_timing_plugin.py``) recorded.

    Raises:
        FileNotFoundError: when no test run has recorded timings yet.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"`path` must be the timings file that a test run writes; run `bash scripts/test.sh` first. "
            f"Received: path={str(path)!r}"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """``{distribution: version}`` for the installed ones among ``names`` (the page's list by default)."""
    return environment.package_versions(names)


def _mathjax_version(root: Path) -> str | None:
    try:
        lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
        return lock["packages"]["node_modules/mathjax"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def _memory_gib() -> str | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return None


def _notebook_title(path: Path) -> str | None:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def load_portability(path: str | os.PathLike = PORTABILITY) -> dict:
    """What the last portability-matrix runs recorded (``{}`` if it never ran here)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _reference_section(reference: dict) -> list[str]:
    """The reference environment: the machine whose runs produced the stored outputs."""
    if not reference:
        return []
    packages = reference.get("packages", {})
    rows = {
        "CPU": f"{reference.get('cpu')} ({reference.get('cpu_vendor')}), {reference.get('cpu_count')} threads",
        "instruction-set extensions": " ".join(reference.get("isa") or []) or "none listed",
        "TensorFlow oneDNN operations": {True: "on", False: "off"}.get(
            reference.get("onednn"), "unknown"
        ),
        "GPU": ", ".join(reference.get("gpus") or []) or "none (CPU only)",
        "NumPy's BLAS": reference.get("blas") or "unknown",
        "Python": reference.get("python"),
        "packages": ", ".join(f"{k} {v}" for k, v in packages.items()),
        "rounding-related variables set": ", ".join(
            f"{k}={v}" for k, v in reference.get("env", {}).items()
        )
        or "none",
    }
    lines = [
        "## Reference environment",
        "",
        "The stored outputs were recorded on this machine (`tools/reference_environment.json`).",
        "`bash scripts/check_machine.sh` compares your machine with it and names the likely cause of any",
        "difference (see [Running the book](running.md)).",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in rows.items()]
    return lines + [""]


def _portability_section(portability: dict) -> list[str]:
    configs = portability.get("configurations", [])
    lines = [
        "## Portability matrix",
        "",
        "Stored outputs must come out the same on any reader's machine, not only on the reference one.",
        "`bash scripts/portability.sh` re-runs strict nbval over every chapter under settings that change",
        "floating-point rounding but not the math. The last runs:",
        "",
    ]
    if not configs:
        return lines + [
            "(The matrix has not been run on the machine that generated this page.)",
            "",
        ]
    lines += [
        "| configuration | sets | what it stands for | result | seconds | run |",
        "|---|---|---|---|---:|---|",
    ]
    for c in configs:
        counts = c.get("counts", {})
        result = (
            "passed" if c.get("returncode") == 0 else "**failed**"
        ) + f" ({counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed)"
        env = " ".join(f"`{k}={v}`" for k, v in c.get("env", {}).items())
        lines.append(
            f"| {c['name']} | {env} | {c.get('why', '')} | {result} | {c.get('seconds', 0):.0f} | "
            f"{c.get('finished', '')[:16]} |"
        )
    gpu_note = (
        "**GPU:** not checked yet. No machine with an NVIDIA GPU was at hand when this page was "
        "generated; a reader with one installs `tensorflow[and-cuda]==2.21.0` and runs "
        "`bash scripts/check_machine.sh`, which reports the GPU and classifies every output."
    )
    return lines + ["", gpu_note, ""]


def render(
    timings: dict,
    environment: dict,
    versions: dict[str, str],
    *,
    root: Path = ROOT,
    reference: dict | None = None,
    portability: dict | None = None,
) -> str:
    """The page's MyST Markdown.

    Args:
        timings: the content of ``_build/test-timings.json`` (see :func:`load_timings`).
        environment: :func:`nnlib.repro.environment_report` (or any ``dict`` of strings).
        versions: :func:`package_versions`.
        root: the repository root (for ``_toc.yml`` and the notebooks' titles).
        reference: :func:`tools.environment.load_reference` (the machine that recorded the outputs).
        portability: :func:`load_portability` (the portability matrix's last runs).

    Returns:
        Markdown text. Notebooks listed in ``_toc.yml`` show their title above their path.
    """
    run = timings.get("last_full_run")
    # the timings file keeps every file it has ever timed: list only those that still exist
    notebooks = {p: e for p, e in timings.get("notebooks", {}).items() if (root / p).exists()}
    test_files = {p: e for p, e in timings.get("test_files", {}).items() if (root / p).exists()}
    in_toc = set(toc_files(root))
    lines = [
        "# Reproducibility",
        "",
        "<!-- Generated by `python -m tools.reproducibility` from _build/test-timings.json: do not edit. -->",
        "",
        "Every number in this book is re-computed by the test suite: `bash scripts/test.sh` re-executes",
        "each notebook in a new kernel and compares every stored output (strict nbval). Its kernels, and",
        "the training workers that tests and Chapter 4.12 start, are forked from a process that has",
        "already imported TensorFlow (README: *Warm kernels*); the portability matrix runs every notebook",
        "again in fresh kernels and fresh workers, as a reader's Jupyter and Python start them.",
        "This page is generated from the last such run, so you can compare your machine with the one the",
        "book was checked on. To regenerate it after a test run:",
        "",
        "```bash",
        "bash scripts/test.sh                       # writes _build/test-timings.json",
        "bash scripts/portability.sh                # writes _build/portability.json",
        ".venv/bin/python -m tools.reproducibility  # rewrites this page",
        "bash scripts/build_book.sh",
        "```",
        "",
        *_reference_section(reference or {}),
        *_portability_section(portability or {}),
        "## The last full test run",
        "",
        (
            f"Finished {run.get('finished', 'unknown')}: {run.get('tests', '?')} tests in {run.get('files', '?')} "
            f"files, {run.get('wall_seconds', '?')} s wall-clock with {run.get('workers', '?')} worker(s), "
            f"exit status {run.get('exit_status', '?')} (0 means every test passed)."
        )
        if run
        else (
            "No run of the whole suite is recorded yet; the tables below combine the latest partial runs "
            "(see each row's date)."
        ),
        "",
        "## Execution time per notebook",
        "",
        "Seconds for nbval to start a kernel, run every cell and compare its outputs (two notebooks run",
        "at a time, so the sum is more than the wall-clock time).",
        "",
        "| notebook | cells | seconds | result | recorded |",
        "|---|---:|---:|---|---|",
    ]
    total = 0.0
    for path, entry in notebooks.items():
        source = root / path
        doc = path[: -len(".ipynb")]
        title = _notebook_title(source) if source.exists() and doc in in_toc else None
        # No links: a renamed notebook must not break the build of this committed page.
        name = f"{title}<br>`{path}`" if title else f"`{path}`"
        total += entry["seconds"]
        lines.append(
            f"| {name} | {entry['tests']} | {entry['seconds']:.1f} | {entry['outcome']} | "
            f"{entry.get('recorded', '')[:10]} |"
        )
    if not notebooks:
        lines.append("| (no notebook in the last runs) | | | | |")
    lines += [
        f"| **total** | {sum(e['tests'] for e in notebooks.values())} | **{total:.1f}** | | |",
        "",
        "## Unit and book tests",
        "",
        "| test file | tests | seconds | result |",
        "|---|---:|---:|---|",
    ]
    for path, entry in test_files.items():
        lines.append(
            f"| `{path}` | {entry['tests']} | {entry['seconds']:.1f} | {entry['outcome']} |"
        )
    lines += ["", "## Software", "", "| package | version |", "|---|---|"]
    for name, version in versions.items():
        lines.append(f"| {name} | {version} |")
    mathjax = _mathjax_version(root)
    if mathjax:
        lines.append(f"| MathJax (npm, bundled into the HTML) | {mathjax} |")
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    # op_determinism and tensor_float_32 describe the generating process (seed_everything sets
    # both in every notebook), not the test run: leave them out.
    process = ("op_determinism", "tensor_float_32")
    hardware = {k: v for k, v in environment.items() if k not in process}
    memory = _memory_gib()
    if memory:
        hardware["memory"] = memory
    for key, value in hardware.items():
        lines.append(f"| {key} | {value} |")
    lines += [
        "",
        "Numbers printed by the notebooks are exact by construction, printed with margin, or checks",
        "against a stated band, and the portability matrix above tests that they hold under other",
        "rounding. Timings and speed-ups in the chapters will differ on your machine; the checked",
        "outputs should not.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.reproducibility", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--timings", default=str(TIMINGS), help="the JSON a test run wrote")
    parser.add_argument("--output", default=str(PAGE), help="the Markdown page to write")
    parser.add_argument(
        "--portability", default=str(PORTABILITY), help="the JSON the portability matrix wrote"
    )
    args = parser.parse_args(argv)
    from nnlib.repro import environment_report

    output = Path(args.output).resolve()
    from tools.environment import load_reference

    text = render(
        load_timings(args.timings),
        environment_report(),
        package_versions(),
        reference=load_reference(),
        portability=load_portability(args.portability),
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Re-execute the book's notebooks in place, exactly the way the test suite runs them.

Usage (from the repository root)::

    python -m tools.notebooks execute                     # every chapters/**/*.ipynb
    python -m tools.notebooks execute chapters/01_background/01_ai_ml_dl.ipynb
    python -m tools.notebooks list                        # what would be executed

Each notebook runs top to bottom in a fresh kernel of the *current* Python environment (the kernel
nbval uses with ``--nbval-current-env``), with the notebook's folder as working directory,
``PYTHONHASHSEED=0`` as in ``conftest.py``, and the environment a reader's Jupyter has (TensorFlow's
start-up log lines are kept out by ``nnlib.repro.import_tensorflow``, not by a variable set here).
Outputs are written back into the file, so what is committed is what ``pytest`` will compare against.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

__all__ = ["toc_files", "find_notebooks", "run_notebook", "execute_notebook", "main"]

ROOT = Path(__file__).resolve().parent.parent


def toc_files(root: Path = ROOT) -> list[str]:
    """Every ``file:`` entry of the book's ``_toc.yml`` (the root page first), in reading order, no suffix."""
    import yaml

    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


def find_notebooks(paths: list[str] | None = None) -> list[Path]:
    """Notebooks named by ``paths`` (files or folders); all of ``chapters/`` when empty."""
    paths = paths or [str(ROOT / "chapters")]
    found: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found += sorted(
                Path(q) for q in glob.glob(str(path / "**" / "*.ipynb"), recursive=True)
            )
        elif path.suffix == ".ipynb" and path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"`paths` must name notebooks or folders. Received: {p!r}")
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def run_notebook(path: Path, timeout: int = 600) -> tuple[nbformat.NotebookNode, float]:
    """Execute a copy of one notebook in memory; the file itself is not touched.

    The copy runs top to bottom in a fresh ``python3`` kernel of the current environment, with the
    notebook's folder as working directory and ``PYTHONHASHSEED=0`` (unless already set).

    Args:
        path: the ``.ipynb`` file.
        timeout: seconds allowed per cell.

    Returns:
        The executed notebook and the wall time in seconds.

    Raises:
        Whatever nbclient raises (``CellExecutionError``, ``CellTimeoutError``, ``DeadKernelError``...),
        with two attributes added: ``notebook``, the partly executed copy, and ``cell_index``, the
        index in ``notebook.cells`` of the cell that was running (``None`` when none had started).
    """
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("PYTHONHASHSEED", "0")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    started: list[int] = []
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no timestamps in the stored file: diffs show only real changes
        resources={"metadata": {"path": str(Path(path).parent)}},
        on_cell_start=lambda cell, cell_index: started.append(cell_index),
    )
    start = time.perf_counter()
    try:
        # The kernel process's own stderr (ipykernel's "running over TCP without encryption" notice)
        # is not part of the notebook; cell output still reaches it through ipykernel's capture.
        client.execute(stderr=subprocess.DEVNULL)
    except Exception as exc:
        exc.notebook, exc.cell_index = nb, (started[-1] if started else None)
        raise
    return nb, time.perf_counter() - start


def execute_notebook(path: Path, timeout: int = 600) -> float:
    """Execute one notebook in place; returns the wall time in seconds."""
    import nbformat

    # No TF_CPP_MIN_LOG_LEVEL override: the kernel sees what a reader's Jupyter sees, so a TensorFlow
    # log line that nnlib fails to keep out (nnlib.repro.import_tensorflow) shows up here, and the
    # hygiene tests (no stored stderr) catch it instead of a reader.
    nb, elapsed = run_notebook(path, timeout=timeout)
    nbformat.write(nb, path)
    return elapsed


def unexecuted_cells(path: Path) -> list[int]:
    """Indices (0-based, among code cells) of code cells with source but no execution count."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return [i for i, c in enumerate(code) if c.source.strip() and c.get("execution_count") is None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.notebooks", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="execute notebooks in place (default: all of chapters/)")
    run.add_argument("paths", nargs="*")
    run.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    ls = sub.add_parser("list", help="list the notebooks that would be executed")
    ls.add_argument("paths", nargs="*")
    chk = sub.add_parser(
        "check-executed", help="fail if a notebook has a code cell that was never executed"
    )
    chk.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "check-executed":  # the pre-commit hook: stored outputs must come from a run
        bad = {p: unexecuted_cells(Path(p)) for p in args.paths}
        for p, cells in bad.items():
            if cells:
                print(
                    f"{p}: code cells {cells} were never executed; run "
                    f"`python -m tools.notebooks execute {p}` and commit the result"
                )
        return 1 if any(bad.values()) else 0

    notebooks = find_notebooks(args.paths)
    if args.command == "list":
        print("\n".join(str(p) for p in notebooks))
        return 0
    failed = 0
    for nb_path in notebooks:
        try:
            seconds = execute_notebook(nb_path, timeout=args.timeout)
            print(f"ok    {seconds:6.1f} s  {nb_path}")
        except Exception as exc:  # report every failing notebook, then fail
            failed += 1
            print(f"FAIL           {nb_path}: {type(exc).__name__}: {str(exc)[-2000:]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

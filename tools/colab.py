"""Run the chapters on Google Colab: one repository URL, one install cell in every chapter notebook.

The book's repository URL is set in one place, ``_config.yml`` (``repository.url`` and
``repository.branch``). Jupyter Book builds each chapter's Colab launch button from it
(``launch_buttons.colab_url``/github/<owner>/<repo>/blob/<branch>/<notebook>). A notebook opened that
way runs on a fresh Colab machine, which has TensorFlow but not ``nnlib``; so every chapter notebook
starts with the same code cell, written from ``_config.yml`` by this tool, that installs ``nnlib`` from
that repository when -- and only when -- it runs on Colab. Elsewhere the cell does nothing and
prints nothing. It installs ``nnlib`` without the ``[tf]`` extra, so Colab's own TensorFlow is used
and never replaced. The book's HTML does not show the cell (tag ``remove-cell``).

Usage (from the repository root)::

    python -m tools.colab sync                       # write/update the cell in every chapter notebook
    python -m tools.colab sync chapters/02_concepts  # ... or in the notebooks named
    python -m tools.colab check                      # list notebooks whose first cell is missing or stale
    python -m tools.colab cell                       # print the cell

A notebook that ``sync`` changed must be re-executed (``python -m tools.notebooks execute``): the
cell shifts every execution count by one. ``tests/test_colab.py`` checks that every chapter notebook
starts with exactly this cell and that it names the repository the launch buttons use.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

__all__ = [
    "MARKER",
    "TAG",
    "colab_config",
    "colab_cell",
    "colab_url",
    "is_colab_cell",
    "sync_notebook",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent

#: The first line of the install cell: how ``sync`` recognizes a cell it wrote before.
MARKER = "# Colab only: install nnlib"
#: The tag that keeps the cell out of the book's HTML and PDF.
TAG = "remove-cell"

_GITHUB = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+?)/?$")

CELL_TEMPLATE = """{marker}, the book's library, from the book's
# repository; elsewhere this cell does nothing. Colab's own TensorFlow is kept
# (no [tf] extra). Written by `python -m tools.colab sync` from _config.yml.
import sys

if "google.colab" in sys.modules:
    import subprocess

    requirement = "{requirement}"  # fmt: skip
    pip = [sys.executable, "-m", "pip", "install", "--quiet", requirement]
    subprocess.run(pip, check=True)"""


def colab_config(root: Path = ROOT) -> dict[str, str]:
    """The repository and launch settings of ``_config.yml``: ``url``, ``branch``, ``colab_url``, ``path_to_book``.

    Raises:
        ValueError: the repository URL is not a GitHub repository (Colab opens notebooks only from
            GitHub), or the Colab launch button is not configured.
    """
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    repository = config.get("repository") or {}
    url, branch = repository.get("url", ""), repository.get("branch", "main")
    if not _GITHUB.match(str(url)):
        raise ValueError(
            "`repository.url` in _config.yml must be a GitHub repository, https://github.com/<owner>/<repo> "
            f"(Colab opens notebooks from GitHub). Received: repository.url={url!r}"
        )
    colab = (config.get("launch_buttons") or {}).get("colab_url", "")
    if not str(colab).startswith("https://colab.research.google.com"):
        raise ValueError(
            "`launch_buttons.colab_url` in _config.yml must be https://colab.research.google.com. "
            f"Received: launch_buttons.colab_url={colab!r}"
        )
    return {
        "url": str(url).rstrip("/"),
        "branch": str(branch),
        "colab_url": str(colab).rstrip("/"),
        "path_to_book": str(repository.get("path_to_book") or "").strip("/"),
    }


def colab_cell(url: str, branch: str = "main") -> str:
    """The source of the install cell for the repository ``url`` at ``branch``."""
    if not _GITHUB.match(url):
        raise ValueError(f"`url` must be https://github.com/<owner>/<repo>. Received: url={url!r}")
    if not re.fullmatch(r"[\w./-]+", branch):
        raise ValueError(f"`branch` must be a git branch name. Received: branch={branch!r}")
    requirement = f"nnlib @ git+{url.rstrip('/')}@{branch}"
    return CELL_TEMPLATE.format(marker=MARKER, requirement=requirement)


def colab_url(notebook: Path, root: Path = ROOT) -> str:
    """The address the book's Colab launch button gives ``notebook`` (a path inside ``root``)."""
    config = colab_config(root)
    owner_repo = _GITHUB.match(config["url"]).group(1, 2)
    path = Path(notebook).resolve().relative_to(Path(root).resolve()).as_posix()
    path = f"{config['path_to_book']}/{path}" if config["path_to_book"] else path
    return f"{config['colab_url']}/github/{owner_repo[0]}/{owner_repo[1]}/blob/{config['branch']}/{path}"


def is_colab_cell(cell: dict) -> bool:
    """Whether a notebook cell is the install cell (by its first line)."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    return cell.get("cell_type") == "code" and source.startswith(MARKER)


def sync_notebook(path: Path, source: str) -> bool:
    """Make ``source`` the first code cell of the notebook at ``path``; return whether it changed.

    A first code cell written before (see :data:`MARKER`) is updated in place; otherwise a new cell
    is inserted before the first code cell. The file is written only when something changed.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    if first < len(nb.cells) and is_colab_cell(nb.cells[first]):
        cell = nb.cells[first]
        tags = cell.metadata.get("tags", [])
        if cell.source == source and TAG in tags:
            return False
        cell.source = source
        cell.metadata["tags"] = tags + [TAG] if TAG not in tags else tags
    else:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG]})
        nb.cells.insert(first, cell)
    nbformat.write(nb, path)
    return True


def _notebooks(paths: list[str]) -> list[Path]:
    from tools.notebooks import find_notebooks

    return find_notebooks(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.colab", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("sync", "write/update the install cell"),
        ("check", "list notebooks that need `sync`"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("paths", nargs="*", help="notebooks or folders (default: chapters/)")
    sub.add_parser("cell", help="print the install cell")
    args = parser.parse_args(argv)
    config = colab_config()
    source = colab_cell(config["url"], config["branch"])
    if args.command == "cell":
        print(source)
        return 0
    stale = []
    for path in _notebooks(args.paths):
        rel = path.resolve().relative_to(ROOT)
        if args.command == "sync":
            if sync_notebook(path, source):
                print(f"updated {rel} (re-execute it: python -m tools.notebooks execute {rel})")
        else:
            import nbformat

            cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
            if not cells or cells[0].source != source:
                stale.append(str(rel))
    if args.command == "check":
        for rel in stale:
            print(f"needs sync: {rel}")
        print(
            f"{len(stale)} notebook(s) need `python -m tools.colab sync`"
            if stale
            else "every notebook is in sync"
        )
        return 1 if stale else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Print the whole book to one PDF with headless Chromium (no LaTeX needed).

Usage (``bash scripts/build_pdf.sh`` builds the single-page HTML first, then calls this)::

    python -m tools.pdf          # _build/singlehtml/intro.html -> _build/pdf/book.pdf (+ _build/html/book.pdf)

Chromium loads the single-page build from disk, runs the local MathJax to typeset every formula
(``--virtual-time-budget`` lets the page's scripts finish before printing), and prints A4 pages
without browser headers. The sections keep the book's numbering (1.1, 3.5.2, ...), figures are the
PNGs stored in the notebooks, and ``_static/print.css`` wraps long code lines instead of cutting them.
The PDF is copied next to the HTML book, whose landing page links to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "SINGLE",
    "PDF",
    "find_chromium",
    "print_pdf",
    "pdf_pages_text",
    "pdf_image_count",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent
SINGLE = ROOT / "_build" / "singlehtml" / "intro.html"
PDF = ROOT / "_build" / "pdf" / "book.pdf"
HTML_COPY = ROOT / "_build" / "html" / "book.pdf"


def find_chromium() -> str | None:
    """The Chromium binary (``$CHROMIUM`` first), or None."""
    return os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )


def print_pdf(
    page: Path = SINGLE,
    output: Path = PDF,
    *,
    chromium: str | None = None,
    budget_ms: int = 120_000,
) -> Path:
    """Print one HTML page to a PDF file with headless Chromium; returns ``output``.

    Raises:
        FileNotFoundError: when ``page`` does not exist or no Chromium is installed.
        RuntimeError: when Chromium fails or writes no PDF.
    """
    page, output = Path(page), Path(output)
    if not page.exists():
        raise FileNotFoundError(
            f"`page` must be a built HTML page; run `bash scripts/build_pdf.sh`. Received: page={str(page)!r}"
        )
    chromium = chromium or find_chromium()
    if not chromium:
        raise FileNotFoundError(
            "No Chromium found: install Debian's `chromium` (or set CHROMIUM=/path/to/chromium)."
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # offline: nothing may load from the web
        "--run-all-compositor-stages-before-draw",
        f"--virtual-time-budget={budget_ms}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={output}",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not output.exists() or output.stat().st_size == 0:
        raise RuntimeError(
            f"Chromium wrote no PDF (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-2000:]}"
        )
    return output


def pdf_pages_text(path: Path = PDF) -> list[str]:
    """The text of every page of a PDF (pypdf), cached next to it.

    Extracting 600 pages takes pypdf about 20 s, and the build (below) and the PDF tests both need
    the text, so the first call stores it in ``<name>.pages.json`` with the PDF's SHA-256; a later
    call returns it only if the PDF still has that hash, and extracts again otherwise.
    """
    from pypdf import PdfReader

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cache = path.with_suffix(".pages.json")
    if cache.exists():
        stored = json.loads(cache.read_text(encoding="utf-8"))
        if stored.get("sha256") == digest:
            return stored["pages"]
    pages = [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    cache.write_text(json.dumps({"sha256": digest, "pages": pages}), encoding="utf-8")
    return pages


def pdf_image_count(path: Path = PDF) -> int:
    """How many images the pages of a PDF draw: image XObjects in each page's resources.

    Counted from the PDF's object tables without decoding a pixel (pypdf's ``page.images`` decodes
    every image and takes about 40 times longer). An image nested in a form XObject is not counted,
    so the count can only be too low, never too high.
    """
    from pypdf import PdfReader

    count = 0
    for page in PdfReader(str(path)).pages:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        if xobjects is None:
            continue
        for xobject in xobjects.get_object().values():
            count += xobject.get_object().get("/Subtype") == "/Image"
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pdf", description=__doc__.split("\n")[0])
    parser.add_argument("--page", default=str(SINGLE), help="the single-page HTML build to print")
    parser.add_argument("--output", default=str(PDF))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    output = print_pdf(Path(args.page), Path(args.output))
    if HTML_COPY.parent.exists():
        shutil.copyfile(output, HTML_COPY)  # the landing page links to book.pdf
    pages = len(pdf_pages_text(output))
    print(
        f"pdf: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}: {pages} pages, "
        f"{output.stat().st_size / 2**20:.1f} MiB, {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers of tests/test_browser.py: a fresh build, a local HTTP server and a headless Chromium.

Nothing here is a test. ``test_browser.py`` uses one server and one browser for the whole module
(pytest-xdist's ``--dist loadscope`` keeps a module on one worker).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
# Written last by every Sphinx HTML build: its mtime is the build's time.
BUILD_STAMP = HTML / "searchindex.js"

# Flags for a closed network: without the background-networking ones Chromium keeps trying to
# reach Google services and floods the log with refused connections.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1280,1000",
    # Offline for real: every host name except the local server's fails to resolve, so a page
    # that needed a CDN would show a console error (net::ERR_NAME_NOT_RESOLVED) and fail the test.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def book_sources() -> list[Path]:
    """Every file whose change changes the HTML: configuration, pages, bibliography, assets."""
    files = [ROOT / n for n in ("_config.yml", "_toc.yml", "references.bib", "package-lock.json")]
    files += ROOT.glob("*.md")
    files += ROOT.glob("benchmarks/*.md")  # included by the appendix page Benchmarks
    for folder in ("chapters", "_static"):
        files += (
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and ".ipynb_checkpoints" not in p.parts
        )
    return [p for p in files if p.exists() and p.name != "README.md"]


def build_is_stale() -> str | None:
    """Why the book must be (re)built, or None when _build/html is newer than every source."""
    if not BUILD_STAMP.exists() or not (HTML / "mathjax" / "tex-chtml.js").exists():
        return "no complete build in _build/html"
    built = BUILD_STAMP.stat().st_mtime
    newer = [p for p in book_sources() if p.stat().st_mtime > built]
    if newer:
        return f"{len(newer)} source file(s) changed since the last build, e.g. {newer[0].relative_to(ROOT)}"
    return None


def _run_script(name: str, timeout: int) -> None:
    """Run one of the project's scripts/*.sh; raise with the end of its output if it fails."""
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"scripts/{name} failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}"
        )


def build_book() -> None:
    """Build with the project's build command (jupyter-book build --all -W -n --keep-going)."""
    _run_script("build_book.sh", timeout=900)


PDF = ROOT / "_build" / "pdf" / "book.pdf"


def pdf_is_stale() -> str | None:
    """Why the PDF must be (re)built, or None when it is newer than every book source."""
    if not PDF.exists() or not (HTML / "book.pdf").exists():
        return "no PDF in _build/pdf and _build/html"
    built = PDF.stat().st_mtime
    newer = [p for p in book_sources() if p.stat().st_mtime > built]
    return f"{newer[0].relative_to(ROOT)} changed since the PDF was printed" if newer else None


def build_pdf() -> None:
    """Build the PDF with the project's command (scripts/build_pdf.sh, which builds the HTML too)."""
    _run_script("build_pdf.sh", timeout=1200)


def html_pages() -> list[str]:
    """Site-relative paths of every HTML page of the build (assets folders excluded)."""
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        rel = path.relative_to(HTML)
        if rel.parts[0].startswith("_") or rel.parts[0] == "mathjax":
            continue
        pages.append(rel.as_posix())
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class BookServer:
    """``http.server`` on 127.0.0.1 and a free port, serving _build/html from a daemon thread."""

    def __init__(self, directory: Path = HTML) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> BookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def find_browser() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, or a string saying what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the Python package selenium is not installed (requirements.txt pins it)"
    chromium = os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver:
        return (
            "Chromium and chromedriver are not installed "
            "(Debian: apt-get install chromium chromium-driver; .ci/run does this)"
        )
    return chromium, driver


def start_chromium(chromium: str, chromedriver: str, profile_dir: Path):
    """A headless Chromium under Selenium that keeps the browser console log."""
    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager: never phone home
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile_dir}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver

"""pytest plugin: record how long each notebook (and each test file) took, for the Reproducibility page.

Registered by the root ``conftest.py`` (``pytest_plugins``). After every run it merges the run's
per-file durations into ``_build/test-timings.json``: a file tested in this run replaces its old
entry, files not run keep theirs, so a partial run (``bash scripts/test.sh tests/test_x.py``) does
not erase the others. ``python -m tools.reproducibility`` turns that file into the book's page.

A file's time is the sum of its tests' setup + call + teardown durations; for a notebook that
includes starting its kernel (nbval does that in the first cell's setup).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = ROOT / "_build" / "test-timings.json"


def summarize(records: list[tuple[str, str, str, float]]) -> dict[str, dict]:
    """Per-file totals from ``(nodeid, when, outcome, seconds)`` records of test reports.

    Returns ``{file: {"seconds", "tests", "outcome"}}``; ``outcome`` is "failed" if any phase failed,
    "skipped" if every test was skipped, else "passed".
    """
    files: dict[str, dict] = {}
    for nodeid, when, outcome, seconds in records:
        path = nodeid.split("::", 1)[0]
        entry = files.setdefault(
            path, {"seconds": 0.0, "tests": 0, "passed": 0, "failed": 0, "skipped": 0}
        )
        entry["seconds"] += seconds
        if when == "call" or (when == "setup" and outcome != "passed"):
            entry["tests"] += 1
            entry[outcome if outcome in ("passed", "failed", "skipped") else "failed"] += 1
        elif outcome == "failed":  # a teardown error
            entry["failed"] += 1
    out = {}
    for path, e in sorted(files.items()):
        status = (
            "failed" if e["failed"] else ("skipped" if e["skipped"] == e["tests"] else "passed")
        )
        out[path] = {"seconds": round(e["seconds"], 2), "tests": e["tests"], "outcome": status}
    return out


def merge(old: dict, files: dict[str, dict], run: dict, *, full: bool = False) -> dict:
    """The timings file after a run: this run's files replace their old entries.

    ``full`` marks a run that tested every notebook; it becomes ``last_full_run`` (a partial run
    only updates ``last_run``).
    """
    recorded = run["finished"]
    merged = {
        "notebooks": dict(old.get("notebooks", {})),
        "test_files": dict(old.get("test_files", {})),
    }
    if old.get("last_full_run"):
        merged["last_full_run"] = old["last_full_run"]
    if full:
        merged["last_full_run"] = run
    for path, entry in files.items():
        kind = "notebooks" if path.endswith(".ipynb") else "test_files"
        merged[kind][path] = dict(entry, recorded=recorded)
    for kind in ("notebooks", "test_files"):
        merged[kind] = dict(sorted(merged[kind].items()))
    merged["last_run"] = run
    return merged


class _Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, str, float]] = []
        self.start = time.time()

    def pytest_runtest_logreport(self, report) -> None:
        self.records.append((report.nodeid, report.when, report.outcome, float(report.duration)))

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if not self.records:
            return
        files = summarize(self.records)
        run = {
            "finished": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "wall_seconds": round(time.time() - self.start, 1),
            "exit_status": int(exitstatus),
            "workers": int(getattr(session.config.option, "numprocesses", 0) or 0) or 1,
            "files": len(files),
            "tests": sum(f["tests"] for f in files.values()),
            "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        }
        try:
            old = json.loads(TIMINGS.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        # A run of the whole suite: no paths given (pytest used `testpaths`) and no -k/-m filter.
        config = session.config
        full = (
            config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and not config.option.keyword
            and not config.option.markexpr
        )
        TIMINGS.parent.mkdir(parents=True, exist_ok=True)
        tmp = TIMINGS.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps(merge(old, files, run, full=full), indent=1) + "\n", encoding="utf-8"
        )
        tmp.replace(TIMINGS)


def pytest_configure(config) -> None:
    # Under pytest-xdist only the controller writes (it receives every worker's reports).
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    config.pluginmanager.register(_Recorder(), "nnlib-book-timings")

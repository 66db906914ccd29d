"""The portability matrix: strict nbval over the chapters under settings that change rounding only.

Usage (from the repository root; ``bash scripts/portability.sh`` bootstraps and calls this)::

    python -m tools.portability                    # every configuration
    python -m tools.portability onednn-flip perturb # some of them
    python -m tools.portability --ci               # the subset that .ci/run runs
    python -m tools.portability --list             # what each configuration sets

Every stored output of the book must come out the same on a reader's machine, whatever CPU, oneDNN
setting, BLAS kernel or thread count it has. One machine cannot be all of them, but it can change
what each of them changes: the order and width in which floating-point sums are taken. Each
configuration below re-runs ``pytest --nbval`` (strict) over ``chapters/`` with one such change; a
stored output that fails under any of them is fragile and must be printed with margin or as a band
check (see the appendix page *Contributing*). Results go to ``_build/portability.json``, which the
Reproducibility page reports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["Configuration", "configurations", "run", "main", "RESULTS"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "_build" / "portability.json"


class Configuration(dict):
    """One column of the matrix: ``name``, ``env`` (variables set for the run) and ``why``."""


def _onednn_default() -> bool:
    """Whether TensorFlow turns oneDNN on by default on this CPU (asked in a clean subprocess)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    code = (
        "from nnlib.repro import import_tensorflow; import_tensorflow();"
        "from tensorflow.python.util import _pywrap_util_port as p; print(int(p.IsMklEnabled()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().endswith("1")


def _openblas_kernel() -> str:
    """The OpenBLAS kernel NumPy uses here (e.g. "SkylakeX"), or "" if unknown."""
    try:
        import numpy  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:
        return ""
    for pool in threadpool_info():
        if pool.get("internal_api") == "openblas":
            return str(pool.get("architecture") or "")
    return ""


def configurations() -> list[Configuration]:
    """The matrix for this machine (the oneDNN and OpenBLAS columns depend on its defaults)."""
    onednn_on = _onednn_default()
    kernel = _openblas_kernel()
    other_kernel = "Sandybridge" if kernel.lower() in ("haswell", "zen") else "Haswell"
    return [
        Configuration(
            name="onednn-flip",
            env={"TF_ENABLE_ONEDNN_OPTS": "0" if onednn_on else "1"},
            why=f"oneDNN {'off' if onednn_on else 'on'}: this CPU's default is "
            f"{'on' if onednn_on else 'off'}; a reader with another vendor's CPU gets the other one",
        ),
        Configuration(
            name="onednn-on-avx2",
            env={"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
            why="oneDNN on, capped at AVX2: the kernels of a CPU without AVX-512",
        ),
        Configuration(
            name="openblas-" + other_kernel.lower(),
            env={"OPENBLAS_CORETYPE": other_kernel},
            why=f"NumPy's OpenBLAS forced to its {other_kernel} kernels (here: {kernel or 'unknown'})",
        ),
        Configuration(
            name="intra-op-1",
            env={"TF_NUM_INTRAOP_THREADS": "1"},
            why="TensorFlow ops on one thread: reductions split differently than on 2 cores",
        ),
        Configuration(
            name="perturb",
            env={"NNLIB_PERTURB": "1"},
            why="every inexact value nnlib.data returns and nnlib's initial weights one ulp off "
            "(nnlib.perturb): stands in for another vendor's rounding",
        ),
    ]


#: The configurations ``.ci/run`` runs on every submission (the others: run by hand before a release).
CI_CONFIGS = ("onednn-flip", "perturb")


def _counts(output: str) -> dict[str, int]:
    """pytest's closing counts ("3 failed, 700 passed in ...") as a dict."""
    tail = output.strip().splitlines()[-1] if output.strip() else ""
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", tail)}


def run(config: Configuration, pytest_args: list[str], log_dir: Path) -> dict:
    """Run strict nbval over the chapters under one configuration; returns its result record."""
    env = dict(os.environ, **config["env"])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # fresh kernels, as in a reader's Jupyter: `bash scripts/test.sh` forks warm ones (tools/warm_kernels.py),
    # so CI's matrix runs are where every notebook also starts the way a reader's does
    env.setdefault("BOOK_FRESH_KERNELS", "1")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-n",
        "2",
        "--dist",
        "loadscope",
        "-q",
        "-p",
        "no:tests._timing_plugin",
        *(pytest_args or ["chapters"]),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{config['name']}.log"
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    failed = [
        line.split(" - ")[0][len("FAILED ") :]
        for line in proc.stdout.splitlines()
        if line.startswith("FAILED ")
    ]
    return {
        "name": config["name"],
        "env": config["env"],
        "why": config["why"],
        "returncode": proc.returncode,
        "counts": _counts(proc.stdout),
        "failed": failed,
        "seconds": round(seconds, 1),
        "log": str(log.relative_to(ROOT)),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def _save(results: list[dict]) -> None:
    """Merge into _build/portability.json: a configuration run now replaces its old record."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    configs = {r["name"]: r for r in old.get("configurations", [])}
    configs.update({r["name"]: r for r in results})
    from tools.environment import machine_report

    RESULTS.write_text(
        json.dumps(
            {"machine": machine_report(), "configurations": list(configs.values())}, indent=2
        )
        + "\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.portability", description=__doc__.split("\n")[0]
    )
    parser.add_argument("configs", nargs="*", help="configuration names (default: all)")
    parser.add_argument("--ci", action="store_true", help=f"run only {', '.join(CI_CONFIGS)}")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    parser.add_argument(
        "--pytest-args", default="", help="arguments for pytest instead of 'chapters'"
    )
    args = parser.parse_args(argv)
    matrix = configurations()
    names = [c["name"] for c in matrix]
    if args.list:
        for c in matrix:
            print(
                f"{c['name']:<16} {' '.join(f'{k}={v}' for k, v in c['env'].items()):<48} {c['why']}"
            )
        return 0
    wanted = list(CI_CONFIGS) if args.ci else (args.configs or names)
    unknown = [w for w in wanted if w not in names]
    if unknown:
        parser.error(f"`configs` must be among {names}. Received: {unknown}")
    results = []
    for config in (c for c in matrix if c["name"] in wanted):
        env_text = " ".join(f"{k}={v}" for k, v in config["env"].items())
        print(f"portability: {config['name']:<16} {env_text} ...", flush=True)
        result = run(config, args.pytest_args.split(), ROOT / "_build" / "portability")
        results.append(result)
        verdict = "passed" if result["returncode"] == 0 else "FAILED"
        print(
            f"portability: {config['name']:<16} {verdict} {result['counts']} in {result['seconds']:.0f} s",
            flush=True,
        )
        for nodeid in result["failed"]:
            print(f"    fragile: {nodeid}  (log: {result['log']})")
    _save(results)
    failed = [r["name"] for r in results if r["returncode"] != 0]
    print(
        f"portability: {len(results) - len(failed)} of {len(results)} configurations passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""pytest plugin: nbval's kernels and the suite's training workers are forked from a warm server.

Registered by the root ``conftest.py``. Each pytest process that runs tests (each xdist worker)
starts one server (``tools/warm_kernels.py``) when it starts; the server is stopped when the session
ends (and dies with its pytest process). Then:

* nbval runs ``--nbval-current-env`` kernels, i.e. ``python -m ipykernel_launcher``; this plugin swaps
  that command for ``tools/warm_kernels.py launch``;
* ``NNLIB_WORKER_PYTHON`` is set to ``tools/warm_kernels.py run --socket ...``: the command
  ``nnlib.distribute.launch_local`` starts workers with (also from a notebook's kernel, which inherits
  the variable) and tests that start a training process take from
  ``nnlib.distribute.python_command()``.

A kernel or program whose start-up settings differ from the server's starts fresh: correct, but
slower. The server logs each such refusal, and the session's summary line counts them
(``warm kernels: N kernels or programs started fresh ...``), so that a drift shows as more than time.

``BOOK_FRESH_KERNELS=1`` turns it off: every kernel is then a fresh ``python -m ipykernel_launcher``,
as in a reader's Jupyter. The portability matrix sets it, so every notebook also runs in fresh
kernels in CI.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from nnlib.distribute import WORKER_PYTHON_VARIABLE
from tools.warm_kernels import SOCKET_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tools" / "warm_kernels.py"

_server: dict = {}


def enabled() -> bool:
    return os.environ.get("BOOK_FRESH_KERNELS") != "1" and sys.platform == "linux"


def session_env() -> dict[str, str]:
    """The environment the server starts with: this process's when the session began."""
    return _server.setdefault("env", dict(os.environ))


def socket_path() -> str:
    """This process's server socket, starting the server on first use."""
    if "path" not in _server:
        folder = tempfile.mkdtemp(prefix="warm-kernels-")
        path = os.path.join(folder, "server.sock")
        with open(os.path.join(folder, "server.log"), "wb") as log:  # TF's start-up lines
            process = subprocess.Popen(
                [sys.executable, str(SERVER), "serve", path],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=ROOT,
                env=session_env(),  # the same whichever test comes first
            )
        _server.update(path=path, folder=folder, process=process)
    return _server["path"]


def warm_python() -> list[str]:
    """``tools/warm_kernels.py run --socket ...``: start a program forked from this process's server."""
    return [sys.executable, str(SERVER), "run", "--socket", socket_path()]


def runs_tests(config) -> bool:
    """False for xdist's controller, which only hands tests to its workers (they start servers)."""
    return hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None)


def pytest_configure(config):
    if not enabled() or not runs_tests(config):
        return
    session_env()
    os.environ[WORKER_PYTHON_VARIABLE] = shlex.join(warm_python())
    try:
        from nbval import kernel
    except ImportError:  # no nbval: no kernels to speed up
        return
    original = kernel.NbvalKernelspecManager.get_kernel_spec

    def get_kernel_spec(self, kernel_name):
        spec = original(self, kernel_name)
        if kernel_name == kernel.CURRENT_ENV_KERNEL_NAME:
            spec.argv = [sys.executable, str(SERVER), "launch", "-f", "{connection_file}"]
            spec.env = {**spec.env, SOCKET_VARIABLE: socket_path()}
            # unit tests' seed_everything(seed) sets PYTHONHASHSEED for their subprocesses; kernels
            # keep the session's (conftest.py: 0), the hash seed the server and its forks have
            if "PYTHONHASHSEED" in session_env():
                spec.env["PYTHONHASHSEED"] = session_env()["PYTHONHASHSEED"]
        return spec

    kernel.NbvalKernelspecManager.get_kernel_spec = get_kernel_spec


def refusals(log: str) -> list[str]:
    """The server log's ``refused: ...`` lines: kernels and programs that started fresh (slower)."""
    return [line[len("refused: ") :] for line in log.splitlines() if line.startswith("refused: ")]


def pytest_sessionfinish(session):
    """Keep what the server refused; xdist passes a worker's list to the controller."""
    if "folder" not in _server:
        return
    log = Path(_server["folder"], "server.log").read_text(encoding="utf-8", errors="replace")
    _server["refusals"] = refusals(log)
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["warm_refusals"] = _server["refusals"]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):  # xdist's controller: a worker finished
    _server.setdefault("refusals", []).extend(
        getattr(node, "workeroutput", {}).get("warm_refusals", [])
    )


def pytest_terminal_summary(terminalreporter):
    """Say how many kernels or programs started fresh: an environment drift shows as time only."""
    reasons = _server.get("refusals") or []
    if reasons:
        terminalreporter.write_line(
            f"warm kernels: {len(reasons)} kernels or programs started fresh "
            "(tests/test_warm_kernels.py asks for 2 on purpose): "
            + "; ".join(f"{reason} (x{reasons.count(reason)})" for reason in sorted(set(reasons)))
        )


def pytest_unconfigure(config):
    process = _server.pop("process", None)
    if process is not None:
        os.environ.pop(WORKER_PYTHON_VARIABLE, None)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(_server["folder"], ignore_errors=True)
    _server.clear()

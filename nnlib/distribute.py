"""Training on several processes: ``TF_CONFIG``, a local cluster launcher, and the chief's folders.

Serves Chapter 4.12, *Training across machines*. ``tf.distribute.MultiWorkerMirroredStrategy``
runs one copy of the training script per worker; each process learns its place in the cluster
from the ``TF_CONFIG`` environment variable, a JSON object with two keys::

    {"cluster": {"worker": ["host0:port", "host1:port"]},   # every worker, the same in all
     "task": {"type": "worker", "index": 1}}                  # who this process is

On a real cluster a scheduler writes ``TF_CONFIG`` (Kubernetes' training operators, a Slurm
prologue, a managed service); here :func:`launch_local` plays the scheduler on one machine:
it picks free localhost ports, starts the workers as separate Python processes and collects what
they print. The module itself imports no TensorFlow: the launcher must not hold a TF runtime, and
the helpers that workers call take the strategy as an argument.

Worker 0 is the **chief**: it writes checkpoints and results. The other workers must still take
part in every save (saving is a collective step), so :func:`worker_directory` gives them a private
scratch folder under the chief's, which they delete afterwards.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlib._validation import check_int, check_number, check_type

__all__ = [
    "WorkerResult",
    "WorkerError",
    "free_ports",
    "cluster_spec",
    "tf_config",
    "task_from_env",
    "is_chief",
    "worker_directory",
    "launch_local",
    "python_command",
    "WORKER_PYTHON_VARIABLE",
]

WORKER_PYTHON_VARIABLE = "NNLIB_WORKER_PYTHON"  # the default command that starts a worker's Python


@dataclass(frozen=True)
class WorkerResult:
    """What one worker process left behind: its index, exit status and captured output.

    ``returncode`` is negative when a signal ended the process (``-9`` for ``SIGKILL``).
    """

    index: int
    returncode: int
    stdout: str
    stderr: str


class WorkerError(RuntimeError):
    """A worker process failed; ``results`` holds every worker's :class:`WorkerResult`."""

    def __init__(self, message: str, results: list[WorkerResult]) -> None:
        super().__init__(message)
        self.results = results


def free_ports(n: int, host: str = "localhost") -> list[int]:
    """``n`` distinct TCP ports that were free on ``host`` a moment ago (the OS picks them)."""
    n = check_int("n", n, minimum=1)
    sockets = []
    try:
        for _ in range(n):  # keep every socket open until all are chosen, so the ports differ
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cluster_spec(
    num_workers: int = 2, host: str = "localhost", ports: Sequence[int] | None = None
) -> dict:
    """The ``cluster`` part of ``TF_CONFIG``: ``{"worker": ["host:port", ...]}``.

    Args:
        num_workers: how many worker processes, ``>= 1``.
        host: where they run (one machine here; on a cluster every worker has its own host).
        ports: one port per worker; ``None`` picks free ports.
    """
    num_workers = check_int("num_workers", num_workers, minimum=1)
    check_type("host", host, str, "a host name such as 'localhost'")
    if ports is None:
        ports = free_ports(num_workers, host)
    ports = [check_int("ports", p, minimum=1, maximum=65535) for p in ports]
    if len(ports) != num_workers or len(set(ports)) != num_workers:
        raise ValueError(
            f"`ports` must hold {num_workers} distinct ports, one per worker. Received: ports={ports!r}"
        )
    return {"worker": [f"{host}:{p}" for p in ports]}


def tf_config(cluster: Mapping[str, Sequence[str]], index: int, task_type: str = "worker") -> str:
    """The ``TF_CONFIG`` JSON string for task ``index`` of type ``task_type`` in ``cluster``."""
    check_type(
        "cluster", cluster, Mapping, 'a cluster spec such as {"worker": ["localhost:12345"]}'
    )
    if task_type not in cluster:
        raise ValueError(
            f"`task_type` must be one of the cluster's job names {sorted(cluster)}. "
            f"Received: task_type={task_type!r}"
        )
    index = check_int("index", index, minimum=0, maximum=len(cluster[task_type]) - 1)
    return json.dumps(
        {
            "cluster": {k: list(v) for k, v in cluster.items()},
            "task": {"type": task_type, "index": index},
        }
    )


def task_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, int, int]:
    """``(task_type, index, num_workers)`` from ``TF_CONFIG``; ``("worker", 0, 1)`` without it."""
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    if not text:
        return "worker", 0, 1
    try:
        config = json.loads(text)
        task = config["task"]
        return str(task["type"]), int(task["index"]), len(config["cluster"].get("worker", []))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            "TF_CONFIG must be JSON with 'cluster' and 'task' keys, e.g. "
            '{"cluster": {"worker": ["localhost:12345"]}, "task": {"type": "worker", "index": 0}}. '
            f"Received: TF_CONFIG={text[:200]!r}"
        ) from exc


def is_chief(strategy: Any = None) -> bool:
    """True in the process that writes results: worker 0 (or a single process).

    With a strategy, its resolved cluster decides (``strategy.cluster_resolver``); otherwise
    ``TF_CONFIG``. MultiWorkerMirroredStrategy has no separate ``chief`` job unless the cluster
    names one; then that task is the chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and getattr(resolver, "task_type", None) is not None:
        task_type, index = resolver.task_type, resolver.task_id
        cluster = resolver.cluster_spec().as_dict()
    else:
        task_type, index, _ = task_from_env()
        text = os.environ.get("TF_CONFIG", "")
        cluster = json.loads(text)["cluster"] if text else {}
    if "chief" in cluster:
        return task_type == "chief"
    return task_type == "worker" and index == 0


def worker_directory(directory: str | os.PathLike, strategy: Any = None) -> str:
    """Where this worker writes: ``directory`` on the chief, a private scratch folder elsewhere.

    Every worker must take part in a multi-worker save; only the chief's copy is kept. The
    scratch folder is ``directory/.worker-<index>``; delete it after the save.
    """
    check_type("directory", directory, (str, os.PathLike), "a path")
    directory = os.fspath(directory)
    if is_chief(strategy):
        return directory
    resolver = getattr(strategy, "cluster_resolver", None)
    index = (
        resolver.task_id
        if resolver is not None and resolver.task_id is not None
        else task_from_env()[1]
    )
    return os.path.join(directory, f".worker-{index}")


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
    for p in procs:
        p.wait()


def launch_local(
    script: str | os.PathLike,
    num_workers: int = 2,
    args: Sequence[str] = (),
    timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    python: Sequence[str] | None = None,
) -> list[WorkerResult]:
    """Run ``python script *args`` as ``num_workers`` cooperating workers on this machine.

    Each process gets its own ``TF_CONFIG`` (free localhost ports, ``task.index`` 0, 1, ...).
    A worker that dies leaves the others stuck in (or failing at) their next all-reduce, so as soon
    as one exits with an error the launcher kills the rest, as a cluster scheduler would.

    Args:
        script: path of the Python file every worker runs.
        num_workers: how many workers, ``>= 1``.
        args: extra command-line arguments, the same for every worker.
        timeout: seconds for the whole run; then every worker is killed and ``TimeoutError``
            raised.
        env: extra environment variables for the workers.
        check: raise :class:`WorkerError` if any worker failed (else just return the results).
        python: the command that starts a worker's Python, e.g. ``["taskset", "-c", "0",
            sys.executable]``. Default: the ``NNLIB_WORKER_PYTHON`` environment variable (split
            like a shell would), else this interpreter. The book's test suite sets the variable to
            start workers forked from a process that has TensorFlow imported already
            (``tools/warm_kernels.py``).

    Returns:
        One :class:`WorkerResult` per worker, in index order.
    """
    check_type("script", script, (str, os.PathLike), "the path of a Python file")
    script = Path(script)
    if not script.is_file():
        raise ValueError(
            f"`script` must be an existing Python file. Received: script={str(script)!r}"
        )
    num_workers = check_int("num_workers", num_workers, minimum=1)
    args = [str(a) for a in check_type("args", args, (list, tuple), "a list of strings")]
    timeout = check_number("timeout", timeout)
    if not timeout > 0:
        raise ValueError(f"`timeout` must be > 0 seconds. Received: timeout={timeout!r}")
    python = python_command(python)
    cluster = cluster_spec(num_workers)
    base_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    procs, logs = [], []
    try:
        for i in range(num_workers):
            logs.append((tempfile.TemporaryFile(), tempfile.TemporaryFile()))
            worker_env = {**base_env, "TF_CONFIG": tf_config(cluster, i)}
            command = [*python, str(script), *args]
            procs.append(
                subprocess.Popen(command, env=worker_env, stdout=logs[i][0], stderr=logs[i][1])
            )
        culprits = _wait(procs, timeout, f"the {num_workers} workers of {script.name}")
        results = [_result(i, p, out, err) for i, (p, (out, err)) in enumerate(zip(procs, logs))]
    finally:
        _stop(procs)
        for out, err in logs:
            out.close(), err.close()
    if check and culprits:
        raise _failure(results, culprits, script.name)
    return results


def python_command(python: Sequence[str] | None = None) -> list[str]:
    """The command that starts a worker's Python: ``python`` checked, else ``$NNLIB_WORKER_PYTHON``
    split like a shell would, else ``[sys.executable]``."""
    if python is None:
        python = shlex.split(os.environ.get(WORKER_PYTHON_VARIABLE, "")) or [sys.executable]
    python = check_type("python", python, (list, tuple), "a command as a list of strings")
    if not python or not all(isinstance(part, str) and part for part in python):
        raise ValueError(
            "`python` must be a non-empty list of non-empty strings, e.g. [sys.executable]. "
            f"Received: python={python!r}"
        )
    return list(python)


def _wait(procs: list[subprocess.Popen], timeout: float, what: str) -> list[int]:
    """Wait until every worker exits, or one fails (then stop the rest: they could wait for it
    forever); return the indices of the workers that failed on their own."""
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in procs):
        if any(p.poll() not in (None, 0) for p in procs):
            break
        if time.monotonic() > deadline:
            _stop(procs)
            raise TimeoutError(f"{what} ran past timeout={timeout:g} s and were killed")
        time.sleep(0.05)
    culprits = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
    _stop(procs)
    return culprits


def _result(index: int, proc: subprocess.Popen, out, err) -> WorkerResult:
    out.seek(0), err.seek(0)
    text = [f.read().decode(errors="replace") for f in (out, err)]
    return WorkerResult(index, proc.returncode, *text)


def _failure(results: list[WorkerResult], culprits: list[int], name: str) -> WorkerError:
    first = results[culprits[0]]
    tail = "\n".join(first.stderr.strip().splitlines()[-15:])
    stopped = [r.index for r in results if r.index not in culprits and r.returncode != 0]
    return WorkerError(
        f"worker {first.index} of {len(results)} exited with status {first.returncode} running {name}"
        + (f" (workers {stopped} were stopped)" if stopped else "")
        + f"; its last lines of stderr:\n{tail}",
        results,
    )

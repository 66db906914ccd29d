"""Warm kernels and workers for the test suite: fork them from a process that has TensorFlow imported.

Every notebook's kernel spends 3-4 s of CPU importing TensorFlow and Keras before its first line
runs: over the book's 34 notebooks, about a third of their time in the suite. Here a *server* process
imports TensorFlow, Keras (which pulls in NumPy, SciPy, scikit-learn and pyplot) and ipykernel once,
without running a single TensorFlow op (no runtime, device or op thread pool exists yet), and then
``fork``s one child per kernel. The only other threads at that point are the idle workers of NumPy's
and SciPy's OpenBLAS, which OpenBLAS's fork handlers shut down and restart (measured: with
``OPENBLAS_NUM_THREADS=1`` the server has one thread). The child takes over the launching process's
standard streams, working directory, environment and command line, and runs ipykernel as
``python -m ipykernel_launcher`` does; its user namespace is empty, so each notebook still starts from
nothing but imported modules.

Three commands::

    python tools/warm_kernels.py serve SOCKET                       # the server (started by the suite)
    python tools/warm_kernels.py launch -f CONN.json                # a kernel: nbval's kernel spec
    python tools/warm_kernels.py run --socket SOCKET ARGS...        # ``python ARGS...``, forked

``run`` does for a Python program what ``launch`` does for a kernel: ``ARGS`` are what ``python``
would take (``script.py ...``, ``-m module ...`` or ``-c code ...``), and ``run`` exits with the
program's exit status, or dies by the signal that killed it. The suite starts its training workers
(``nnlib.distribute.launch_local``, the kill-and-resume tests, ``tools.check``) this way through
``NNLIB_WORKER_PYTHON``: each would otherwise spend 4-5 s of CPU importing TensorFlow.

``launch`` is the kernel process that Jupyter manages (``run``: the process its caller manages). It
hands its streams and environment to the server over the Unix socket ``$NNLIB_WARM_KERNEL_SOCKET``
(``run``: ``--socket``), relays signals (interrupt, terminate) to the forked process and exits when
it does; the forked process exits when its launcher dies (even by ``SIGKILL``), because the socket
between them closes. If there is no server, or the environment asks for anything that importing
TensorFlow reads (``TF_*``, oneDNN, BLAS threads, ``MPLBACKEND``, ...) and differs from the server's,
the launcher becomes a fresh ``python -m ipykernel_launcher`` (``run``: ``python ARGS``): a warm
process never runs with other TensorFlow start-up settings than a fresh one would. (``run`` does not
compare ``MPLBACKEND``: the forked program resets matplotlib's backend from its own environment.)

The suite uses warm kernels unless ``BOOK_FRESH_KERNELS=1`` (``tests/_warm_kernel_plugin.py``); the
portability matrix (and so CI's second and third runs of every notebook) uses fresh kernels, so the
path a reader's Jupyter takes stays tested for every notebook. Linux only (``fork``, ``SCM_RIGHTS``).

Only the standard library is imported at module level: ``launch`` must start in milliseconds.
"""

from __future__ import annotations

import array
import json
import os
import re
import signal
import socket
import struct
import sys

__all__ = ["SOCKET_VARIABLE", "start_settings", "mismatch", "launch", "run", "serve", "main"]

SOCKET_VARIABLE = "NNLIB_WARM_KERNEL_SOCKET"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # what ipykernel sets when unset

# Variables read while TensorFlow, Keras, NumPy/BLAS or matplotlib are imported (or by the dynamic
# loader): a kernel whose environment differs from the server's in any of them must start fresh.
# Not TF_CONFIG: a distribution strategy reads it when it is created, each worker its own.
START_UP_VARIABLES = re.compile(
    r"^(TF_(?!CONFIG$)|TENSORFLOW|KERAS_|ONEDNN_|DNNL_|MKL|KMP_|OMP_|OPENBLAS_|GOTO|BLIS_|XLA_|CUDA|NVIDIA_"
    r"|TPU_|LD_|PYTHON|NPY_|NUMPY_|SCIPY_|MPL|MATPLOTLIB|JAX_|HOME$|XDG_)"
)


def start_settings(env: dict[str, str]) -> dict[str, str]:
    """The part of an environment that importing the server's modules reads (``MPLBACKEND`` as used)."""
    settings = {k: v for k, v in env.items() if START_UP_VARIABLES.match(k)}
    settings["MPLBACKEND"] = env.get("MPLBACKEND") or INLINE_BACKEND
    return settings


def mismatch(
    env: dict[str, str],
    before: dict[str, str],
    set_by_imports: dict[str, str],
    ignore: tuple[str, ...] = (),
) -> list[str]:
    """The start-up variables in which a kernel's ``env`` differs from the server's.

    ``before`` is ``start_settings`` of the server's environment before its imports;
    ``set_by_imports`` what the imports themselves set (TensorFlow sets ``KMP_INIT_AT_FORK``,
    ``TPU_ML_PLATFORM``, ...): a kernel may lack those (its own import would set them) or hold the
    same values (a process that imported TensorFlow passed them on), nothing else. Names in
    ``ignore`` are not compared (a forked program resets matplotlib's backend itself).
    """
    mine = start_settings(env)
    names = (set(mine) | set(before)) - set(set_by_imports) - set(ignore)
    differ = {k for k in names if mine.get(k) != before.get(k)}
    differ |= {k for k, v in set_by_imports.items() if mine.get(k, v) != v}
    return sorted(differ)


# ----------------------------------------------------------------------------- wire format


def _send_message(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    payload = json.dumps(message).encode()
    data = struct.pack("!I", len(payload)) + payload
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(data)


def _receive_message(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """One message and the descriptors that came with it; ``(None, [])`` if the peer closed."""
    fds = array.array("i")
    data, ancillary, _flags, _addr = sock.recvmsg(65536, socket.CMSG_SPACE(8 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if len(data) < 4:
        return None, list(fds)
    (size,) = struct.unpack("!I", data[:4])
    body = data[4:]
    while len(body) < size:
        more = sock.recv(size - len(body))
        if not more:
            return None, list(fds)
        body += more
    return json.loads(body), list(fds)


# ----------------------------------------------------------------------------- the kernel side


def _fresh_kernel(argv: list[str]) -> None:
    """Replace this process by an ordinary kernel (``python -m ipykernel_launcher ARGV``)."""
    os.environ.pop(
        SOCKET_VARIABLE, None
    )  # the kernel's environment is then the launcher's, exactly
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])


def launch(argv: list[str]) -> None:
    """Run a kernel forked by the server, or an ordinary one if the server can't serve this one."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path:  # not asked for a warm kernel
        _fresh_kernel(argv)
    reply = _ask(path, {"kind": "kernel", "argv": argv})
    if reply is None:
        _fresh_kernel(argv)
    sock = reply["socket"]
    _relay_signals(reply["pid"])
    while True:  # the kernel holds the other end open until it exits
        try:
            if not sock.recv(1):
                break
        except InterruptedError:
            continue
    sys.exit(0)


def _relay_signals(child: int) -> None:
    """Pass interrupt, terminate, ... on to the forked process (``SIGKILL`` ends it by the lifeline)."""

    def relay(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
        signal.signal(signum, relay)


def _ask(path: str, request: dict) -> dict | None:
    """Send ``request`` with this process's streams; the server's reply (``None``: no answer)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        _send_message(sock, {**request, "cwd": os.getcwd(), "env": dict(os.environ)}, [0, 1, 2])
        reply, _ = _receive_message(sock)
    except OSError:
        reply = None
    if not reply or "pid" not in reply:
        sock.close()
        reason = (reply or {}).get("refused", "the server did not answer")
        print(f"warm_kernels: starting a fresh process: {reason}", file=sys.stderr, flush=True)
        return None
    reply["socket"] = sock
    return reply


def run(argv: list[str]) -> None:
    """``run --socket PATH ARGS...``: ``python ARGS...`` forked by the server; exit as it did."""
    if len(argv) < 3 or argv[0] != "--socket":
        sys.exit(
            "usage: warm_kernels.py run --socket SOCKET (SCRIPT | -m MODULE | -c CODE) [ARG ...]"
        )
    path, args = argv[1], argv[2:]
    reply = _ask(path, {"kind": "run", "argv": args})
    if reply is None:
        os.execv(sys.executable, [sys.executable, *args])
    _relay_signals(reply["pid"])
    while True:
        try:
            message, _ = _receive_message(reply["socket"])
            break
        except InterruptedError:
            continue
    if not message or "exit" not in message:
        sys.exit(f"warm_kernels: lost the server before process {reply['pid']} exited")
    code = message["exit"]
    if code < 0:  # killed by a signal: die by the same one, so the caller sees -signal too
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # those two can't be caught anyway
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


# ----------------------------------------------------------------------------- the server side


def _preimport() -> None:
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as ipykernel would before any user import
    import keras  # noqa: F401  (imports NumPy, SciPy, scikit-learn and matplotlib.pyplot too)
    import tensorflow  # noqa: F401
    from ipykernel import ipkernel, kernelapp  # noqa: F401


def _become(
    conn: socket.socket,
    listener: socket.socket,
    request: dict,
    fds: list[int],
    set_by_imports: dict[str, str],
    others: list[socket.socket],
):
    """In the forked child: take over the launcher's streams, folder and environment; run the
    kernel or program it asked for; exit with its status."""
    import random
    import threading

    listener.close()
    for other in others:  # the other launchers' connections belong to the server
        other.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for name, value in set_by_imports.items():  # what the process's own imports would have set
        os.environ.setdefault(name, value)
    os.environ.pop(SOCKET_VARIABLE, None)
    import tempfile

    tempfile.tempdir = None  # found again from this environment's TMPDIR, not the server's
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # this file's folder; the kernel or program puts its own first
    random.seed()  # a fresh process's entropy, not the server's state
    import numpy as np

    np.random.seed()

    def exit_with_launcher():
        try:
            while conn.recv(1):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=exit_with_launcher, daemon=True, name="warm-kernel-lifeline").start()
    _send_message(conn, {"pid": os.getpid()})
    code = 0
    try:
        if request.get("kind") == "run":
            _run_program(request["argv"])
        else:
            from ipykernel import kernelapp

            sys.argv = ["ipykernel_launcher", *request["argv"]]  # IPython adds '' to sys.path
            kernelapp.launch_new_instance()
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:  # sys.exit("message"): printed, status 1, as the interpreter does
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        import atexit

        if request.get("kind") == "run":  # wait for its non-daemon threads, as at interpreter exit
            threading._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run_program(argv: list[str]) -> None:
    """Run ``python ARGV`` in this process: ``SCRIPT ...``, ``-m MODULE ...`` or ``-c CODE ...``."""
    import runpy

    import matplotlib

    # the server imported matplotlib with the kernels' backend; give the program the backend a
    # fresh import would have chosen from its own environment
    chosen = os.environ.get("MPLBACKEND")
    if chosen:
        matplotlib.rcParams["backend"] = chosen
    else:
        dict.__setitem__(matplotlib.rcParams, "backend", matplotlib.rcParamsOrig._get("backend"))
    if argv[0] == "-m":
        sys.argv = ["-m", *argv[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        sys.path.insert(0, "")
        exec(
            compile(argv[1], "<string>", "exec"),
            {"__name__": "__main__", "__builtins__": __builtins__},
        )
    else:
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.realpath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM when the process that started the server (pytest) exits."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(path: str) -> None:
    """Listen on ``path``; fork one kernel or program per connection. Runs until terminated."""
    _die_with_parent()
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)  # before the imports: launchers can connect (and wait) at once
    listener.listen(16)
    before = start_settings(dict(os.environ))
    _preimport()
    set_by_imports = {
        k: v for k, v in start_settings(dict(os.environ)).items() if before.get(k) != v
    }
    programs: dict[int, socket.socket] = {}  # forked programs -> their launcher's connection

    def reap(_signum=None, _frame=None):
        """Collect exited children; tell a program's launcher how it ended."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = programs.pop(pid, None)
            if conn is not None:
                try:
                    _send_message(conn, {"exit": os.waitstatus_to_exitcode(status)})
                except OSError:  # the launcher is gone (killed); so is its program
                    pass
                conn.close()

    signal.signal(signal.SIGCHLD, reap)
    listener.settimeout(1.0)
    while os.getppid() == parent:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        try:
            request, fds = _receive_message(conn)
        except (OSError, ValueError):
            conn.close()
            continue
        refusal = None
        if request is None or len(fds) != 3:
            refusal = "malformed request"
        elif request.get("kind") not in ("kernel", "run"):
            refusal = f"unknown kind {request.get('kind')!r}"
        elif differ := mismatch(
            request["env"],
            before,
            set_by_imports,
            ignore=("MPLBACKEND",) if request["kind"] == "run" else (),
        ):
            refusal = f"start-up variables differ from the server's: {differ}"
        if refusal is None:
            # a program that exits at once must not be reaped before it is in `programs`
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
            try:
                pid = os.fork()
                if pid == 0:
                    _become(conn, listener, request, fds, set_by_imports, list(programs.values()))
                if request["kind"] == "run":
                    programs[pid], conn = conn, None
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        else:
            print(f"refused: {refusal}", flush=True)  # the server's log
            try:
                _send_message(conn, {"refused": refusal})
            except OSError:
                pass
        if conn is not None:
            conn.close()
        for fd in fds:
            os.close(fd)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "serve":
        serve(argv[1])
    elif argv and argv[0] == "launch":
        launch(argv[1:])
    elif argv and argv[0] == "run":
        run(argv[1:])
    else:
        sys.exit(
            "usage: warm_kernels.py serve SOCKET | launch -f CONNECTION_FILE | run --socket SOCKET ARGS"
        )


if __name__ == "__main__":
    main()

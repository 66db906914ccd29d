"""Warm kernels (tools/warm_kernels.py): forked with TensorFlow imported, otherwise a launcher's kernel.

The whole notebook suite runs in these kernels and compares every stored output, so equal results
are tested there; here: what the kernel inherits, signals, lifetime and the fresh-kernel fallback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from nnlib import distribute
from tests import _warm_kernel_plugin as plugin
from tools.warm_kernels import INLINE_BACKEND, SOCKET_VARIABLE, mismatch, start_settings

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork + SCM_RIGHTS: Linux only")


def test_start_settings_keep_what_imports_read_and_default_the_backend():
    env = {
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "OMP_NUM_THREADS": "1",
        "PYTEST_CURRENT_TEST": "x",
        "A": "1",
    }
    assert start_settings(env) == {
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": INLINE_BACKEND,
    }
    assert start_settings({"MPLBACKEND": INLINE_BACKEND}) == start_settings({})
    assert start_settings({"MPLBACKEND": "agg"}) != start_settings({})


def test_a_kernel_may_lack_or_repeat_what_the_imports_set_but_not_change_it():
    before = start_settings({"TF_ENABLE_ONEDNN_OPTS": "1"})
    set_by_imports = {"KMP_INIT_AT_FORK": "FALSE"}  # TensorFlow's import sets it
    assert mismatch({"TF_ENABLE_ONEDNN_OPTS": "1"}, before, set_by_imports) == []
    assert (
        mismatch(
            {"TF_ENABLE_ONEDNN_OPTS": "1", "KMP_INIT_AT_FORK": "FALSE"}, before, set_by_imports
        )
        == []
    )
    assert mismatch(
        {"TF_ENABLE_ONEDNN_OPTS": "1", "KMP_INIT_AT_FORK": "TRUE"}, before, set_by_imports
    ) == ["KMP_INIT_AT_FORK"]
    assert mismatch({}, before, set_by_imports) == ["TF_ENABLE_ONEDNN_OPTS"]
    assert mismatch({"TF_ENABLE_ONEDNN_OPTS": "1", "OMP_NUM_THREADS": "1"}, before, {}) == [
        "OMP_NUM_THREADS"
    ]


def test_the_servers_refusals_are_read_from_its_log():
    log = "I0000 oneDNN custom operations are on.\nrefused: malformed request\nrefused: x differ\n"
    assert plugin.refusals(log) == ["malformed request", "x differ"]
    assert plugin.refusals("") == []


def _start(tmp_path: Path, **env: str) -> KernelManager:
    specs = tmp_path / "kernels" / "warm"
    specs.mkdir(parents=True)
    argv = [sys.executable, str(plugin.SERVER), "launch", "-f", "{connection_file}"]
    (specs / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "warm", "language": "python"})
    )
    km = KernelManager(
        kernel_name="warm", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs.parent)])
    )
    cwd = tmp_path / "work"
    cwd.mkdir()
    kernel_env = {**plugin.session_env(), SOCKET_VARIABLE: plugin.socket_path(), **env}
    kernel_env.pop("PYTEST_CURRENT_TEST", None)
    km.start_kernel(cwd=str(cwd), env=kernel_env)
    return km


def _run(km: KernelManager, code: str, timeout: float = 60) -> tuple[dict, str]:
    """Execute ``code``; return the reply's content and what the cell printed to stdout."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        printed = []
        reply = kc.execute_interactive(
            code,
            timeout=timeout,
            output_hook=lambda m: (
                printed.append(m["content"].get("text", ""))
                if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
                else None
            ),
        )
        return reply["content"], "".join(printed)
    finally:
        kc.stop_channels()


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


# what a kernel reports about itself; IPython's own names are not the user's
PROBE = f"""
import json, os, sys
ipython_names = {{"In", "Out", "exit", "quit", "open", "get_ipython"}}
print(json.dumps(dict(
    tf="tensorflow" in sys.modules,
    cwd=os.getcwd(),
    pid=os.getpid(),
    mark=os.environ.get("WARM_TEST_MARK"),
    socket=os.environ.get("{SOCKET_VARIABLE}"),
    tools=[p for p in sys.path if p.endswith("tools")],
    user=[k for k in globals() if not k.startswith("_") and k not in ipython_names
          and k not in ("json", "os", "sys", "ipython_names")],
)))
"""


def test_a_warm_kernel_is_the_launchers_kernel_with_tensorflow_already_imported(tmp_path):
    km = _start(tmp_path, WARM_TEST_MARK="seen")
    try:
        reply, out = _run(km, PROBE)
        assert reply["status"] == "ok", reply
        seen = json.loads(out)
        assert seen["tf"] is True  # forked from the server: TensorFlow came imported
        assert seen["cwd"] == str(tmp_path / "work")  # the launcher's folder ...
        assert seen["mark"] == "seen"  # ... and environment
        assert seen["socket"] is None and seen["tools"] == [] and seen["user"] == []
        assert seen["pid"] != km.provisioner.pid  # a process of its own, not the launcher

        # interrupting the launcher interrupts the kernel (Jupyter's interrupt button, nbval's timeout)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=30)
            msg_id = kc.execute("import time; time.sleep(120)")
            time.sleep(1.0)
            km.interrupt_kernel()
            reply = kc.get_shell_msg(timeout=30)
            assert reply["parent_header"]["msg_id"] == msg_id
            assert reply["content"]["ename"] == "KeyboardInterrupt"
        finally:
            kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)  # SIGKILL to the launcher, as nbval does after each notebook
    assert _gone(seen["pid"]), "the forked kernel outlived its launcher"


def test_a_kernel_with_other_start_up_settings_starts_fresh(tmp_path):
    flipped = "1" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" else "0"
    km = _start(tmp_path, TF_ENABLE_ONEDNN_OPTS=flipped)
    try:
        reply, out = _run(km, PROBE)
        assert reply["status"] == "ok", reply
        seen = json.loads(out)
        assert seen["tf"] is False  # an ordinary kernel: TensorFlow not imported
        assert seen["pid"] == km.provisioner.pid  # the launcher became the kernel (exec)
        assert seen["socket"] is None
    finally:
        km.shutdown_kernel(now=True)


# ----------------------------------------------------------------------------- programs (run)

PROGRAM = textwrap.dedent("""
    import json, os, signal, sys, tempfile, time
    import matplotlib
    print(json.dumps(dict(tmp=tempfile.gettempdir(),
        tf="tensorflow" in sys.modules, argv=sys.argv, cwd=os.getcwd(), path0=sys.path[0],
        name=__name__, mark=os.environ.get("WARM_TEST_MARK"), backend=matplotlib.get_backend(),
        pid=os.getpid(),
    )), flush=True)
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[1] == "sleep":
        time.sleep(120)
    sys.exit(int(sys.argv[1]))
""")


def _program(tmp_path: Path, *args: str, fresh: bool = False, **env: str):
    """Start ``tools/warm_kernels.py run ARGS`` (or ``python ARGS`` if ``fresh``) in ``tmp_path``."""
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "mod.py").write_text("import sys\nprint(sys.argv, sys.path[0])\n")
    command = [sys.executable] if fresh else plugin.warm_python()
    return subprocess.Popen(
        [*command, *args],
        cwd=tmp_path,
        env={**plugin.session_env(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_a_program_run_warm_is_python_args_with_tensorflow_already_imported(tmp_path):
    mine = {"WARM_TEST_MARK": "seen", "TMPDIR": str(tmp_path)}
    code, out, err = _finish(_program(tmp_path, "prog.py", "3", **mine))
    assert code == 3, err  # its exit status is the launcher's
    seen = json.loads(out)
    _, fresh_out, _ = _finish(_program(tmp_path, "prog.py", "0", fresh=True, **mine))
    fresh = json.loads(fresh_out)
    assert seen["tf"] is True and fresh["tf"] is False  # forked from the server: TF came imported
    for key in ("argv", "cwd", "path0", "name", "mark", "backend", "tmp"):  # else: `python ARGS`
        assert seen[key] == (fresh[key] if key != "argv" else ["prog.py", "3"]), key

    code, out, _ = _finish(_program(tmp_path, "-m", "mod", "x"))
    assert code == 0 and out == f"{[str(tmp_path / 'mod.py'), 'x']} {tmp_path}\n"
    code, out, err = _finish(
        _program(tmp_path, "-c", "import sys; print(sys.argv); sys.exit('bye')", "y")
    )
    assert code == 1 and out == "['-c', 'y']\n" and err.endswith("bye\n")


def test_a_program_killed_by_a_signal_or_whose_launcher_dies_is_gone(tmp_path):
    code, _, _ = _finish(_program(tmp_path, "prog.py", "kill"))
    assert code == -signal.SIGKILL  # it killed itself: the launcher dies by the same signal

    process = _program(tmp_path, "prog.py", "sleep")
    pid = json.loads(process.stdout.readline())["pid"]
    assert pid != process.pid
    process.terminate()  # relayed: the program dies of SIGTERM, and so does the launcher
    assert process.wait(timeout=30) == -signal.SIGTERM and _gone(pid)

    process = _program(tmp_path, "prog.py", "sleep")
    pid = json.loads(process.stdout.readline())["pid"]
    process.kill()  # can't be relayed: the program notices that its launcher's socket closed
    process.wait(timeout=30)
    assert _gone(pid), "the forked program outlived its launcher"


def test_a_program_with_other_start_up_settings_starts_fresh(tmp_path):
    flipped = "1" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" else "0"
    code, out, err = _finish(_program(tmp_path, "prog.py", "0", TF_ENABLE_ONEDNN_OPTS=flipped))
    assert code == 0 and json.loads(out)["tf"] is False
    assert "starting a fresh process" in err and "TF_ENABLE_ONEDNN_OPTS" in err


@pytest.mark.skipif(not plugin.enabled(), reason="BOOK_FRESH_KERNELS=1: workers start fresh")
def test_the_suites_training_workers_are_forked_with_tensorflow_imported(tmp_path):
    # launch_local takes the command from NNLIB_WORKER_PYTHON, which the plugin set; TF_CONFIG
    # differs per worker and must not send them to a fresh start
    script = tmp_path / "worker.py"
    script.write_text("import sys\nprint('tensorflow' in sys.modules)\n")
    results = distribute.launch_local(script, 2, timeout=60)
    assert [(r.stdout, r.stderr) for r in results] == [("True\n", "")] * 2

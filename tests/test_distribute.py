"""nnlib.distribute: TF_CONFIG, the local launcher, and two-worker training on the CPU (Chapter 4.12).

The training tests start real worker processes that talk over localhost gRPC, as on a cluster:
two workers under MultiWorkerMirroredStrategy must end with the weights of one process that sees
the same global batches, and a run whose worker is killed mid-epoch must resume from the chief's
checkpoint to the weights of an uninterrupted run.
"""

import json
import os
import sys
import textwrap

import numpy as np
import pytest

from nnlib import distribute
from nnlib.examples import MULTI_WORKER_DIGITS as SCRIPT


def test_cluster_spec_and_tf_config_round_trip(monkeypatch):
    cluster = distribute.cluster_spec(3, ports=[2001, 2002, 2003])
    assert cluster == {"worker": ["localhost:2001", "localhost:2002", "localhost:2003"]}
    config = distribute.tf_config(cluster, 2)
    assert json.loads(config) == {"cluster": cluster, "task": {"type": "worker", "index": 2}}
    monkeypatch.setenv("TF_CONFIG", config)
    assert distribute.task_from_env() == ("worker", 2, 3)
    assert not distribute.is_chief()
    assert distribute.worker_directory("ckpt") == os.path.join("ckpt", ".worker-2")
    monkeypatch.setenv("TF_CONFIG", distribute.tf_config(cluster, 0))
    assert distribute.is_chief() and distribute.worker_directory("ckpt") == "ckpt"


def test_without_tf_config_a_process_is_a_one_worker_chief(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.task_from_env() == ("worker", 0, 1)
    assert distribute.is_chief()


def test_an_explicit_chief_job_is_the_chief(monkeypatch):
    cluster = {"chief": ["localhost:2000"], "worker": ["localhost:2001"]}
    monkeypatch.setenv("TF_CONFIG", distribute.tf_config(cluster, 0, task_type="chief"))
    assert distribute.is_chief()
    monkeypatch.setenv("TF_CONFIG", distribute.tf_config(cluster, 0, task_type="worker"))
    assert not distribute.is_chief()


def test_free_ports_are_distinct():
    ports = distribute.free_ports(4)
    assert len(set(ports)) == 4 and all(0 < p < 65536 for p in ports)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: distribute.cluster_spec(0), ValueError, "`num_workers`"),
        (lambda: distribute.cluster_spec(2, ports=[5, 5]), ValueError, "distinct ports"),
        (lambda: distribute.cluster_spec(2, host=7), TypeError, "`host`"),
        (lambda: distribute.tf_config({"worker": ["a:1"]}, 1), ValueError, "`index`"),
        (
            lambda: distribute.tf_config({"worker": ["a:1"]}, 0, task_type="ps"),
            ValueError,
            "`task_type`",
        ),
        (lambda: distribute.tf_config(["a:1"], 0), TypeError, "`cluster`"),
        (
            lambda: distribute.task_from_env({"TF_CONFIG": "{not json"}),
            ValueError,
            "TF_CONFIG must be JSON",
        ),
        (lambda: distribute.launch_local("no/such/file.py"), ValueError, "`script`"),
        (lambda: distribute.launch_local(SCRIPT, num_workers=0), ValueError, "`num_workers`"),
        (lambda: distribute.launch_local(SCRIPT, timeout=0), ValueError, "`timeout`"),
        (lambda: distribute.launch_local(SCRIPT, args="--single"), TypeError, "`args`"),
        (lambda: distribute.launch_local(SCRIPT, python="python3"), TypeError, "`python`"),
        (lambda: distribute.launch_local(SCRIPT, python=[]), ValueError, "`python`"),
        (lambda: distribute.python_command(["python3", ""]), ValueError, "non-empty strings"),
    ],
)
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_a_failing_worker_stops_the_others_and_is_named(tmp_path):
    script = tmp_path / "worker.py"
    ready = tmp_path / "worker-0-printed"
    script.write_text(
        textwrap.dedent(f"""
        import json, os, pathlib, sys, time
        index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
        workers = len(json.loads(os.environ["TF_CONFIG"])["cluster"]["worker"])
        print("worker", index, "of", workers, flush=True)
        ready = pathlib.Path({str(ready)!r})
        if index == 1:
            # give up only once worker 0 has printed: the launcher must then kill a live peer
            while not ready.exists():
                time.sleep(0.01)
            ready.unlink()
            sys.exit("worker 1 gives up")
        ready.touch()
        time.sleep(600)  # waits for its peer forever, like an all-reduce would
    """)
    )
    with pytest.raises(distribute.WorkerError, match=r"worker 1 of 2 exited with status 1") as info:
        distribute.launch_local(script, 2, timeout=60)
    results = info.value.results
    assert [r.index for r in results] == [0, 1]
    assert results[0].returncode == -9 and results[0].stdout == "worker 0 of 2\n"
    assert "gives up" in results[1].stderr
    assert distribute.launch_local(script, 2, timeout=60, check=False)[1].returncode == 1


def test_the_python_command_comes_from_the_argument_the_variable_or_this_interpreter(monkeypatch):
    monkeypatch.delenv(distribute.WORKER_PYTHON_VARIABLE, raising=False)
    assert distribute.python_command() == [sys.executable]
    monkeypatch.setenv(distribute.WORKER_PYTHON_VARIABLE, "nice -n 5 '/opt/my python/bin/python'")
    assert distribute.python_command() == ["nice", "-n", "5", "/opt/my python/bin/python"]
    assert distribute.python_command(("python3",)) == ["python3"]


def test_workers_start_with_the_given_command(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text("import os, sys\nprint(os.environ['MARK'], sys.argv[1:])\n")
    wrapper = [
        sys.executable,
        "-c",
        "import os, sys; os.environ['MARK'] = 'wrapped'; "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
    ]
    results = distribute.launch_local(script, 2, args=["a"], env={"MARK": "plain"}, python=wrapper)
    assert [r.stdout for r in results] == ["wrapped ['a']\n"] * 2


def test_a_run_past_its_timeout_is_killed(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text("import time\ntime.sleep(600)\n")
    with pytest.raises(TimeoutError, match="timeout=1 s"):
        distribute.launch_local(script, 2, timeout=1)


def _weights(folder):
    with np.load(folder / "weights.npz") as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def _summary(folder):
    return json.loads((folder / "summary.json").read_text())


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("multi")
    distribute.launch_local(SCRIPT, 2, [out, "--epochs", "3"], timeout=600)
    return out


def test_two_workers_equal_one_process_on_the_same_global_batches(two_worker_run, tmp_path):
    distribute.launch_local(SCRIPT, 1, [tmp_path, "--single", "--epochs", "3"], timeout=600)
    multi, single = _summary(two_worker_run), _summary(tmp_path)
    assert multi["replicas"] == 2 and single["replicas"] == 1
    for a, b in zip(_weights(two_worker_run), _weights(tmp_path), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    np.testing.assert_allclose(multi["history"]["loss"], single["history"]["loss"], rtol=1e-5)
    assert multi["history"]["val_accuracy"][-1] > 0.85  # it learned: not two copies of nothing


def test_a_killed_worker_resumes_from_the_chiefs_checkpoint(two_worker_run, tmp_path):
    ckpt, out = tmp_path / "ckpt", tmp_path / "out"
    # 1203 training images in global batches of 64: 19 batches per epoch; die in the second epoch.
    results = distribute.launch_local(
        SCRIPT,
        2,
        [out, "--epochs", "3", "--checkpoint", ckpt, "--kill-at-batch", "25"],
        timeout=600,
        check=False,
    )
    assert results[1].returncode == -9, results[1].stderr[-2000:]  # the crash
    assert results[0].returncode != 0  # the survivor cannot go on alone: stopped by the launcher
    assert not out.exists()
    assert sorted(p.name for p in ckpt.iterdir() if not p.name.startswith(".")) == [
        "checkpoint",
        "ckpt-1.data-00000-of-00001",
        "ckpt-1.index",
    ]  # only the chief's files: epoch 1 finished and was saved, epoch 2 was not
    distribute.launch_local(SCRIPT, 2, [out, "--epochs", "3", "--checkpoint", ckpt], timeout=600)
    assert _summary(out)["initial_epoch"] == 1
    for a, b in zip(_weights(out), _weights(two_worker_run), strict=True):
        np.testing.assert_array_equal(a, b)
    assert _summary(out)["history"]["loss"] == _summary(two_worker_run)["history"]["loss"][1:]

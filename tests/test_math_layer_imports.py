"""The math layer imports NumPy only: importing any of its modules must not pull in TensorFlow/Keras."""

import subprocess
import sys

import pytest

MATH_MODULES = [
    "activations",
    "losses",
    "initializers",
    "regularizers",
    "optimizers",
    "schedules",
    "gradcheck",
    "numpy_net",
    "conv",
    "rnn",
    "autodiff",
    "attention",
]


def modules_loaded_by(statement: str, packages: tuple[str, ...]) -> list[str]:
    """Run `statement` in a fresh interpreter; return the loaded modules of the given packages."""
    code = (
        f"import sys\n{statement}\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


@pytest.mark.parametrize("module", MATH_MODULES)
def test_module_does_not_import_tensorflow_or_keras(module):
    loaded = modules_loaded_by(f"import nnlib.{module}", ("tensorflow", "keras"))
    assert loaded == [], f"nnlib.{module} imported {loaded[:5]}"


def test_the_check_can_fail():
    assert "json" in modules_loaded_by("import json", ("json",))

"""The suite can fail: a notebook whose stored numbers drift from what the code prints is rejected.

We copy a real chapter, change one printed digit in its stored output, and run strict nbval on the copy
in a subprocess. It must fail. (The unmodified chapter passes in the main suite.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "01_background" / "01_ai_ml_dl.ipynb"


def tamper(nb: dict) -> str:
    """Change the first digit of the first stdout output that contains a computed number."""
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "loss" in "".join(out["text"]):
                text = "".join(out["text"])
                match = re.search(r"\d", text)
                digit = text[match.start()]
                new = str((int(digit) + 1) % 10)
                out["text"] = text[: match.start()] + new + text[match.end() :]
                return f"{digit}->{new}"
    raise AssertionError("no numeric output found to tamper with")


@pytest.mark.slow
def test_a_changed_printed_number_fails_strict_nbval(tmp_path: Path):
    nb = json.loads(CHAPTER.read_text(encoding="utf-8"))
    change = tamper(nb)
    target = tmp_path / CHAPTER.name
    target.write_text(json.dumps(nb), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-q",
            str(target),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, f"tampering {change} was not detected:\n{proc.stdout[-3000:]}"
    assert "1 failed" in proc.stdout, proc.stdout[-3000:]

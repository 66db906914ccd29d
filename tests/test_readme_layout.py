"""The README's layout table matches the code (issue 14): every nnlib module, data submodule, tool,
script and benchmark is named there, and everything it names exists."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def layout_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Layout", 1)[1].split("\n\n", 2)[1]


def test_every_module_tool_script_and_benchmark_is_in_the_table():
    table = layout_table()
    names = {
        "nnlib module": [
            p.stem for p in (ROOT / "nnlib").glob("*.py") if not p.stem.startswith("__")
        ],
        "nnlib.data module": [
            p.stem for p in (ROOT / "nnlib" / "data").glob("*.py") if p.stem != "__init__"
        ],
        "tool": [p.stem for p in (ROOT / "tools").glob("*.py") if p.stem != "__init__"],
        "script": [p.name for p in (ROOT / "scripts").glob("*.sh")],
        "benchmark": [p.name for p in (ROOT / "benchmarks").glob("*.py")],
    }
    missing = {
        kind: [n for n in found if not re.search(rf"`(nnlib/)?{re.escape(n)}(\.py)?`", table)]
        for kind, found in names.items()
    }
    assert all(not m for m in missing.values()), f"not in the README's layout table: {missing}"


def test_every_path_the_table_names_exists():
    paths = re.findall(r"^\| `([^`]+)`", layout_table(), re.M)
    assert "nnlib/" in paths and len(paths) > 10
    for path in paths:
        assert (ROOT / path.split(" ")[0]).exists(), path

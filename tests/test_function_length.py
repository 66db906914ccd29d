"""No function in nnlib is longer than 60 lines (issue 14): every module, every function and method,
nested ones included, nothing excluded. A function's length is its lines from ``def`` to its last
line, less its docstring (documentation, not code): the count the issue used ("Trainer.fit is 95
lines", "apply_gradients ... 37")."""

import ast
import pathlib

import pytest

import nnlib

LIMIT = 60
ROOT = pathlib.Path(nnlib.__file__).parent
MODULES = sorted(ROOT.rglob("*.py"))


def function_lengths(source: str) -> dict[str, int]:
    """``{"Class.method": lines, "function": lines, ...}`` for every function in ``source``."""
    lengths = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            name = f"{prefix}{getattr(child, 'name', '')}"
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = child.body[0]
                doc = (
                    isinstance(first, ast.Expr)
                    and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)
                )
                lengths[name] = (
                    child.end_lineno
                    - child.lineno
                    + 1
                    - (first.end_lineno - first.lineno + 1 if doc else 0)
                )
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return lengths


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_no_function_is_longer_than_60_lines(path):
    too_long = {
        name: n
        for name, n in function_lengths(path.read_text(encoding="utf-8")).items()
        if n > LIMIT
    }
    assert too_long == {}, (
        f"{path.name}: functions over {LIMIT} lines (without docstrings): {too_long}"
    )


def test_the_count_is_right_and_can_fail():
    source = (
        'def f(x):\n    """Doc\n    string."""\n'
        + "    x += 1\n" * 61
        + "    return x\n\n\nclass C:\n    def g(self):\n        def h():\n            pass\n        return h\n"
    )
    assert function_lengths(source) == {"f": 63, "C.g": 4, "C.g.h": 2}
    assert [p.name for p in MODULES if p.name in ("training.py", "pipelines.py")] == [
        "pipelines.py",
        "training.py",
    ]

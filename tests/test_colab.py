"""tools/colab.py: every chapter notebook starts with the Colab install cell, written from the one
repository URL of _config.yml that the Colab launch buttons use; the cell acts only on Colab."""

from __future__ import annotations

import json
import sys
import tomllib
import types
from pathlib import Path

import nbformat
import pytest

from tools import colab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(
    p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]
URL = "https://github.com/someone/some-book"


def _run(source: str, monkeypatch, on_colab: bool) -> list[list[str]]:
    """Execute the cell's source; return the commands it ran (subprocess.run is recorded, not run)."""
    import subprocess

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(list(cmd)))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<colab cell>", "exec"), {})
    return calls


def test_the_cell_installs_nnlib_only_on_colab(monkeypatch, capsys):
    source = colab.colab_cell(URL, "main")
    assert _run(source, monkeypatch, on_colab=False) == []
    assert capsys.readouterr() == ("", "")  # elsewhere: nothing runs and nothing is printed
    (cmd,) = _run(source, monkeypatch, on_colab=True)
    assert cmd == [sys.executable, "-m", "pip", "install", "--quiet", f"nnlib @ git+{URL}@main"]
    assert capsys.readouterr() == ("", "")


def test_the_cell_keeps_colabs_tensorflow():
    # pyproject's [tf] extra pins TensorFlow; on Colab it would replace the preinstalled build.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("tensorflow") for dep in project["optional-dependencies"]["tf"])
    assert not any(dep.startswith("tensorflow") for dep in project["dependencies"])
    code = colab.colab_cell(URL).split("import sys", 1)[1]  # below the comment lines
    assert "[tf]" not in code and "tensorflow" not in code


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"`url` must be https://github.com/<owner>/<repo>. Received: url='https://gitlab.com/a/b'",
    ):
        colab.colab_cell("https://gitlab.com/a/b")
    with pytest.raises(
        ValueError, match=r"`branch` must be a git branch name. Received: branch='main; rm'"
    ):
        colab.colab_cell(URL, "main; rm")
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://example.org/book\n", encoding="utf-8"
    )
    with pytest.raises(
        ValueError, match=r"`repository.url` in _config.yml must be a GitHub repository"
    ):
        colab.colab_config(tmp_path)
    (tmp_path / "_config.yml").write_text(
        f"repository:\n  url: {URL}\nlaunch_buttons: {{}}\n", encoding="utf-8"
    )
    with pytest.raises(
        ValueError,
        match=r"`launch_buttons.colab_url` in _config.yml must be https://colab.research.google.com",
    ):
        colab.colab_config(tmp_path)


def test_sync_inserts_then_updates_the_first_code_cell(tmp_path):
    path = tmp_path / "chapter.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("seed_everything(0)"),
    ]
    nbformat.write(nb, path)
    assert colab.sync_notebook(path, colab.colab_cell(URL)) is True
    cells = nbformat.read(path, as_version=4).cells
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]
    assert cells[1].source == colab.colab_cell(URL) and cells[1].metadata["tags"] == ["remove-cell"]
    assert cells[2].source == "seed_everything(0)"
    before = path.read_bytes()
    assert (
        colab.sync_notebook(path, colab.colab_cell(URL)) is False and path.read_bytes() == before
    )  # idempotent
    other = "https://github.com/fork/book"
    assert (
        colab.sync_notebook(path, colab.colab_cell(other, "dev")) is True
    )  # a new URL updates the same cell
    cells = nbformat.read(path, as_version=4).cells
    assert len(cells) == 3 and f"git+{other}@dev" in cells[1].source


def test_launch_buttons_point_at_the_configured_repository():
    config = colab.colab_config()
    assert config["colab_url"] == "https://colab.research.google.com"
    notebook = ROOT / "chapters" / "03_algorithms" / "01_activations.ipynb"
    owner_repo = config["url"].removeprefix("https://github.com/")
    assert colab.colab_url(notebook) == (
        f"https://colab.research.google.com/github/{owner_repo}/blob/"
        f"{config['branch']}/chapters/03_algorithms/01_activations.ipynb"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_starts_with_the_colab_cell(path: Path):
    # Fails for a notebook that `python -m tools.colab sync` has not reached, or whose cell names
    # another repository than _config.yml's (the launch buttons' repository).
    config = colab.colab_config()
    cells = [
        c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"
    ]
    first = "".join(cells[0]["source"])
    assert first == colab.colab_cell(config["url"], config["branch"]), (
        "the first code cell is not the Colab install cell for _config.yml's repository: "
        "run `python -m tools.colab sync` and re-execute the notebook"
    )
    assert f"git+{config['url']}@{config['branch']}" in first
    assert colab.TAG in cells[0]["metadata"].get("tags", [])
    assert cells[0]["outputs"] == [], "off Colab the cell prints nothing"

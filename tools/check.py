"""Check my machine: re-execute the book's notebooks and compare every printed number with the book.

Usage (from the repository root; ``bash scripts/check_machine.sh`` does the same in the project's venv)::

    python -m tools.check                                   # every notebook under chapters/
    python -m tools.check chapters/03_algorithms --jobs 2   # one part, two notebooks at a time
    python -m tools.check chapters/04_code/01_binary_classifier.ipynb --rtol 1e-4

Each notebook runs top to bottom in a fresh kernel of the current environment (the file is not
changed). Every code cell's outputs are compared with the stored ones the way strict nbval sees them
(stdout, stderr, ``text/plain`` and errors; images are not compared; ``nbval_sanitize.cfg`` applies
to both sides; ``NBVAL_IGNORE_OUTPUT``/``NBVAL_SKIP`` cells are counted as ignored), but number by
number: a cell is *identical*, *within tolerance* (every number within ``rtol`` or one unit in its
last printed digit) or *different*. The report goes to stdout and to ``<report-dir>/report.{md,html,json}``,
with this machine's environment beside the one that recorded the outputs and the likely causes of
any difference. Exit status: 0 when no compared cell is different, 1 otherwise, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TextIO

__all__ = [
    "IDENTICAL",
    "WITHIN",
    "DIFFERENT",
    "IGNORED",
    "Comparison",
    "CellResult",
    "NotebookResult",
    "Block",
    "load_sanitizers",
    "sanitize",
    "tokenize",
    "compare_number",
    "compare_text",
    "nbval_options",
    "compare_cell",
    "compare_notebooks",
    "check_notebook",
    "check_all",
    "Progress",
    "verdict",
    "build_report",
    "render_text",
    "render_markdown",
    "render_html",
    "report_json",
    "write_reports",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent
SANITIZE_FILE = ROOT / "nbval_sanitize.cfg"

IDENTICAL, WITHIN, DIFFERENT, IGNORED = "identical", "within tolerance", "different", "ignored"
_RANK = {IDENTICAL: 0, WITHIN: 1, DIFFERENT: 2}
_SHORT = 200  # characters of expected/got kept in the report

# ----------------------------------------------------------------------------- text and numbers

# A number token: optional sign (not after a word, a number or a closing bracket, where "-" is an
# operator), then nan/inf or a decimal with optional exponent. Versions (3.11.7) and words that
# contain digits (float32, dense_3, conv2d) are consumed as text so they never count as numbers.
_TOKEN = re.compile(
    r"""
      (?P<version>\d+(?:\.\d+){2,})
    | (?P<number>(?:(?<![\w.)\]])[+-])?
                 (?: (?i:nan|inf(?:inity)?)(?!\w)
                   | (?<![\w.])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?!\d|\.\d) ))
    | (?P<word>[^\W\d]\w*)
    """,
    re.VERBOSE,
)
_SANITIZE_PAIR = re.compile(r"^regex: (.*)$\n^replace: (.*)$", re.MULTILINE)  # nbval's own parser
_CARRIAGE_RETURN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)  # as nbval.plugin.coalesce_streams
_INTEGER = re.compile(r"[+-]?\d+")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _check_rtol(rtol: float) -> None:
    if not (isinstance(rtol, (int, float)) and 0 <= rtol < 1):
        raise ValueError(f"`rtol` must be >= 0 and < 1. Received: rtol={rtol!r}")


def _text(value: str | Sequence[str]) -> str:
    """A notebook string field, which may be stored as a list of lines."""
    return value if isinstance(value, str) else "".join(value)


def _shorten(text: str, limit: int = _SHORT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=8)
def load_sanitizers(path: str | Path = SANITIZE_FILE) -> tuple[tuple[str, str], ...]:
    """The ``(regex, replace)`` pairs of an nbval sanitize file, parsed exactly as nbval 0.11 parses them."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"`path` must be an nbval sanitize file. Received: path={str(path)!r}")
    return tuple(_SANITIZE_PAIR.findall(path.read_text(encoding="utf-8")))


def sanitize(text: str, sanitizers: Iterable[tuple[str, str]]) -> str:
    """Apply every ``re.sub(regex, replace, text)`` in order, as nbval does to both sides."""
    for regex, replace in sanitizers:
        text = re.sub(regex, replace, text)
    return text


def tokenize(text: str) -> tuple[list[str], list[str]]:
    """Split ``text`` into the number literals it contains and the text around them.

    Returns:
        ``(segments, numbers)`` with ``len(segments) == len(numbers) + 1``: the text before the first
        number, between consecutive numbers and after the last one.
    """
    segments, numbers, last = [], [], 0
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "number":
            segments.append(text[last : match.start()])
            numbers.append(match.group())
            last = match.end()
    segments.append(text[last:])
    return segments, numbers


def _last_digit_unit(literal: str) -> Decimal | None:
    """One unit in the last printed digit of a decimal literal (0.483 -> 0.001, 2.9e+04 -> 1000)."""
    try:
        exponent = Decimal(literal).as_tuple().exponent
    except InvalidOperation:
        return None
    return Decimal(1).scaleb(exponent) if isinstance(exponent, int) else None


def compare_number(expected: str, got: str, rtol: float = 1e-5) -> tuple[str, float]:
    """Compare two number literals.

    Returns:
        ``(status, relative difference)``: :data:`IDENTICAL` for the same literal; :data:`WITHIN` when
        ``|got - expected| <= rtol * max(|got|, |expected|)`` or when they differ by at most one unit in
        the last printed digit of ``expected`` (a rounding flip); :data:`DIFFERENT` otherwise. Integer
        literals (counts, labels, shapes, seeds) are exact by construction: any change is
        :data:`DIFFERENT`. The relative difference is ``|got - expected| / max(|got|, |expected|)``
        (0 when both are 0).
    """
    _check_rtol(rtol)
    if expected == got:
        return IDENTICAL, 0.0
    e, g = float(expected), float(got)
    if _INTEGER.fullmatch(expected) and _INTEGER.fullmatch(got):
        return (WITHIN, 0.0) if e == g else (DIFFERENT, abs(g - e) / max(abs(e), abs(g)))
    if math.isnan(e) or math.isnan(g) or math.isinf(e) or math.isinf(g):
        same = (math.isnan(e) and math.isnan(g)) or e == g
        return (WITHIN, 0.0) if same else (DIFFERENT, math.inf)
    scale = max(abs(e), abs(g))
    rel = abs(g - e) / scale if scale else 0.0
    if abs(g - e) <= rtol * scale:
        return WITHIN, rel
    unit = _last_digit_unit(expected)
    if unit is not None and abs(Decimal(got) - Decimal(expected)) <= unit:
        return WITHIN, rel
    return DIFFERENT, rel


def _compare_tokens(expected: str, got: str, rtol: float) -> tuple[str, float]:
    """Status and largest within-tolerance relative difference of two (sanitized) texts."""
    if expected == got:
        return IDENTICAL, 0.0
    seg_e, num_e = tokenize(expected)
    seg_g, num_g = tokenize(got)
    if len(num_e) != len(num_g) or seg_e != seg_g:
        return DIFFERENT, 0.0
    worst, largest = IDENTICAL, 0.0
    for e, g in zip(num_e, num_g):
        status, rel = compare_number(e, g, rtol)
        if status == DIFFERENT:
            return DIFFERENT, 0.0
        worst, largest = max(worst, status, key=_RANK.get), max(largest, rel)
    return worst, largest


def _differing_lines(expected: str, got: str, rtol: float) -> tuple[str, str]:
    """The first (up to three) lines in which two different texts differ, shortened for the report."""
    e_lines, g_lines = expected.splitlines(), got.splitlines()
    if len(e_lines) == len(g_lines):
        pairs = [
            (a, b) for a, b in zip(e_lines, g_lines) if _compare_tokens(a, b, rtol)[0] == DIFFERENT
        ]
        e_sel, g_sel = [a for a, _ in pairs], [b for _, b in pairs]
    else:
        ops = difflib.SequenceMatcher(None, e_lines, g_lines, autojunk=False).get_opcodes()
        _, i1, i2, j1, j2 = next(op for op in ops if op[0] != "equal")
        e_sel, g_sel = e_lines[i1:i2], g_lines[j1:j2]
    if not e_sel and not g_sel:  # only line endings differ
        return _shorten(repr(expected)), _shorten(repr(got))
    return _shorten("\n".join(e_sel[:3])), _shorten("\n".join(g_sel[:3]))


@dataclass(frozen=True)
class Comparison:
    """The result of comparing one stored text with its re-executed version.

    Attributes:
        status: :data:`IDENTICAL`, :data:`WITHIN` or :data:`DIFFERENT`.
        max_rel_diff: the largest relative difference among numbers within tolerance (0.0 if none).
        expected: for :data:`DIFFERENT`, the stored line(s) that differ (shortened), else "".
        got: the re-executed line(s) in their place.
    """

    status: str
    max_rel_diff: float = 0.0
    expected: str = ""
    got: str = ""


def compare_text(
    expected: str, got: str, rtol: float = 1e-5, sanitizers: Iterable[tuple[str, str]] | None = None
) -> Comparison:
    """Compare a stored output text with a re-executed one, number by number.

    Both sides are sanitized first (``sanitizers``; default: the repository's ``nbval_sanitize.cfg``).
    The text between numbers and the count of numbers must be the same; each number is compared by
    :func:`compare_number`. The result is the worst status of all numbers.
    """
    _check_rtol(rtol)
    patterns = load_sanitizers() if sanitizers is None else tuple(sanitizers)
    expected, got = sanitize(expected, patterns), sanitize(got, patterns)
    status, largest = _compare_tokens(expected, got, rtol)
    if status != DIFFERENT:
        return Comparison(status, largest)
    return Comparison(DIFFERENT, 0.0, *_differing_lines(expected, got, rtol))


# ----------------------------------------------------------------------------- cells

_COMMENT_MARKERS = {  # nbval 0.11 plugin.comment_markers
    "PYTEST_VALIDATE_IGNORE_OUTPUT": ("check", False),
    "NBVAL_IGNORE_OUTPUT": ("check", False),
    "NBVAL_CHECK_OUTPUT": ("check", True),
    "NBVAL_RAISES_EXCEPTION": ("check_exception", True),
    "NBVAL_SKIP": ("skip", True),
}
_TAG_MARKERS = {name.lower().replace("_", "-"): value for name, value in _COMMENT_MARKERS.items()}
_TAG_MARKERS["raises-exception"] = ("check_exception", True)
_LABELS = {
    "stdout": "stdout output",
    "stderr": "stderr output",
    "text/plain": "text/plain output",
    "error": "error",
}


def nbval_options(cell: Mapping) -> dict[str, bool]:
    """How strict nbval 0.11 treats a code cell: ``check`` (compare outputs), ``skip``, ``check_exception``.

    Metadata tags (``nbval-ignore-output``, ``nbval-skip``, ``raises-exception``...) first, then comment
    markers, which win: a line of the source that is a comment whose text is exactly
    ``NBVAL_IGNORE_OUTPUT``, ``NBVAL_SKIP``, ``NBVAL_CHECK_OUTPUT`` or ``NBVAL_RAISES_EXCEPTION``.
    """
    options = {"check": True, "skip": False, "check_exception": False}
    tags = cell.get("metadata", {}).get("tags")
    for tag in tags if isinstance(tags, list) else []:
        if tag in _TAG_MARKERS:
            key, value = _TAG_MARKERS[tag]
            options[key] = value
    for line in _text(cell.get("source", "")).splitlines():
        line = line.strip()
        if line.startswith("#") and line.lstrip("#").strip() in _COMMENT_MARKERS:
            key, value = _COMMENT_MARKERS[line.lstrip("#").strip()]
            options[key] = value
    return options


def _coalesce_streams(outputs: Iterable[Mapping]) -> list[Mapping]:
    """Merge stream outputs of the same name and drop text overwritten by ``\\r``, as nbval does.

    (nbval's backspace handling never runs, so backspaces are kept here too.) The input is not changed.
    """
    merged: list[Mapping] = []
    streams: dict[str, dict] = {}
    for out in outputs:
        if out.get("output_type") != "stream":
            merged.append(out)
        elif out.get("name") in streams:
            streams[out.get("name")]["text"] += _text(out.get("text", ""))
        else:
            streams[out.get("name")] = {
                "output_type": "stream",
                "name": out.get("name"),
                "text": _text(out.get("text", "")),
            }
            merged.append(streams[out.get("name")])
    for stream in streams.values():
        stream["text"] = _CARRIAGE_RETURN.sub("", stream["text"])
    return merged


def _flatten(outputs: Iterable[Mapping]) -> dict[str, list[str]]:
    """Outputs grouped as nbval compares them: ``stdout``, ``stderr``, ``text/plain`` and ``error`` texts."""
    flat: dict[str, list[str]] = defaultdict(list)
    for out in _coalesce_streams(outputs):
        kind = out.get("output_type")
        if kind == "stream":
            flat[out.get("name") or "stdout"].append(out["text"])
        elif kind in ("display_data", "execute_result") and "text/plain" in out.get("data", {}):
            flat["text/plain"].append(_text(out["data"]["text/plain"]))
        elif kind == "error":
            flat["error"].append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return dict(flat)


@dataclass
class CellResult:
    """One code cell's verdict.

    Attributes:
        notebook: the notebook's path as shown in the report.
        index: the code-cell index as nbval names it (``Cell 0`` is the first code cell).
        first_line: the first non-blank line of the cell's source.
        status: :data:`IDENTICAL`, :data:`WITHIN`, :data:`DIFFERENT` or :data:`IGNORED`.
        max_rel_diff: largest relative difference among numbers within tolerance.
        reason: what differs (or why the cell is ignored).
        expected: the stored line(s) that differ, shortened.
        got: the re-executed line(s), shortened.
    """

    notebook: str
    index: int
    first_line: str
    status: str
    max_rel_diff: float = 0.0
    reason: str = ""
    expected: str = ""
    got: str = ""

    @property
    def name(self) -> str:
        """``Cell N``, nbval's name for the cell."""
        return f"Cell {self.index}"


def _first_line(cell: Mapping) -> str:
    lines = [line.strip() for line in _text(cell.get("source", "")).splitlines() if line.strip()]
    return _shorten(lines[0], 120) if lines else ""


def _compare_outputs(
    stored: Mapping, run: Mapping, rtol: float, sanitizers: Iterable[tuple[str, str]] | None
) -> tuple[Comparison, str]:
    """Compare two cells' outputs group by group; returns the worst comparison and what differs."""
    exp, got = _flatten(stored.get("outputs", [])), _flatten(run.get("outputs", []))
    vanished, new = [k for k in exp if k not in got], [k for k in got if k not in exp]
    if vanished:
        text = exp[vanished[0]][0].rstrip("\n")
        return Comparison(DIFFERENT, 0.0, _shorten(text), ""), f"{_LABELS[vanished[0]]} vanished"
    if new:
        text = got[new[0]][0].rstrip("\n")
        return Comparison(
            DIFFERENT, 0.0, "", _shorten(text)
        ), f"new {_LABELS[new[0]]}: {_shorten(text.strip(), 80)}"
    worst, largest = IDENTICAL, 0.0
    for key, values in exp.items():
        if len(values) != len(got[key]):
            return (
                Comparison(
                    DIFFERENT, 0.0, _shorten("\n".join(values)), _shorten("\n".join(got[key]))
                ),
                f"{len(got[key])} {_LABELS[key]}s instead of {len(values)}",
            )
        for e, g in zip(values, got[key]):
            result = compare_text(e, g, rtol, sanitizers)
            if result.status == DIFFERENT:
                return result, f"{_LABELS[key]} differs"
            worst, largest = (
                max(worst, result.status, key=_RANK.get),
                max(largest, result.max_rel_diff),
            )
    return Comparison(worst, largest), ""


def _raised(cell: Mapping) -> str | None:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}" if errors else None


def compare_cell(
    stored_cell: Mapping,
    run_cell: Mapping,
    rtol: float = 1e-5,
    *,
    index: int = 0,
    notebook: str = "",
    sanitizers: Iterable[tuple[str, str]] | None = None,
) -> CellResult:
    """Compare one stored code cell with its re-executed version, mirroring strict nbval 0.11.

    In nbval's order: a skipped cell is ignored; a cell that raised without being marked to raise is
    different; a cell never run in the stored notebook is ignored (different if it has outputs); a
    cell whose output is not checked is ignored; otherwise its outputs are compared with
    :func:`compare_text`, and a group of outputs (stdout, stderr, text/plain, error) that appeared,
    vanished or changed in number makes the cell different.
    """
    _check_rtol(rtol)
    base = {"notebook": notebook, "index": index, "first_line": _first_line(stored_cell)}
    options = nbval_options(stored_cell)
    if options["skip"]:
        return CellResult(**base, status=IGNORED, reason="skipped (NBVAL_SKIP)")
    raised = _raised(run_cell)
    if raised and not options["check_exception"]:
        return CellResult(
            **base,
            status=DIFFERENT,
            reason=f"the cell raised {_shorten(raised, 120)}",
            expected=_shorten(_raised(stored_cell) or "no error"),
            got=_shorten(raised),
        )
    if stored_cell.get("execution_count") is None:
        if stored_cell.get("outputs"):
            return CellResult(**base, status=DIFFERENT, reason="unrun reference cell has outputs")
        return CellResult(**base, status=IGNORED, reason="not run in the stored notebook")
    if not options["check"]:
        return CellResult(**base, status=IGNORED, reason="output not checked (NBVAL_IGNORE_OUTPUT)")
    comparison, reason = _compare_outputs(stored_cell, run_cell, rtol, sanitizers)
    return CellResult(
        **base,
        status=comparison.status,
        max_rel_diff=comparison.max_rel_diff,
        reason=reason,
        expected=comparison.expected,
        got=comparison.got,
    )


def _code_cells(nb: Mapping) -> list[tuple[int, int, Mapping]]:
    """``(index in nb.cells, code-cell index, cell)`` for every code cell."""
    cells = [
        (i, cell) for i, cell in enumerate(nb.get("cells", [])) if cell.get("cell_type") == "code"
    ]
    return [(i, n, cell) for n, (i, cell) in enumerate(cells)]


def compare_notebooks(
    stored_nb: Mapping,
    run_nb: Mapping,
    rtol: float = 1e-5,
    *,
    notebook: str = "",
    sanitizers: Iterable[tuple[str, str]] | None = None,
) -> list[CellResult]:
    """Compare every code cell of a stored notebook with the same cell of its re-executed copy."""
    stored, run = _code_cells(stored_nb), _code_cells(run_nb)
    if len(stored) != len(run):
        raise ValueError(
            f"`run_nb` must have the code cells of `stored_nb` ({len(stored)}). "
            f"Received: run_nb with {len(run)} code cells"
        )
    return [
        compare_cell(s, r, rtol, index=n, notebook=notebook, sanitizers=sanitizers)
        for (_, n, s), (_, _, r) in zip(stored, run)
    ]


# ----------------------------------------------------------------------------- notebooks


@dataclass
class NotebookResult:
    """Every code cell's verdict for one notebook, its run time and, if it failed to run, why."""

    path: str
    cells: list[CellResult] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def count(self, status: str) -> int:
        """How many cells have ``status``."""
        return sum(cell.status == status for cell in self.cells)

    @property
    def max_rel_diff(self) -> float:
        """The largest relative difference among the notebook's numbers within tolerance."""
        return max((cell.max_rel_diff for cell in self.cells), default=0.0)

    @property
    def part(self) -> str:
        """The part (chapter folder) the notebook belongs to."""
        return str(Path(self.path).parent)

    @property
    def passed(self) -> bool:
        """True when the notebook ran and no compared cell is different."""
        return self.error is None and self.count(DIFFERENT) == 0


def _display(path: Path) -> str:
    """The path relative to the repository when it lies inside it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _describe(exc: BaseException) -> str:
    """One line naming an execution failure (the cell's exception for nbclient's CellExecutionError)."""
    if getattr(exc, "ename", None):
        text = f"{exc.ename}: {exc.evalue}"
    else:
        text = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
    return _shorten(_ANSI.sub("", text), _SHORT)


def _failed_cells(
    stored: Mapping,
    partial: Mapping | None,
    failed_at: int | None,
    rtol: float,
    notebook: str,
    message: str,
) -> list[CellResult]:
    """Cells before the failure compared as usual; the failing cell and every later one different."""
    partial_cells = partial.get("cells", []) if partial is not None else []
    results = []
    for i, n, cell in _code_cells(stored):
        if failed_at is not None and i < failed_at and i < len(partial_cells):
            results.append(compare_cell(cell, partial_cells[i], rtol, index=n, notebook=notebook))
            continue
        reason = (
            f"execution failed: {message}"
            if i == failed_at
            else f"not run: the notebook stopped earlier ({message})"
        )
        results.append(
            CellResult(notebook, n, _first_line(cell), DIFFERENT, reason=_shorten(reason))
        )
    return results


def check_notebook(path: Path, rtol: float = 1e-5, timeout: int = 600) -> NotebookResult:
    """Re-execute one notebook (not writing it) and compare every code cell with the stored outputs."""
    import nbformat

    from tools.notebooks import run_notebook

    name = _display(path)
    stored = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        run, seconds = run_notebook(Path(path), timeout=timeout)
    except Exception as exc:  # a notebook that fails still gets a report
        message = _describe(exc)
        cells = _failed_cells(
            stored,
            getattr(exc, "notebook", None),
            getattr(exc, "cell_index", None),
            rtol,
            name,
            message,
        )
        return NotebookResult(name, cells, time.perf_counter() - start, message)
    return NotebookResult(name, compare_notebooks(stored, run, rtol, notebook=name), seconds)


# ----------------------------------------------------------------------------- progress


class Progress:
    """A progress bar on stderr: one line rewritten with ``\\r`` on a terminal, plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 20) -> None:
        self.total, self.done, self.width = total, 0, width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0

    def line(self, label: str, note: str = "") -> str:
        """The bar, the count and ``label`` (e.g. ``[####----]  8/29  path  9.4 s``)."""
        filled = round(self.width * self.done / self.total) if self.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        return f"[{bar}] {self.done:>{len(str(self.total))}}/{self.total}  {label}" + (
            f"  {note}" if note else ""
        )

    def update(self, label: str, note: str = "", advance: bool = True) -> None:
        """Count one more notebook done (unless ``advance`` is False) and show ``label``."""
        self.done += advance
        text = self.line(label, note)
        if self.tty:
            self.stream.write("\r" + text.ljust(self._last))
            self._last = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the rewritten line."""
        if self.tty and self._last:
            self.stream.write("\n")
            self.stream.flush()


def _note(result: NotebookResult) -> str:
    outcome = (
        "failed to run"
        if result.error
        else (f"{result.count(DIFFERENT)} different" if result.count(DIFFERENT) else "ok")
    )
    return f"{result.seconds:.1f} s  {outcome}"


def check_all(
    paths: Sequence[Path],
    rtol: float = 1e-5,
    jobs: int = 2,
    timeout: int = 600,
    progress: Progress | None = None,
) -> list[NotebookResult]:
    """Check ``paths`` with up to ``jobs`` notebooks at once; results in the order of ``paths``."""
    _check_rtol(rtol)
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"`jobs` must be an integer >= 1. Received: jobs={jobs!r}")
    progress = progress or Progress(len(paths))
    progress.update(f"running {min(jobs, len(paths))} at a time", advance=False)
    results: dict[Path, NotebookResult] = {}
    with ThreadPoolExecutor(
        max_workers=jobs
    ) as pool:  # each nbclient starts its own kernel process
        futures = {pool.submit(check_notebook, path, rtol, timeout): path for path in paths}
        for future in as_completed(futures):
            result = results[futures[future]] = future.result()
            progress.update(result.path, _note(result))
    progress.close()
    return [results[path] for path in paths]


# ----------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Block:
    """One piece of the report: a heading (``h1``-``h3``), a paragraph (``p``), a ``table``, a ``code``
    block (``text`` its label), a numbered ``list``, or a different ``cell`` (``text`` its first line,
    ``items[0]`` what differs)."""

    kind: str
    text: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    items: tuple[str, ...] = ()


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _rel(value: float) -> str:
    return f"{value:.1e}" if value else "–"


def _chapter_blocks(results: Sequence[NotebookResult]) -> list[Block]:
    headers = (
        "notebook",
        "identical",
        "within tolerance",
        "different",
        "ignored",
        "largest rel. diff",
        "time",
    )
    parts: dict[str, list[NotebookResult]] = {}
    for result in results:
        parts.setdefault(result.part, []).append(result)
    blocks = []
    for part, members in parts.items():
        rows = tuple(
            (
                Path(r.path).name + (" (failed to run)" if r.error else ""),
                str(r.count(IDENTICAL)),
                str(r.count(WITHIN)),
                str(r.count(DIFFERENT)),
                str(r.count(IGNORED)),
                _rel(r.max_rel_diff),
                f"{r.seconds:.1f} s",
            )
            for r in members
        )
        blocks += [Block("h2", part), Block("table", headers=headers, rows=rows)]
    return blocks


def _different_blocks(results: Sequence[NotebookResult]) -> list[Block]:
    cells = [cell for result in results for cell in result.cells if cell.status == DIFFERENT]
    blocks = [Block("h2", f"Different cells ({len(cells)})")]
    if not cells:
        return blocks + [Block("p", "None: every compared cell is identical or within tolerance.")]
    for cell in cells:
        blocks += [
            Block("h3", f"{cell.notebook} {cell.name}"),
            Block("cell", cell.first_line, items=(cell.reason,)),
        ]
        if cell.expected or cell.got:
            blocks += [
                Block("code", "expected", items=(cell.expected or "(nothing)",)),
                Block("code", "got", items=(cell.got or "(nothing)",)),
            ]
    return blocks


def _fmt(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    return str(value)


_ENV_ITEMS = (
    ("Python", "python"),
    ("platform", "platform"),
    ("CPU", "cpu"),
    ("CPU vendor", "cpu_vendor"),
    ("instruction set", "isa"),
    ("CPU threads", "cpu_count"),
    ("oneDNN (TF_ENABLE_ONEDNN_OPTS)", "onednn"),
    ("GPUs", "gpus"),
    ("TensorFlow built with CUDA", "tensorflow_built_with_cuda"),
    ("BLAS (NumPy)", "blas"),
)


def _fmt_env(key: str, value: object) -> str:
    if key == "onednn" and isinstance(value, bool):
        return "on" if value else "off"
    return _fmt(value)


def _environment_rows(mine: Mapping, reference: Mapping) -> tuple[tuple[str, str, str, str], ...]:
    """``(item, this machine, reference, same?)`` for the facts, every package and every variable set."""
    rows = [
        (label, _fmt_env(key, mine.get(key)), _fmt_env(key, reference.get(key)))
        for label, key in _ENV_ITEMS
    ]
    for group, unset in (("packages", "not installed"), ("env", "(unset)")):
        m, r = mine.get(group) or {}, reference.get(group) or {}
        for name in list(r) + [k for k in m if k not in r]:
            rows.append(
                (
                    name if group == "packages" else f"${name}",
                    m.get(name, unset),
                    r.get(name, unset),
                )
            )
    return tuple((label, a, b, "yes" if a == b else "no") for label, a, b in rows)


def _environment_blocks(mine: Mapping, reference: Mapping, causes: Sequence[str]) -> list[Block]:
    headers = ("", "this machine", "reference (recorded the outputs)", "same")
    return [
        Block("h2", "Environment"),
        Block("table", headers=headers, rows=_environment_rows(mine, reference)),
        Block("p", "Likely causes of any difference:"),
        Block(
            "list",
            items=tuple(causes)
            or ("none: this machine matches the reference in every respect that changes rounding",),
        ),
    ]


def verdict(results: Sequence[NotebookResult], causes: Sequence[str], rtol: float) -> str:
    """The report's last line: PASS or FAIL, with the counts and the likeliest cause of a difference."""
    cells = [cell for result in results for cell in result.cells]
    n = {
        status: sum(cell.status == status for cell in cells)
        for status in (IDENTICAL, WITHIN, DIFFERENT, IGNORED)
    }
    compared = n[IDENTICAL] + n[WITHIN] + n[DIFFERENT]
    failed = [r for r in results if r.error]
    if not n[DIFFERENT] and not failed:
        largest = max((r.max_rel_diff for r in results), default=0.0)
        spread = f", largest relative difference {largest:.1e}" if largest else ""
        return (
            f"PASS: all {compared} compared cells of {_plural(len(results), 'notebook')} match the book "
            f"({n[IDENTICAL]} identical, {n[WITHIN]} within tolerance{spread}; rtol {rtol:g}; "
            f"{n[IGNORED]} ignored)."
        )
    notebooks = sum(not r.passed for r in results)
    cause = (
        f"likeliest cause: {causes[0]}"
        if causes
        else "this machine matches the reference in every respect checked, so a change to the notebooks or nnlib "
        "since the outputs were stored is more likely"
    )
    ran = f"; {len(failed)} failed to run" if failed else ""
    return (
        f"FAIL: {n[DIFFERENT]} of {compared} compared cells differ from the book, in {notebooks} of "
        f"{_plural(len(results), 'notebook')}{ran} (rtol {rtol:g}); {cause}."
    )


def build_report(
    results: Sequence[NotebookResult],
    mine: Mapping,
    reference: Mapping,
    rtol: float,
    causes: Sequence[str] | None = None,
) -> list[Block]:
    """The whole report: a table per part, the different cells, the environments, the verdict."""
    from tools.environment import likely_causes

    causes = likely_causes(dict(mine), dict(reference)) if causes is None else causes
    intro = (
        f"{_plural(len(results), 'notebook')} re-executed and compared with the outputs stored in the book, "
        f"number by number: within tolerance means |got - expected| <= {rtol:g} x max(|got|, |expected|) or one unit "
        "in the last printed digit."
    )
    return (
        [Block("h1", "Check of this machine against the book"), Block("p", intro)]
        + _chapter_blocks(results)
        + _different_blocks(results)
        + _environment_blocks(mine, reference, causes)
        + [Block("h2", "Verdict"), Block("p", verdict(results, causes, rtol))]
    )


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line("-" * w for w in widths)] + [line(row) for row in rows])


def render_text(blocks: Sequence[Block]) -> str:
    """The report as plain text for a terminal."""
    out = []
    for block in blocks:
        if block.kind in ("h1", "h2"):
            out.append(f"\n{block.text}\n{('=' if block.kind == 'h1' else '-') * len(block.text)}")
        elif block.kind == "h3":
            out.append(f"\n{block.text}")
        elif block.kind == "table":
            out.append(_text_table(block.headers, block.rows))
        elif block.kind == "code":
            lines = block.items[0].splitlines() or [""]
            out.append(
                "\n".join(
                    [f"  {block.text + ':':10}{lines[0]}"] + [f"  {'':10}{s}" for s in lines[1:]]
                )
            )
        elif block.kind == "list":
            out.append("\n".join(f"  {i}. {item}" for i, item in enumerate(block.items, 1)))
        elif block.kind == "cell":
            out.append(f"{block.text}\n  {block.items[0]}")
        else:
            out.append(block.text)
    return "\n".join(out).lstrip("\n") + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_escape(text: str) -> str:
    """Text that Markdown shows literally (no emphasis, links or HTML)."""
    return re.sub(r"([\\`*_\[\]<>~|])", r"\\\1", text)


def _md_code_span(text: str) -> str:
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks} {text} {ticks}" if "`" in text else f"`{text}`"


def _md_code(label: str, text: str) -> str:
    fence = "`" * max(3, max((len(run) + 1 for run in re.findall(r"`+", text)), default=0))
    return f"{label.capitalize()}:\n\n{fence}text\n{text}\n{fence}"


def render_markdown(blocks: Sequence[Block]) -> str:
    """The report as Markdown (CommonMark plus tables)."""
    out = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            out.append("#" * int(block.kind[1]) + " " + block.text)
        elif block.kind == "table":
            rows = [block.headers, ["---"] * len(block.headers)] + list(block.rows)
            out.append(
                "\n".join(
                    "| " + " | ".join(_md_cell(c) if c != "---" else c for c in row) + " |"
                    for row in rows
                )
            )
        elif block.kind == "code":
            out.append(_md_code(block.text, block.items[0]))
        elif block.kind == "list":
            out.append(
                "\n".join(f"{i}. {_md_escape(item)}" for i, item in enumerate(block.items, 1))
            )
        elif block.kind == "cell":
            out.append(f"{_md_code_span(block.text)}: {_md_escape(block.items[0])}")
        else:
            out.append(_md_escape(block.text))
    return "\n\n".join(out) + "\n"


_CSS = """body { font-family: system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
pre { background: #f6f8fa; padding: 0.6em; overflow-x: auto; }"""


def render_html(markdown: str, title: str = "Check of this machine against the book") -> str:
    """A standalone HTML page of the Markdown report (rendered by markdown-it-py)."""
    from html import escape

    from markdown_it import MarkdownIt

    body = (
        MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    )  # outputs may hold "<...>"
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def report_json(
    results: Sequence[NotebookResult],
    mine: Mapping,
    reference: Mapping,
    rtol: float,
    causes: Sequence[str],
) -> dict:
    """The results as a JSON-ready ``dict``."""
    return {
        "rtol": rtol,
        "passed": all(r.passed for r in results),
        "verdict": verdict(results, causes, rtol),
        "notebooks": [
            {
                "path": r.path,
                "part": r.part,
                "seconds": round(r.seconds, 2),
                "error": r.error,
                "counts": {s: r.count(s) for s in (IDENTICAL, WITHIN, DIFFERENT, IGNORED)},
                "max_rel_diff": r.max_rel_diff,
                "cells": [asdict(c) for c in r.cells],
            }
            for r in results
        ],
        "environment": {
            "this_machine": dict(mine),
            "reference": dict(reference),
            "likely_causes": list(causes),
        },
    }


def write_reports(report_dir: Path, blocks: Sequence[Block], data: Mapping) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``report.json`` into ``report_dir``; returns their paths."""
    report_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(blocks)
    files = {
        "report.md": markdown,
        "report.html": render_html(markdown),
        "report.json": json.dumps(data, indent=2, default=str) + "\n",
    }
    for name, text in files.items():
        (report_dir / name).write_text(text, encoding="utf-8")
    return [report_dir / name for name in files]


# ----------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: all of chapters/)")
    parser.add_argument(
        "--rtol", type=float, default=1e-5, help="relative tolerance per number (default 1e-5)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("_build/check"),
        help="where report.md, report.html and report.json go (default _build/check)",
    )
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    return parser


def _notebooks(paths: Sequence[str]) -> list[Path]:
    from tools.notebooks import find_notebooks

    try:
        notebooks = find_notebooks(list(paths))
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    if not notebooks:
        raise ValueError(
            f"`paths` must contain at least one notebook. Received: paths={list(paths)!r}"
        )
    return notebooks


def main(argv: list[str] | None = None) -> int:
    """Run the check; 0 when every compared cell matches, 1 when one differs, 2 for a usage error."""
    args = _parser().parse_args(argv)
    try:
        _check_rtol(args.rtol)
        if args.timeout < 1:
            raise ValueError(f"`timeout` must be >= 1 second. Received: timeout={args.timeout}")
        notebooks = _notebooks(args.paths)
        results = check_all(notebooks, args.rtol, args.jobs, args.timeout, Progress(len(notebooks)))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from tools.environment import likely_causes, load_reference, machine_report

    print("collecting this machine's environment...", file=sys.stderr, flush=True)
    mine, reference = machine_report(), load_reference()
    causes = likely_causes(mine, reference)
    blocks = build_report(results, mine, reference, args.rtol, causes)
    files = write_reports(
        args.report_dir, blocks, report_json(results, mine, reference, args.rtol, causes)
    )
    print(f"report written to {', '.join(map(str, files))}", file=sys.stderr)
    print(render_text(blocks), end="", flush=True)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

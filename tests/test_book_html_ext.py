"""_ext/book_html.py: the accessibility fix-ups applied to every built page (axe-core rules)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))

from book_html import fix_accessibility  # noqa: E402


def test_icons_are_hidden_and_lose_their_visible_titles():
    html = '<i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" title="Light"></i><i class="fa-solid fa-bars"></i>'
    fixed = fix_accessibility(html)
    assert fixed == ('<i aria-hidden="true" class="theme-switch fa-solid fa-sun fa-lg" data-mode="light"></i>'
                     '<i aria-hidden="true" class="fa-solid fa-bars"></i>')
    assert fix_accessibility(fixed) == fixed  # idempotent: a rebuilt page is not changed twice


def test_buttons_and_toggles_are_named_by_what_they_show():
    search = ('<button class="btn search-button-field search-button__button pst-js-only" title="Search" '
              'aria-label="Search" data-bs-toggle="tooltip">')
    assert 'aria-label' not in fix_accessibility(search)
    other = '<button class="btn search-button__button" aria-label="Search">'  # an icon-only button keeps its label
    assert fix_accessibility(other) == other
    assert fix_accessibility('<summary aria-label="Toggle hidden content">') == "<summary>"
    assert fix_accessibility('<summary><span class="toctree-toggle" role="presentation">') == (
        '<summary aria-label="Show or hide the sections"><span class="toctree-toggle" role="presentation">')


def test_bibliography_entries_are_list_items():
    assert fix_accessibility('<div class="citation" id="id1" role="doc-biblioentry">') == (
        '<div class="citation" id="id1" role="listitem">')

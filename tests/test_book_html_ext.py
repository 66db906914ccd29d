"""_ext/book_html.py: the accessibility fix-ups applied to every built page (axe-core rules), the
landing page with its favicon; _static/: the logo visible on both colour modes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

from book_html import fix_accessibility, landing_page  # noqa: E402


def test_icons_are_hidden_and_lose_their_visible_titles():
    html = '<i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" title="Light"></i><i class="fa-solid fa-bars"></i>'
    fixed = fix_accessibility(html)
    assert fixed == (
        '<i aria-hidden="true" class="theme-switch fa-solid fa-sun fa-lg" data-mode="light"></i>'
        '<i aria-hidden="true" class="fa-solid fa-bars"></i>'
    )
    assert fix_accessibility(fixed) == fixed  # idempotent: a rebuilt page is not changed twice


def test_buttons_and_toggles_are_named_by_what_they_show():
    search = (
        '<button class="btn search-button-field search-button__button pst-js-only" title="Search" '
        'aria-label="Search" data-bs-toggle="tooltip">'
    )
    assert "aria-label" not in fix_accessibility(search)
    other = '<button class="btn search-button__button" aria-label="Search">'  # an icon-only button keeps its label
    assert fix_accessibility(other) == other
    assert fix_accessibility('<summary aria-label="Toggle hidden content">') == "<summary>"
    assert fix_accessibility('<summary><span class="toctree-toggle" role="presentation">') == (
        '<summary aria-label="Show or hide the sections"><span class="toctree-toggle" role="presentation">'
    )


def test_bibliography_entries_are_list_items():
    assert fix_accessibility('<div class="citation" id="id1" role="doc-biblioentry">') == (
        '<div class="citation" id="id1" role="listitem">'
    )


def test_the_landing_page_declares_the_favicon_and_redirects():
    html = landing_page("intro.html", "A <book>", "_static/favicon.png")
    assert '<link rel="icon" href="_static/favicon.png">' in html
    assert '<meta http-equiv="Refresh" content="0; url=intro.html">' in html
    assert '<html lang="en">' in html and "<title>A &lt;book&gt;</title>" in html
    assert '<a href="intro.html">' in html  # for a browser that does not follow the redirect
    assert 'rel="icon"' not in landing_page("intro.html", "t", None)


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two #rrggbb colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_by_hand():
    assert (
        round(contrast("#000000", "#ffffff"), 1) == 21.0 and contrast("#777777", "#777777") == 1.0
    )


# The theme's page background in light and dark mode (pydata-sphinx-theme's foundation white/black).
BACKGROUNDS = {"light": "#ffffff", "dark": "#14181e"}


def test_the_logo_is_visible_in_both_modes():
    """Every line of the logo (network edges, node outlines, axes, curve) has at least the 3:1
    contrast WCAG asks of graphics against the page it is drawn on; the dark variant is configured."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    options = config["sphinx"]["config"]["html_theme_options"]
    logos = {"light": config["logo"], "dark": options["logo"]["image_dark"]}
    assert logos["light"] != logos["dark"]
    for mode, logo in logos.items():
        svg = (ROOT / logo).read_text(encoding="utf-8")
        strokes = set(re.findall(r'stroke="(#[0-9a-fA-F]{6})"', svg))
        assert len(strokes) >= 3, f"{logo}: {strokes}"
        faint = {
            c: round(contrast(c, BACKGROUNDS[mode]), 2)
            for c in strokes
            if contrast(c, BACKGROUNDS[mode]) < 3
        }
        assert not faint, f"{logo} on the {mode} page: lines below 3:1 contrast {faint}"
    dark_on_dark = {
        c
        for c in re.findall(r'stroke="(#[0-9a-fA-F]{6})"', (ROOT / logos["light"]).read_text())
        if contrast(c, BACKGROUNDS["dark"]) < 3
    }
    assert dark_on_dark, (
        "the light-mode logo has lines that vanish in dark mode: that is why the variant exists"
    )

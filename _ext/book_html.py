"""Local Sphinx extension of the book (loaded by _config.yml's ``sphinx.local_extensions``).

Three fix-ups of the theme's HTML, all found by tests/test_browser.py:

* **Accessibility** (axe-core, WCAG 2.1 AA): after the build, every page is rewritten so that icon
  fonts are hidden from screen readers, buttons and toggles are named by the text they show, the
  sidebar's expand toggles have a name, and the bibliography's entries are list items (see
  :data:`A11Y_FIXES`).
* **Duplicated scripts**: removes duplicated inline ``<script>`` blocks. Sphinx 7.4 registers an inline script that an
extension adds after the builder started (sphinx-thebe's ``const THEBE_JS_URL = ...``,
sphinx-togglebutton's selector) twice — once with filename ``None``, once with ``''`` — so every page
declared ``const THEBE_JS_URL`` twice and the browser reported "Identifier 'THEBE_JS_URL' has
already been declared" (found by tests/test_browser.py).
* **The landing page's favicon**: the site's ``index.html`` is a one-line redirect to the root page
  (``intro.html``), written by sphinx-external-toc, with no ``<head>``: the browser asked for
  ``/favicon.ico`` and got a 404. :func:`landing_page` writes a complete page instead (title,
  language, favicon, the redirect, and a link for browsers that do not follow it).
"""

from __future__ import annotations

import re
from pathlib import Path

#: (pattern, replacement) applied to every built HTML page, each with the axe rule it satisfies.
A11Y_FIXES = [
    # The colour-mode button's icons carry titles ("Light", "Dark"), which Font Awesome turns into
    # visible SVG titles that differ from the button's name "Color mode" (label-content-name-mismatch).
    (re.compile(r'(<i class="theme-switch [^"]*"[^>]*?) title="[^"]*"'), r"\1"),
    # Font Awesome glyphs are decoration: without aria-hidden, axe reads the glyph as visible text
    # (label-content-name-mismatch on the colour-mode button).
    (
        re.compile(r'<i class="((?:theme-switch )?fa-[^"]*)"(?![^>]*aria-hidden)'),
        r'<i aria-hidden="true" class="\1"',
    ),
    # The search field shows "Search Ctrl+K": its name must contain what it shows, so let the
    # content name it (label-content-name-mismatch).
    (
        re.compile(
            r'(<button class="btn search-button-field search-button__button pst-js-only"[^>]*?) aria-label="Search"'
        ),
        r"\1",
    ),
    # Code-cell toggles show "Show code cell source"; a different aria-label hides that name.
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # The sidebar's expand/collapse toggles hold only an icon (summary-name).
    (
        re.compile(r'<summary>(<span class="toctree-toggle")'),
        r'<summary aria-label="Show or hide the sections">\1',
    ),
    # sphinxcontrib-bibtex: doc-biblioentry is deprecated and not allowed inside role="list"
    # (aria-required-children, aria-deprecated-role).
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
]


def fix_accessibility(html: str) -> str:
    """``html`` with :data:`A11Y_FIXES` applied."""
    for pattern, replacement in A11Y_FIXES:
        html = pattern.sub(replacement, html)
    return html


def landing_page(target: str, title: str, favicon: str | None) -> str:
    """The HTML of ``index.html``: redirects to ``target`` and declares the favicon."""
    from html import escape

    icon = f'\n  <link rel="icon" href="{escape(favicon)}">' if favicon else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
        f"  <title>{escape(title)}</title>{icon}\n"
        f'  <meta http-equiv="Refresh" content="0; url={escape(target)}">\n'
        "</head>\n<body>\n"
        f'  <p><a href="{escape(target)}">{escape(title)}</a></p>\n'
        "</body>\n</html>\n"
    )


def _write_landing_page(app, exception) -> None:
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    favicon = app.config.html_favicon
    favicon = f"_static/{Path(favicon).name}" if favicon and "://" not in favicon else favicon
    page = landing_page(
        f"{app.config.root_doc}.html", app.config.html_title or app.config.project, favicon
    )
    (Path(app.outdir) / "index.html").write_text(page, encoding="utf-8")


def _fix_built_pages(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        if "mathjax" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        fixed = fix_accessibility(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set = set()
    unique = []
    for js in scripts:
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", str(js)) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique  # the builder restores its list before the next page


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _fix_built_pages)
    app.connect(
        "build-finished", _write_landing_page, priority=600
    )  # after sphinx-external-toc's stub
    return {"parallel_read_safe": True, "parallel_write_safe": True}

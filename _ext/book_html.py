"""Local Sphinx extension of the book (loaded by _config.yml's ``sphinx.local_extensions``).

Removes duplicated inline ``<script>`` blocks. Sphinx 7.4 registers an inline script that an
extension adds after the builder started (sphinx-thebe's ``const THEBE_JS_URL = ...``,
sphinx-togglebutton's selector) twice — once with filename ``None``, once with ``''`` — so every page
declared ``const THEBE_JS_URL`` twice and the browser reported "Identifier 'THEBE_JS_URL' has
already been declared" (found by tests/test_browser.py).
"""
from __future__ import annotations


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
    return {"parallel_read_safe": True, "parallel_write_safe": True}

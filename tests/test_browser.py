"""The rendered book in a real browser: every page of _build/html, opened in headless Chromium.

One crawl (module-scoped) visits every HTML page the build produced — pages are discovered from the
build output, never listed by hand — served by ``http.server`` on 127.0.0.1, and records what the
page shows after its scripts ran. The tests below then check, for every page:

* no JavaScript console errors (uncaught exceptions, ``console.error``, failed resource loads);
* math is typeset by the *local* MathJax: every ``.math`` element holds a MathJax container, no
  MathJax error box, and no raw ``$$``, ``\\(``, ``\\[`` or ``\\begin{`` left in the visible text;
* every ``<img>`` loaded (``naturalWidth > 0``), and every image of a chapter page has an alt text
  that says something (not a file path); figures fill at most the 676-px column, the width
  tests/test_book_hygiene.py assumes when it checks that figure text is at least 10 CSS px;
* every same-origin link answers HTTP 200 and every ``#anchor`` exists on its target page;
* exercise solutions (cells tagged ``hide-cell``) render as a closed toggle that hides code and output;
* one search box per page; a favicon on every page, the landing page ``index.html`` included;
* every "Chapter N.M" in the glossary and the FAQ is a link to chapter N.M; chapter pages' Colab
  buttons open the notebook in the repository of _config.yml (tools/colab.py);
* in dark mode, figures sit on a white frame and the logo is the light-lined variant;
* the search page finds results for "gradient";
* the PDF of scripts/build_pdf.sh has every chapter, numbered sections, typeset math and every
  figure (at the end of this module);
* axe-core (pinned in package.json, installed by ``npm ci`` like MathJax) finds no "serious" or
  "critical" WCAG 2.1 A/AA violation;
* every syntax-highlighting span has WCAG AA contrast on its background in the light *and* the
  dark theme (checked by our own script, CODE_CONTRAST_JS: axe-core runs in the light theme only,
  and its color-contrast rule would spend half the crawl on these spans).

Screenshots of a few key pages, and the crawl's page count and time (``crawl.json``), go to
``_build/screenshots/``. The book is (re)built first with
``scripts/build_book.sh`` when ``_build/html`` is missing or older than a source file. Without
Chromium the module is skipped, unless ``BOOK_BROWSER_REQUIRED=1`` (set by ``.ci/run``) makes that
a failure.
"""

from __future__ import annotations

import json
import os
import re
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

import pytest
from _browser_support import (
    BUILD_STAMP,
    HTML,
    PDF,
    ROOT,
    SCREENSHOTS,
    BookServer,
    build_book,
    build_is_stale,
    build_pdf,
    find_browser,
    html_pages,
    pdf_is_stale,
    start_chromium,
)

from tools.notebooks import toc_files

pytestmark = pytest.mark.browser

# Runs inside each page once it has loaded: waits for MathJax and the images, then reports.
COLLECT_JS = r"""
const done = arguments[arguments.length - 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const ignored = (el) => el.closest('.mathjax_ignore, .tex2jax_ignore');
  const mathEls = [...document.querySelectorAll('.math')].filter((el) => !ignored(el));
  let mathjax = 'absent';
  if (mathEls.length) {
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) await sleep(50);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      mathjax = 'typeset';
    } else {
      mathjax = 'never loaded';
    }
  }
  document.querySelectorAll('img[loading=lazy]').forEach((img) => { img.loading = 'eager'; });
  for (let i = 0; i < 100 && [...document.images].some((img) => !img.complete); i++) await sleep(50);

  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight, .mathjax_ignore, .tex2jax_ignore')
      .forEach((el) => el.remove());
  const text = body.textContent;
  const raw = [];
  for (const token of ['$$', '\\(', '\\[', '\\begin{']) {
    const at = text.indexOf(token);
    if (at >= 0) raw.push(text.slice(Math.max(0, at - 40), at + 60).replace(/\s+/g, ' '));
  }
  const visible = (el) => !!(el && el.checkVisibility && el.checkVisibility());
  const solutions = [...document.querySelectorAll('.cell.tag_hide-cell')].map((cell) => {
    const toggle = cell.querySelector('details');
    return {toggle: !!toggle, open: !!(toggle && toggle.open),
            codeVisible: visible(cell.querySelector('.cell_input')),
            outputVisible: [...cell.querySelectorAll('.cell_output')].some(visible)};
  });
  // Search boxes a reader sees: fields and icon buttons that open the search, and search inputs.
  const searchBoxes = [...document.querySelectorAll('.search-button-field, .search-button, input[type=search]')]
      .filter(visible).map((el) => el.outerHTML.slice(0, 100));
  // "Chapter N.M" left in the article's text once its links are taken out: a mention that is no link.
  const article = document.querySelector('article.bd-article');
  let unlinkedChapters = [];
  if (article) {
    const copy = article.cloneNode(true);
    copy.querySelectorAll('a, pre, code, .highlight, .cell_input').forEach((el) => el.remove());
    unlinkedChapters = (copy.textContent.match(/\b[Cc]hapters?\s+\d+\.\d+/g) || []);
  }
  const chapterLinks = article ? [...article.querySelectorAll('a[href]')]
      .filter((a) => /^([Cc]hapters? )?\d+\.\d+$/.test(a.textContent.trim()))
      .map((a) => ({text: a.textContent.trim(), href: a.href})) : [];
  const navNumbers = [...document.querySelectorAll('nav.bd-docs-nav a.reference')]
      .map((a) => ({text: a.textContent.trim(), href: a.href}));
  const output = document.querySelector('article.bd-article .cell_output');
  const icon = document.querySelector('link[rel~="icon"]');
  done({
    url: location.href,
    title: document.title,
    mathjax,
    mathCount: mathEls.length,
    untypeset: mathEls.filter((el) => !el.querySelector('mjx-container')).map((el) => el.textContent.slice(0, 80)),
    containers: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror')].map((el) => (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 120)),
    rawTex: raw,
    images: [...document.images].map((img) => ({src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
                                                alt: img.getAttribute('alt'), figure: !!img.closest('.cell_output'),
                                                width: img.clientWidth, natural: img.naturalWidth})),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    ids: [...document.querySelectorAll('[id]')].map((el) => el.id)
          .concat([...document.querySelectorAll('a[name]')].map((a) => a.name)),
    solutions,
    searchBoxes,
    unlinkedChapters,
    chapterLinks,
    navNumbers,
    columnWidth: output ? output.clientWidth : null,
    favicon: icon ? icon.href : null,
  });
})().catch((e) => done({error: String(e && e.stack || e)}));
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    found = find_browser()
    if isinstance(found, str):
        if os.environ.get("BOOK_BROWSER_REQUIRED") == "1":
            pytest.fail(f"BOOK_BROWSER_REQUIRED=1 but {found}")
        pytest.skip(found)
    driver = start_chromium(*found, tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site():
    if build_is_stale():
        before = BUILD_STAMP.stat().st_mtime if BUILD_STAMP.exists() else 0.0
        build_book()
        assert BUILD_STAMP.exists() and BUILD_STAMP.stat().st_mtime > before, (
            "the build did not refresh _build/html"
        )
    if not (HTML / "book.pdf").exists():  # the landing page links to the PDF (scripts/build_pdf.sh)
        build_pdf()
    with BookServer(HTML) as server:
        yield server


def severe_console_entries(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


AXE = HTML.parent / "npm" / "node_modules" / "axe-core" / "axe.min.js"
AXE_JS = """
const done = arguments[arguments.length - 1];
// color-contrast skips the syntax-highlighting spans (about 86,000 in the book, half of axe's time):
// CODE_CONTRAST_JS checks each of them, in the light and the dark theme.
axe.configure({rules: [{id: 'color-contrast', selector: '*:not(.highlight span)'}]});
// resultTypes: only the violations are read, and axe then skips detailing the passing nodes (faster)
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                   resultTypes: ['violations']})
  .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                            example: v.nodes[0].html.slice(0, 160)}))))
  .catch((e) => done([{id: 'axe-error', impact: 'critical', nodes: 0, example: String(e)}]));
"""


CODE_CONTRAST_JS = r"""
const done = arguments[arguments.length - 1];
// WCAG 2.1 contrast (SC 1.4.3) of every syntax-highlighting span with text of its own, in the light
// and the dark theme: its colour against its background, composited from its own and its ancestors'
// background colours down to the first opaque one (what axe-core's color-contrast computes for
// them, at a fraction of the cost; axe runs in the light theme only). A background image or an
// opacity on the way is reported as a problem, not guessed. Spans with the same colour, size and
// background are computed once.
const parse = (text) => {
  const m = /^rgba?\(([^)]*)\)$/.exec(text.trim());
  if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return p.length >= 3 && p.every(Number.isFinite) ? [p[0], p[1], p[2], p.length > 3 ? p[3] : 1] : null;
};
const over = (top, below) => top.slice(0, 3).map((c, i) => c * top[3] + below[i] * (1 - top[3])).concat([1]);
const luminance = (rgb) => rgb.slice(0, 3).map((c) => {
  const s = c / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
const ratio = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};
const check = (mode) => {
  // The background behind an element: its own colour composited over its parent's, down to the
  // first opaque one; computed once per element (most spans share their <pre>'s).
  const chains = new Map();
  const chain = (el) => {
    if (!el) return {key: 'canvas', layers: []};  // the page's canvas: white
    if (chains.has(el)) return chains.get(el);
    const s = getComputedStyle(el), bg = parse(s.backgroundColor);
    const name = `${el.tagName.toLowerCase()}.${el.className}`;
    let found;
    if (s.backgroundImage !== 'none') found = {problem: `a background image on ${name}`};
    else if (parseFloat(s.opacity) < 1) found = {problem: `opacity ${s.opacity} on ${name}`};
    else if (!bg) found = {problem: `unreadable background colour ${s.backgroundColor} on ${name}`};
    else if (bg[3] === 1) found = {key: s.backgroundColor, layers: [bg]};
    else {
      const below = chain(el.parentElement);
      found = below.problem ? below : {key: `${s.backgroundColor}/${below.key}`,
                                       layers: bg[3] > 0 ? [bg, ...below.layers] : below.layers};
    }
    chains.set(el, found);
    return found;
  };
  const seen = new Map(), failures = [], problems = new Set();
  let checked = 0;
  // Hidden spans too: a solution's code, in a closed toggle, shows with the same colours.
  for (const span of document.querySelectorAll('.highlight span')) {
    if (![...span.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    checked++;
    const behind = chain(span);
    if (behind.problem) { problems.add(behind.problem); continue; }
    const cs = getComputedStyle(span);
    const key = [cs.color, cs.fontSize, cs.fontWeight, behind.key].join('|');
    if (seen.has(key)) continue;
    const fg = parse(cs.color);
    if (!fg) { problems.add(`unreadable colour ${cs.color} on span.${span.className}`); continue; }
    let background = [255, 255, 255, 1];
    for (const layer of [...behind.layers].reverse()) background = over(layer, background);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;  // WCAG's large text: 3:1
    const contrast = ratio(over(fg, background), background);
    seen.set(key, contrast);
    if (contrast < needed)
      failures.push({cls: span.className, color: cs.color, background: `rgb(${background.slice(0, 3).map(Math.round).join(', ')})`,
                     ratio: Math.floor(contrast * 100) / 100, needed, example: span.textContent.slice(0, 40)});
  }
  const lowest = seen.size ? Math.floor(Math.min(...seen.values()) * 100) / 100 : null;
  return {checked, distinct: seen.size, lowest, failures, problems: [...problems]};
};
const html = document.documentElement;
const before = html.dataset.theme;
html.dataset.theme = 'light';
const light = check('light');
html.dataset.theme = 'dark';
const dark = check('dark');
if (before === undefined) delete html.dataset.theme; else html.dataset.theme = before;
done({light, dark});
"""


@pytest.fixture(scope="module")
def crawl(browser, site):
    """Visit every page once; return {page: report} and the crawl's duration."""
    assert AXE.exists(), (
        f"{AXE} is missing: scripts/build_book.sh installs it with npm ci (package.json)"
    )
    axe_source = AXE.read_text(encoding="utf-8")
    browser.get_log("browser")  # the blank start page's lines, if any; the first book page counts
    reports, redirects = {}, {}
    start = time.perf_counter()
    for page in html_pages():
        refresh = REFRESH.search((HTML / page).read_text(encoding="utf-8")[:2000])
        # a redirect stub (the landing page): check where it lands; the target is crawled itself
        if refresh:
            redirects[page] = _follow_redirect(browser, site.base + page, refresh.group(1))
            continue
        browser.get(site.base + page)
        report = browser.execute_async_script(COLLECT_JS)
        report["console"] = severe_console_entries(browser)
        browser.execute_script(axe_source)
        report["axe"] = browser.execute_async_script(AXE_JS)
        report["codeContrast"] = browser.execute_async_script(CODE_CONTRAST_JS)
        reports[page] = report
    reports_time = time.perf_counter() - start
    assert reports, "the build has no HTML pages"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "crawl.json").write_text(
        json.dumps(
            {
                "pages": len(reports),
                "crawl_seconds": round(reports_time, 1),
                "math_containers": {p: r.get("containers", 0) for p, r in reports.items()},
                "axe_violations": {p: r.get("axe", []) for p, r in reports.items() if r.get("axe")},
                "code_contrast": {
                    mode: {
                        "spans": sum(r["codeContrast"][mode]["checked"] for r in reports.values()),
                        "lowest_ratio": min(
                            (
                                r["codeContrast"][mode]["lowest"]
                                for r in reports.values()
                                if r["codeContrast"][mode]["checked"]
                            ),
                            default=None,
                        ),
                    }
                    for mode in ("light", "dark")
                },
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return {"pages": reports, "redirects": redirects, "seconds": reports_time, "base": site.base}


# A page that only redirects (index.html to intro.html). Running the crawl's script on it would race the
# redirect (the page can unload mid-script), so the crawl follows it and records where it landed instead.
REFRESH = re.compile(r'<meta\s+http-equiv="refresh"\s+content="0;\s*url=([^"]+)"', re.IGNORECASE)


def _follow_redirect(browser, url: str, target: str, timeout: float = 15.0) -> str:
    """Open a redirect stub and wait until the browser has loaded its target; return the landing URL."""
    expected = urllib.parse.urljoin(url, target)
    browser.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            browser.current_url == expected
            and browser.execute_script("return document.readyState") == "complete"
        ):
            return browser.current_url
        time.sleep(0.05)
    raise AssertionError(f"{url} did not redirect to {expected} (at {browser.current_url})")


def failures(crawl, describe) -> dict[str, object]:
    out = {}
    for page, report in crawl["pages"].items():
        problem = report.get("error") or describe(report)
        if problem:
            out[page] = problem
    return out


def test_pages_were_discovered(crawl):
    assert crawl["redirects"] == {"index.html": crawl["base"] + "intro.html"}, crawl["redirects"]
    pages = crawl["pages"]
    assert "intro.html" in pages and "search.html" in pages
    # every notebook/markdown page of the book became an HTML page that the crawl visited
    sources = [p for p in (HTML / "_sources").rglob("*") if p.suffix in {".md", ".ipynb"}]
    for src in sources:
        page = src.relative_to(HTML / "_sources").with_suffix(".html").as_posix()
        assert page in pages, f"{page} was built but not visited"


def test_no_console_errors(crawl):
    bad = failures(crawl, lambda r: r["console"])
    assert not bad, f"JavaScript console errors: {bad}"


def test_math_is_typeset(crawl):
    def describe(r):
        problems = []
        if r["mathCount"] and r["mathjax"] != "typeset":
            problems.append(f"MathJax {r['mathjax']}")
        if r["untypeset"]:
            problems.append(
                f"{len(r['untypeset'])} math element(s) left as TeX, e.g. {r['untypeset'][0]!r}"
            )
        if r["mathErrors"]:
            problems.append(f"MathJax errors: {r['mathErrors']}")
        if r["rawTex"]:
            problems.append(f"raw TeX in the page text: {r['rawTex']}")
        return problems

    bad = failures(crawl, describe)
    assert not bad, f"math not rendered: {bad}"
    assert any(r["containers"] for r in crawl["pages"].values()), "no page has typeset math at all"


def test_mathjax_is_the_local_copy(crawl):
    """Offline math: MathJax comes from the built site, never from a CDN."""
    for page in crawl["pages"]:
        html = (HTML / page).read_text(encoding="utf-8")
        external = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="(https?://[^"]+)"', html)
        assert not external, f"{page} loads {external} from the network"
        if 'class="math' in html:
            assert re.search(r'<script[^>]*src="[^"]*mathjax/tex-chtml\.js', html), (
                f"{page}: no local MathJax"
            )


def test_images_load(crawl):
    bad = failures(crawl, lambda r: [i["src"] for i in r["images"] if not i["ok"]])
    assert not bad, f"images that did not load: {bad}"


def test_exercise_solutions_are_toggles(crawl):
    """A solution's code *and* output are inside one closed toggle (tag hide-cell): the answer is not
    shown under the question."""

    def describe(r):
        return [
            c
            for c in r["solutions"]
            if not c["toggle"] or c["open"] or c["codeVisible"] or c["outputVisible"]
        ]

    bad = failures(crawl, describe)
    assert not bad, f"hide-cell cells not rendered as a closed toggle over code and output: {bad}"
    tagged = sum(
        src.read_text(encoding="utf-8").count('"hide-cell"')
        for src in (HTML / "_sources").rglob("*.ipynb")
    )
    seen = sum(len(r["solutions"]) for r in crawl["pages"].values())
    assert tagged and seen >= tagged, (
        f"{tagged} hide-cell cells in the notebooks, {seen} found in the pages"
    )


# An alt text that is a file name or path (Sphinx's default for an image without one).
FILE_ALT = re.compile(r"\.(png|jpe?g|gif|svg)$|_images/|^\.\./", re.I)


def test_images_have_meaningful_alt_text(crawl):
    def describe(r):
        if not r["url"].split("/", 3)[-1].startswith("chapters/"):
            return []
        return [
            f"{i['src'].rsplit('/', 1)[-1]}: alt={i['alt']!r}"
            for i in r["images"]
            if not i["alt"]
            or not i["alt"].strip()
            or FILE_ALT.search(i["alt"].strip())
            or (i["figure"] and len(i["alt"].split()) < 8)
        ]

    bad = failures(crawl, describe)
    assert not bad, f"images without a meaningful alt text (cell metadata mystnb.image.alt): {bad}"


def test_figures_fit_the_column_the_font_test_assumes(crawl):
    """tests/test_book_hygiene.py computes figure text sizes for a 676-px column, each PNG shown
    1:1 when narrower and scaled to the column when wider: check both facts in the browser."""
    from nnlib.plots import COLUMN_PX

    widths = {r["columnWidth"] for r in crawl["pages"].values() if r.get("columnWidth")}
    assert widths == {COLUMN_PX}, (
        f"output column widths at a 1280-px window: {widths}, expected {COLUMN_PX}"
    )

    def describe(r):
        return [
            f"{i['src'].rsplit('/', 1)[-1]}: shown {i['width']} px of {i['natural']}"
            for i in r["images"]
            if i["figure"] and i["ok"] and abs(i["width"] - min(i["natural"], COLUMN_PX)) > 1
        ]

    bad = failures(crawl, describe)
    assert not bad, f"figures not shown at min(natural width, column): {bad}"


def test_one_search_box_per_page(crawl):
    bad = failures(crawl, lambda r: r["searchBoxes"] if len(r["searchBoxes"]) != 1 else [])
    assert not bad, f"pages without exactly one visible search box: {bad}"


def test_one_search_box_on_a_narrow_screen(browser, site):
    try:
        browser.set_window_size(600, 1000)
        browser.get(site.base + "intro.html")
        report = browser.execute_async_script(COLLECT_JS)
    finally:
        browser.set_window_size(1280, 1000)
    assert len(report["searchBoxes"]) == 1, report["searchBoxes"]


def test_every_page_declares_a_served_favicon(crawl, site):
    """The browser asks for /favicon.ico (a 404) on a page that declares no icon: every page must
    declare one, the landing page index.html included (it redirects before the crawl reads it)."""
    missing = []
    for page in ["index.html"] + list(crawl["pages"]):
        html = (HTML / page).read_text(encoding="utf-8")
        match = re.search(
            r'<link\b[^>]*rel="(?:shortcut )?icon"[^>]*href="([^"]+)"', html
        ) or re.search(r'<link\b[^>]*href="([^"]+)"[^>]*rel="(?:shortcut )?icon"', html)
        if not match:
            missing.append(f"{page}: no <link rel=icon>")
            continue
        url = urllib.parse.urljoin(site.base + page, match.group(1))
        with urllib.request.urlopen(url, timeout=10) as response:
            if response.status != 200 or not response.headers.get("Content-Type", "").startswith(
                "image/"
            ):
                missing.append(
                    f"{page}: {url} -> {response.status} {response.headers.get('Content-Type')}"
                )
    assert not missing, f"favicon problems: {missing}"
    assert all(r["favicon"] for r in crawl["pages"].values())


def test_glossary_and_faq_chapter_mentions_are_links_to_that_chapter(crawl):
    pages = {
        p: r
        for p, r in crawl["pages"].items()
        if p.endswith(("06_faq/glossary.html", "06_faq/01_faq.html"))
    }
    assert len(pages) == 2, list(pages)
    problems = []
    for page, r in pages.items():
        problems += [f"{page}: {m!r} is not a link" for m in r["unlinkedChapters"]]
        numbered = {}
        for entry in r[
            "navNumbers"
        ]:  # "2.3. Training, validation and evaluation" -> the page's address
            m = re.match(r"(\d+\.\d+)\.\s", entry["text"])
            if m:
                numbered[entry["href"].split("#")[0]] = m.group(1)
        assert len(numbered) >= 20, f"{page}: the sidebar lists {len(numbered)} numbered chapters"
        links = r["chapterLinks"]
        assert len(links) >= (100 if "glossary" in page else 10), (
            f"{page}: only {len(links)} chapter links"
        )
        for link in links:
            number = re.search(r"\d+\.\d+", link["text"]).group(0)
            target = numbered.get(link["href"].split("#")[0])
            if target != number:
                problems.append(
                    f"{page}: {link['text']!r} links to {link['href']} (chapter {target})"
                )
    assert not problems, "chapter mentions that are not links to that chapter:\n" + "\n".join(
        problems[:40]
    )


def test_colab_buttons_open_the_configured_repository(crawl):
    from tools.colab import colab_url

    notebooks = sorted((HTML / "_sources").rglob("*.ipynb"))
    assert notebooks
    wrong = []
    for src in notebooks:
        rel = src.relative_to(HTML / "_sources")
        page = rel.with_suffix(".html").as_posix()
        expected = colab_url(ROOT / rel)
        colab = [
            href
            for href in crawl["pages"][page]["links"]
            if href.startswith("https://colab.research.google.com")
        ]
        if colab != [expected]:
            wrong.append(f"{page}: {colab} (expected {expected})")
    assert not wrong, f"Colab launch buttons: {wrong}"


def test_dark_mode_figures_and_logo(browser, site):
    """Figures keep a white frame and the logo switches to its light-lined variant in dark mode
    (screenshot: _build/screenshots/dark-mode.png); in light mode the normal logo shows. axe-core
    finds no serious violation on this page (prose, math, code, figures) in dark mode either."""
    page = site.base + "chapters/03_algorithms/01_activations.html"
    state = """return {theme: document.documentElement.dataset.theme,
        logo: [...document.querySelectorAll('img.logo__image')].filter((i) => i.checkVisibility()).map((i) => i.getAttribute('src')),
        figure: (() => { const img = document.querySelector('.cell_output img'); const cs = getComputedStyle(img);
                         return {background: cs.backgroundColor, padding: cs.paddingTop, filter: cs.filter}; })()};"""
    browser.get(page)
    try:
        browser.execute_script(
            "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"
        )
        browser.get(page)
        browser.execute_async_script(COLLECT_JS)  # wait for MathJax and the images
        dark = browser.execute_script(state)
        browser.execute_script(AXE.read_text(encoding="utf-8"))  # the crawl ran axe in light mode
        dark_axe = [
            v
            for v in browser.execute_async_script(AXE_JS)
            if v["impact"] in ("serious", "critical")
        ]
        browser.execute_script(
            "document.querySelector('.cell_output img').scrollIntoView({block: 'center'})"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / "dark-mode.png"))
    finally:
        browser.execute_script(
            "localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');"
        )
    browser.get(page)
    light = browser.execute_script(state)
    assert dark["theme"] == "dark" and light["theme"] == "light"
    assert [src.rsplit("/", 1)[-1] for src in dark["logo"]] == ["logo-dark.svg"], dark["logo"]
    assert [src.rsplit("/", 1)[-1] for src in light["logo"]] == ["logo.svg"], light["logo"]
    assert (
        dark["figure"]["background"] == "rgb(255, 255, 255)" and dark["figure"]["padding"] == "6px"
    ), dark["figure"]
    assert light["figure"]["padding"] == "0px", light["figure"]
    assert not dark_axe, f"axe-core in dark mode: {dark_axe}"


def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, body.decode("utf-8", "replace") if "html" in kind else ""
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_internal_links_resolve(crawl):
    base = crawl["base"]
    ids = {page: set(r["ids"]) for page, r in crawl["pages"].items()}
    status: dict[str, int] = {}
    broken = []
    for page, report in crawl["pages"].items():
        for href in report["links"]:
            if not href.startswith(base):
                continue  # other origins (launch buttons, repository) are not part of the offline book
            url, _, fragment = href.partition("#")
            target = urllib.parse.unquote(urllib.parse.urlsplit(url).path[1:]) or "index.html"
            if target.endswith("/"):
                target += "index.html"
            if url not in status:
                code, body = _fetch(url)
                status[url] = code
                if target not in ids and body:
                    ids[target] = set(re.findall(r'\b(?:id|name)="([^"]+)"', body))
            if status[url] != 200:
                broken.append(f"{page}: {href} -> HTTP {status[url]}")
            elif fragment and urllib.parse.unquote(fragment) not in ids.get(target, set()):
                broken.append(f"{page}: {href} -> no element with id {fragment!r}")
    assert status, "no internal links found"
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken)))


def test_no_serious_accessibility_violations(crawl):
    # WCAG 2.1 AA as axe-core checks it; "minor"/"moderate" findings are recorded in crawl.json.
    bad = failures(
        crawl,
        lambda r: [
            f"{v['id']} ({v['impact']}, {v['nodes']} nodes, e.g. {v['example']})"
            for v in r.get("axe", [])
            if v["impact"] in ("serious", "critical")
        ],
    )
    assert not bad, f"axe-core found serious or critical violations: {bad}"


CONTRAST_MODES = ("light", "dark")


def test_code_highlighting_has_enough_contrast_in_both_themes(crawl):
    """Every syntax-highlighting span reaches WCAG AA contrast on its background (4.5:1, large text
    3:1) in the light and in the dark theme (CODE_CONTRAST_JS; axe-core's color-contrast skips them)."""

    def describe(r):
        contrast = r["codeContrast"]
        return [
            f"{mode}: {item}"
            for mode in CONTRAST_MODES
            for item in contrast[mode]["failures"] + contrast[mode]["problems"]
        ]

    bad = failures(crawl, describe)
    assert not bad, f"code with too little contrast (or that could not be checked): {bad}"
    # every page whose HTML has highlighted code had its spans checked, the same spans in both themes
    for page, report in crawl["pages"].items():
        counts = [report["codeContrast"][mode]["checked"] for mode in CONTRAST_MODES]
        has_code = re.search(r'<div class="highlight"><pre><span', (HTML / page).read_text("utf-8"))
        assert counts[0] == counts[1] and (counts[0] > 0 or not has_code), (page, counts)


def test_the_code_contrast_check_finds_low_contrast(browser, site):
    """CODE_CONTRAST_JS on made-up code in a book page: the classic pair #777 (4.47:1, fails) and
    #767676 (4.54:1, passes) on white; 3:1 suffices for 24-px text; a 50 % black background is
    composited over the white below it; a background image cannot be checked and is reported."""
    browser.get(site.base + "intro.html")
    browser.execute_script(
        """const box = document.createElement('div');
        box.innerHTML = `<div class="highlight"><pre style="background: #fff">
          <span style="color: #777777">grey</span> <span style="color: #767676">darker grey</span>
          <span style="color: #949494; font-size: 24px">large</span> <span style="color: #949494">small</span>
          <span style="background: rgba(0, 0, 0, 0.5)"><span style="color: #fff">white</span>
          <span style="color: #000">black</span></span></pre></div>
          <div class="highlight"><pre style="background-image: linear-gradient(#fff, #eee)"><span>pattern</span></pre></div>`;
        document.querySelector('article').append(box);"""
    )
    result = browser.execute_async_script(CODE_CONTRAST_JS)
    for mode in CONTRAST_MODES:
        low = {f["example"]: (f["ratio"], f["needed"]) for f in result[mode]["failures"]}
        assert low == {"grey": (4.47, 4.5), "small": (3.03, 4.5), "white": (3.97, 4.5)}, (mode, low)
        assert any("background image" in p for p in result[mode]["problems"]), result[mode]
    assert browser.execute_script("return document.documentElement.dataset.theme") == "light"


def test_search_finds_gradient(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site.base + "search.html?q=gradient")
    WebDriverWait(browser, 20).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#search-results .search-summary")
            and "Searching"
            not in d.find_element(By.CSS_SELECTOR, "#search-results .search-summary").text
        )
    )
    results = browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")
    summary = browser.find_element(By.CSS_SELECTOR, "#search-results .search-summary").text
    assert results, f"search for 'gradient' found nothing: {summary!r}"
    assert all(a.get_attribute("href").startswith(site.base) for a in results)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "search-gradient.png"))
    assert not severe_console_entries(browser)


def test_screenshots_of_key_pages(browser, crawl):
    """The landing page, the first notebook page and the page with the most math."""
    pages = crawl["pages"]
    notebooks = sorted(
        p.relative_to(HTML / "_sources").with_suffix(".html").as_posix()
        for p in (HTML / "_sources").rglob("*.ipynb")
    )
    most_math = max(pages, key=lambda p: pages[p]["containers"])
    key = {"intro": "intro.html", "most-math": most_math}
    if notebooks:
        key["first-notebook"] = notebooks[0]
    for page in pages:
        if page.endswith("reproducibility.html"):
            key["reproducibility"] = page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in key.items():
        browser.get(crawl["base"] + page)
        browser.execute_async_script(COLLECT_JS)  # same waiting as the crawl (MathJax, images)
        if name == "most-math":
            browser.execute_script(
                "const m = document.querySelector('mjx-container[display=true]') || "
                "document.querySelector('mjx-container');"
                "if (m) m.scrollIntoView({block: 'center'});"
            )
        path = SCREENSHOTS / f"{name}.png"
        assert browser.save_screenshot(str(path)), f"no screenshot of {page}"
        assert path.stat().st_size > 10_000, f"{path.name} looks blank"


# ----------------------------------------------------------------------------- the PDF
# scripts/build_pdf.sh: complete, numbered, with figures and typeset math. In this module so that the
# PDF's single-page build never runs on another worker while the crawl above reads _build/html.


def _title(doc: str) -> str:
    path = ROOT / (doc + ".ipynb")
    if path.exists():
        sources = [
            "".join(c["source"])
            for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "markdown"
        ]
    else:
        sources = [(ROOT / (doc + ".md")).read_text(encoding="utf-8")]
    for source in sources:
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    raise AssertionError(f"{doc} has no '# ' title")


def _flat(text: str) -> str:
    # NFKC undoes the PDF's ligatures ("ﬁ" -> "fi"); line breaks and soft hyphens become nothing special.
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return re.sub(r"\s+", " ", text).replace("- ", "-")


@pytest.fixture(scope="module")
def pdf_pages() -> list[str]:
    found = find_browser()
    if isinstance(found, str):
        if os.environ.get("BOOK_BROWSER_REQUIRED") == "1":
            pytest.fail(f"BOOK_BROWSER_REQUIRED=1 but {found}")
        pytest.skip(found)
    if pdf_is_stale():
        build_pdf()
    from tools.pdf import pdf_pages_text

    return pdf_pages_text(PDF)


def test_pdf_has_the_whole_book(pdf_pages):
    assert 150 <= len(pdf_pages) <= 1500, f"{len(pdf_pages)} pages"
    text = _flat(" ".join(pdf_pages))
    missing = [doc for doc in toc_files() if _flat(_title(doc)) not in text]
    assert not missing, f"chapter titles missing from the PDF: {missing}"


def test_pdf_sections_are_numbered(pdf_pages):
    text = "\n".join(pdf_pages)
    for number in ("1.1.", "2.3.", "3.5.", "4.6.", "5.3.", "3.5.2."):
        assert re.search(rf"(?m)^{re.escape(number)}\s+[A-Z]", text), (
            f"no section numbered {number}"
        )


def test_pdf_math_is_typeset_and_no_raw_tex_is_left(pdf_pages):
    text = " ".join(pdf_pages)
    for raw in ("\\(", "\\[", "\\begin{"):
        assert raw not in text, f"raw TeX {raw!r} in the PDF: MathJax did not typeset it"
    glyph_pages = sum(bool(re.search("[∂ησ∇θ∑]", page)) for page in pdf_pages)
    assert glyph_pages >= 50, f"only {glyph_pages} pages show math glyphs"


def test_pdf_figures_are_embedded(pdf_pages):
    from tools.pdf import pdf_image_count

    images = pdf_image_count(PDF)
    notebooks = sorted((ROOT / "chapters").rglob("*.ipynb"))
    stored = sum(
        1
        for nb in notebooks
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )
    assert images >= stored, f"{images} images in the PDF, {stored} figures stored in the notebooks"

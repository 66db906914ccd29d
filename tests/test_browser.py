"""The rendered book in a real browser: every page of _build/html, opened in headless Chromium.

One crawl (module-scoped) visits every HTML page the build produced — pages are discovered from the
build output, never listed by hand — served by ``http.server`` on 127.0.0.1, and records what the
page shows after its scripts ran. The tests below then check, for every page:

* no JavaScript console errors (uncaught exceptions, ``console.error``, failed resource loads);
* math is typeset by the *local* MathJax: every ``.math`` element holds a MathJax container, no
  MathJax error box, and no raw ``$$``, ``\\(``, ``\\[`` or ``\\begin{`` left in the visible text;
* every ``<img>`` loaded (``naturalWidth > 0``);
* every same-origin link answers HTTP 200 and every ``#anchor`` exists on its target page;
* exercise solutions (cells tagged ``hide-input``) render as a closed toggle;
* the search page finds results for "gradient";
* the PDF of scripts/build_pdf.sh has every chapter, numbered sections, typeset math and every
  figure (at the end of this module);
* axe-core (pinned in package.json, installed by ``npm ci`` like MathJax) finds no "serious" or
  "critical" WCAG 2.1 A/AA violation.

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

from tools.notebooks import toc_files
from _browser_support import (
    PDF, ROOT, pdf_is_stale, BUILD_STAMP, HTML, SCREENSHOTS, BookServer, build_book, build_is_stale, build_pdf, find_browser, html_pages,
    start_chromium,
)

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
  const hideInput = [...document.querySelectorAll('.cell.tag_hide-input')].map((cell) => {
    const toggle = cell.querySelector('details');
    const code = cell.querySelector('.cell_input pre, .cell_input');
    return {toggle: !!toggle, open: !!(toggle && toggle.open),
            codeVisible: !!(code && code.checkVisibility && code.checkVisibility())};
  });
  done({
    url: location.href,
    title: document.title,
    mathjax,
    mathCount: mathEls.length,
    untypeset: mathEls.filter((el) => !el.querySelector('mjx-container')).map((el) => el.textContent.slice(0, 80)),
    containers: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror')].map((el) => (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 120)),
    rawTex: raw,
    images: [...document.images].map((img) => ({src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    ids: [...document.querySelectorAll('[id]')].map((el) => el.id)
          .concat([...document.querySelectorAll('a[name]')].map((a) => a.name)),
    hideInput,
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
        assert BUILD_STAMP.exists() and BUILD_STAMP.stat().st_mtime > before, "the build did not refresh _build/html"
    if not (HTML / "book.pdf").exists():  # the landing page links to the PDF (scripts/build_pdf.sh)
        build_pdf()
    with BookServer(HTML) as server:
        yield server


def severe_console_entries(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


AXE = HTML.parent / "npm" / "node_modules" / "axe-core" / "axe.min.js"
AXE_JS = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
  .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                            example: v.nodes[0].html.slice(0, 160)}))))
  .catch((e) => done([{id: 'axe-error', impact: 'critical', nodes: 0, example: String(e)}]));
"""


@pytest.fixture(scope="module")
def crawl(browser, site):
    """Visit every page once; return {page: report} and the crawl's duration."""
    assert AXE.exists(), f"{AXE} is missing: scripts/build_book.sh installs it with npm ci (package.json)"
    axe_source = AXE.read_text(encoding="utf-8")
    browser.get_log("browser")  # the blank start page's lines, if any; the first book page counts
    reports = {}
    start = time.perf_counter()
    for page in html_pages():
        browser.get(site.base + page)
        report = browser.execute_async_script(COLLECT_JS)
        report["console"] = severe_console_entries(browser)
        browser.execute_script(axe_source)
        report["axe"] = browser.execute_async_script(AXE_JS)
        reports[page] = report
    reports_time = time.perf_counter() - start
    assert reports, "the build has no HTML pages"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "crawl.json").write_text(json.dumps(
        {"pages": len(reports), "crawl_seconds": round(reports_time, 1),
         "math_containers": {p: r.get("containers", 0) for p, r in reports.items()},
         "axe_violations": {p: r.get("axe", []) for p, r in reports.items() if r.get("axe")}}, indent=1),
        encoding="utf-8")
    return {"pages": reports, "seconds": reports_time, "base": site.base}


def failures(crawl, describe) -> dict[str, object]:
    out = {}
    for page, report in crawl["pages"].items():
        problem = report.get("error") or describe(report)
        if problem:
            out[page] = problem
    return out


def test_pages_were_discovered(crawl):
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
            problems.append(f"{len(r['untypeset'])} math element(s) left as TeX, e.g. {r['untypeset'][0]!r}")
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
        if "class=\"math" in html:
            assert re.search(r'<script[^>]*src="[^"]*mathjax/tex-chtml\.js', html), f"{page}: no local MathJax"


def test_images_load(crawl):
    bad = failures(crawl, lambda r: [i["src"] for i in r["images"] if not i["ok"]])
    assert not bad, f"images that did not load: {bad}"


def test_exercise_solutions_are_toggles(crawl):
    def describe(r):
        return [c for c in r["hideInput"] if not c["toggle"] or c["open"] or c["codeVisible"]]
    bad = failures(crawl, describe)
    assert not bad, f"hide-input cells not rendered as a closed toggle: {bad}"
    tagged = sum(src.read_text(encoding="utf-8").count('"hide-input"')
                 for src in (HTML / "_sources").rglob("*.ipynb"))
    seen = sum(len(r["hideInput"]) for r in crawl["pages"].values())
    assert seen >= tagged, f"{tagged} hide-input cells in the notebooks, {seen} found in the pages"


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
    bad = failures(crawl, lambda r: [f"{v['id']} ({v['impact']}, {v['nodes']} nodes, e.g. {v['example']})"
                                     for v in r.get("axe", []) if v["impact"] in ("serious", "critical")])
    assert not bad, f"axe-core found serious or critical violations: {bad}"


def test_search_finds_gradient(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site.base + "search.html?q=gradient")
    WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results .search-summary")
        and "Searching" not in d.find_element(By.CSS_SELECTOR, "#search-results .search-summary").text)
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
    notebooks = sorted(p.relative_to(HTML / "_sources").with_suffix(".html").as_posix()
                       for p in (HTML / "_sources").rglob("*.ipynb"))
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
                "const m = document.querySelector('mjx-container[display=true]') || document.querySelector('mjx-container');"
                "if (m) m.scrollIntoView({block: 'center'});")
        path = SCREENSHOTS / f"{name}.png"
        assert browser.save_screenshot(str(path)), f"no screenshot of {page}"
        assert path.stat().st_size > 10_000, f"{path.name} looks blank"


# ----------------------------------------------------------------------------- the PDF
# scripts/build_pdf.sh: complete, numbered, with figures and typeset math. In this module so that the
# PDF's single-page build never runs on another worker while the crawl above reads _build/html.

def _title(doc: str) -> str:
    path = ROOT / (doc + ".ipynb")
    if path.exists():
        sources = ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                   if c["cell_type"] == "markdown"]
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
        assert re.search(rf"(?m)^{re.escape(number)}\s+[A-Z]", text), f"no section numbered {number}"


def test_pdf_math_is_typeset_and_no_raw_tex_is_left(pdf_pages):
    text = " ".join(pdf_pages)
    for raw in ("\\(", "\\[", "\\begin{"):
        assert raw not in text, f"raw TeX {raw!r} in the PDF: MathJax did not typeset it"
    glyph_pages = sum(bool(re.search("[∂ησ∇θ∑]", page)) for page in pdf_pages)
    assert glyph_pages >= 50, f"only {glyph_pages} pages show math glyphs"


def test_pdf_figures_are_embedded(pdf_pages):
    from pypdf import PdfReader

    images = sum(len(page.images) for page in PdfReader(str(PDF)).pages)
    notebooks = sorted((ROOT / "chapters").rglob("*.ipynb"))
    stored = sum(1 for nb in notebooks for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                 if cell["cell_type"] == "code" for out in cell.get("outputs", []) if "image/png" in out.get("data", {}))
    assert images >= stored, f"{images} images in the PDF, {stored} figures stored in the notebooks"

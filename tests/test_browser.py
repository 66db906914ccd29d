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
* the search page finds results for "gradient".

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
import urllib.error
import urllib.parse
import urllib.request

import pytest

from _browser_support import (
    BUILD_STAMP, HTML, SCREENSHOTS, BookServer, build_book, build_is_stale, find_browser, html_pages, start_chromium,
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
    with BookServer(HTML) as server:
        yield server


def severe_console_entries(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


@pytest.fixture(scope="module")
def crawl(browser, site):
    """Visit every page once; return {page: report} and the crawl's duration."""
    browser.get_log("browser")  # the blank start page's lines, if any; the first book page counts
    reports = {}
    start = time.perf_counter()
    for page in html_pages():
        browser.get(site.base + page)
        report = browser.execute_async_script(COLLECT_JS)
        report["console"] = severe_console_entries(browser)
        reports[page] = report
    reports_time = time.perf_counter() - start
    assert reports, "the build has no HTML pages"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "crawl.json").write_text(json.dumps(
        {"pages": len(reports), "crawl_seconds": round(reports_time, 1),
         "math_containers": {p: r.get("containers", 0) for p, r in reports.items()}}, indent=1), encoding="utf-8")
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


"""Reads the built documentation site as a reader would, in headless Chromium (`nox -s docs`).

Serves SITE (build/site) on 127.0.0.1, opens the home page, follows every link of the
navigation and every link inside each page, and fails on: a console error or uncaught script
error, a request that fails or answers 400 or more, any request leaving 127.0.0.1 (the site
must need nothing from outside), a page without its title, a link to a missing page or anchor,
an image that does not load, or a search that finds nothing. Screenshots of the home page,
the API reference and the benchmarks page go to SHOTS (docs/_screenshots/).

Usage: python docs/site_browser_check.py [SITE] [SHOTS]
Chromium is Debian's (/usr/bin/chromium), driven by playwright; no browser is downloaded.
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import ConsoleMessage, Page, Request, Response, Route, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# page (site path) -> screenshot file, and what to scroll into view first
SCREENSHOTS = {
    "": ("home.png", None),
    "docs/reference/zanj_core/": ("api_reference.png", "#zanj_core\\.ZANJ"),
    "docs/benchmarks/": ("benchmarks.png", "img[src$='state_dict.png']"),
}
SEARCH_TERM = "memory map"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    """The site on a free port of 127.0.0.1, served from a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="docs-site", daemon=True).start()
    return server


class SiteReader:
    """One browser page reading the site, collecting every problem it meets."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.problems: list[str] = []
        self.current = ""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{self.current}: script error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"{self.current}: console error: {message.text}")

    def _failed(self, request: Request) -> None:
        self.problems.append(f"{self.current}: request failed: {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"{self.current}: HTTP {response.status} for {response.url}")

    def visit(self, url: str) -> bool:
        """Opens `url` and waits for the network to settle (so no request is cut off by the next
        visit); False, with the problem noted, when it does not load as a page."""
        self.current = url.removeprefix(self.base) or "/"
        response = self.page.goto(url, wait_until="networkidle")
        if response is None or not response.ok:
            self.problems.append(f"{self.current}: did not load ({response.status if response else 'no response'})")
            return False
        if not self.page.locator("article h1").count():
            self.problems.append(f"{self.current}: no page title (article h1)")
        broken = self.page.eval_on_selector_all(
            "article img", "imgs => imgs.filter(i => !i.naturalWidth).map(i => i.src)"
        )
        self.problems += [f"{self.current}: image did not load: {src}" for src in broken]
        return True

    def links(self, selector: str) -> list[str]:
        """Absolute same-site URLs of the links `selector` matches."""
        hrefs: list[str] = self.page.eval_on_selector_all(selector, "links => links.map(a => a.href)")
        return [href for href in hrefs if href.startswith(self.base)]

    def ids(self) -> set[str]:
        """The element ids of the open page: the anchors a link may name."""
        return set(self.page.eval_on_selector_all("[id]", "elements => elements.map(e => e.id)"))

    def search(self, term: str) -> None:
        """Types `term` into the search box once the search index is ready; its results must show."""
        self.current = f"search {term!r}"
        self.page.goto(self.base, wait_until="networkidle")
        self.page.locator("label.md-search__icon, .md-search__input").first.click()
        meta = self.page.locator(".md-search-result__meta")
        try:  # the index is built in a web worker; a query typed before it is ready is dropped
            self.page.wait_for_function(
                "() => !document.querySelector('.md-search-result__meta').textContent.includes('Initializing')",
                timeout=60_000,
            )
            self.page.locator("input.md-search__input").press_sequentially(term)
            self.page.locator(".md-search-result__item").first.wait_for(timeout=30_000)
        except Exception:
            self.problems.append(f"search for {term!r} found nothing ({meta.inner_text()!r})")


def _block_outside(base: str, problems: list[str]) -> Callable[[Route], None]:
    """A route handler letting through requests to the site alone; any other is noted and refused."""

    def route(route: Route) -> None:
        if route.request.url.startswith(base) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            problems.append(f"request outside the site: {route.request.url}")
            route.abort()

    return route


def check_site(site: Path, shots: Path) -> list[str]:
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    outside: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", _block_outside(base, outside))
            reader = SiteReader(context.new_page(), base)
            reader.visit(base)
            nav = list(dict.fromkeys(urldefrag(url)[0] for url in reader.links("nav.md-nav--primary a.md-nav__link")))
            if len(nav) < 10:
                reader.problems.append(f"the navigation lists only {len(nav)} pages")
            # every page of the navigation, then every page a page links to, each read once
            anchors: dict[str, set[str]] = {}
            in_page: dict[str, list[str]] = {}
            queue = list(nav)
            while queue:
                url = queue.pop(0)
                if url in anchors:
                    continue
                anchors[url] = set()
                if reader.visit(url):
                    anchors[url] = reader.ids()
                    in_page[url] = reader.links("article a[href]")
                    queue += [urldefrag(link)[0] for link in in_page[url] if urlsplit(link).path.endswith("/")]
            # every link inside a page: a page with its anchor, or a file of the site
            for source, links in in_page.items():
                for link in links:
                    target, fragment = urldefrag(link)
                    where = f"{source.removeprefix(base) or '/'}: link {link.removeprefix(base)}"
                    if not urlsplit(target).path.endswith("/"):  # LICENSE, a .py, an image
                        if not context.request.get(target).ok:
                            reader.problems.append(f"{where}: not found")
                    elif fragment and fragment not in anchors[target]:
                        reader.problems.append(f"{where}: no such anchor")
            seen = [url for url in anchors if url in in_page]
            reader.search(SEARCH_TERM)
            shots.mkdir(parents=True, exist_ok=True)
            for path, (name, focus) in SCREENSHOTS.items():
                reader.visit(base + path)
                if focus:  # to the top of the window, below the sticky header
                    reader.page.locator(focus).first.evaluate("e => { e.scrollIntoView(); window.scrollBy(0, -64); }")
                    reader.page.wait_for_timeout(800)  # the header's title fades to the page's name on scrolling
                reader.page.screenshot(path=str(shots / name))
            print(f"read {len(seen)} pages ({len(nav)} in the navigation); screenshots in {shots}")
            browser.close()
            return outside + reader.problems
    finally:
        server.shutdown()


def main() -> int:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "site"
    shots = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "_screenshots"
    problems = check_site(site.resolve(), shots)
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

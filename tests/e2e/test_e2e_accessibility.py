"""Every page each role reaches, at 360 px: axe-core finds no serious or critical violation, nothing is wider than the
screen, and every tap target is big enough for a thumb.

axe-core comes from the npm registry (tests/e2e/package.json; `npm ci --prefix tests/e2e`, which .ci/run does).
Pages are the crawl's (test_e2e_crawl.py): every link each role is shown, two deep, and a door with a person's
survey opened, on one demo server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.harness import server_errors, sign_in, start_server, stop_server
from tests.e2e.test_e2e_crawl import crawl

# The pages' markup is the same whichever database serves them; the crawl (test_e2e_crawl.py) opens them on both
pytestmark = pytest.mark.same_on_every_database

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
#: Every tap target's size, and the page's width: a link standing alone must be 44 px tall, a link inside a
#: sentence 24 px (WCAG 2.2, 2.5.8), and nothing may make the page wider than the phone.
MEASURE = """() => {
  const small = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    if (el.matches('input[type=radio], input[type=checkbox]') && el.closest('label')) continue;  // the label is the target
    const inline = el.tagName === 'A' && style.display === 'inline' && el.closest('p, li, td, span');
    if (box.height < (inline ? 24 : 44) - 0.5) small.push(`${el.tagName} "${(el.innerText || el.name || '').trim().slice(0, 30)}" ${Math.round(box.height)} px`);
  }
  return {width: document.documentElement.scrollWidth, small};
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CANVASS_REQUIRE_BROWSER"):
            pytest.fail(f"axe-core is required but {AXE} is missing: npm ci --prefix tests/e2e")
        pytest.skip("axe-core is not installed (npm ci --prefix tests/e2e)")
    return AXE.read_text()


@pytest.fixture(scope="module")
def server(databases, tmp_path_factory):
    started = start_server(databases.copy("demo"), tmp_path_factory.mktemp("axe"))
    yield started
    stop_server(started)
    assert not server_errors(started), "\n".join(server_errors(started)[:20])


def violations(page, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    found = page.evaluate("async () => (await axe.run()).violations.map(v => ({id: v.id, impact: v.impact, "
                          "nodes: v.nodes.length, html: v.nodes[0].html.slice(0, 160)}))")
    return [f"{v['id']} ({v['impact']}, {v['nodes']}x): {v['html']}" for v in found if v["impact"] in SERIOUS]


@pytest.mark.parametrize("role", ["admin", "lead", "data", "volunteer"])
def test_every_page_fits_a_phone_and_has_no_serious_accessibility_violation(server, phones, axe_source, role):
    # The pages carry a strict Content-Security-Policy; axe is injected from outside it, as a test tool.
    context = phones.browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True,
                                         bypass_csp=True)
    phones.contexts.append(context)
    page = context.new_page()
    sign_in(page, server.base_url, f"{role}@example.org")
    urls = [url for url, (status, _final) in crawl(context, server.base_url, [page.url]).items() if status == 200]
    found = {}
    for url in urls:
        page.goto(url)
        page.wait_for_load_state()
        if "/door/" in url:  # and with a person's survey open
            page.locator("section.person summary.result-button.contact").first.click()
        measured = page.evaluate(MEASURE)
        problems = violations(page, axe_source) + measured["small"]
        if measured["width"] > 360:
            problems.append(f"the page is {measured['width']} px wide")
        if problems:
            found[url.removeprefix(server.base_url)] = problems
    assert len(urls) >= 5
    assert not found, "\n".join(f"{path}: {problem}" for path, items in found.items() for problem in items)

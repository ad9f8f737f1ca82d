import time, pytest
from tests.e2e import test_e2e_crawl as t
from tests.e2e.harness import sign_in

def test_timing(demo_server, phones):
    base = demo_server.base_url
    ctx = phones.open(); page = ctx.new_page()
    s = time.monotonic(); sign_in(page, base, "lead@example.org"); print("signin", time.monotonic()-s)
    s = time.monotonic(); t.fingerprint(demo_server); print("fp", time.monotonic()-s)
    s = time.monotonic(); a = t.crawl(ctx, base, page.url); print("crawl", len(a), time.monotonic()-s)
    for u in a:
        s = time.monotonic(); ctx.request.get(u); print(" ", round(time.monotonic()-s, 3), u)
    s = time.monotonic(); page.goto(base + "/turfs/4"); print("goto", time.monotonic()-s)
    s = time.monotonic(); page.wait_for_load_state("networkidle"); print("idle", time.monotonic()-s)

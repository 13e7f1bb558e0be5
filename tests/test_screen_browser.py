"""The wall screen in Debian's chromium: token checks, rotation, live data, revocation, iframes.

One live `streamlit run app.py` for the module, on a synthetic city one month behind the
reporting cycle. Only that server may open its DuckDB file, so new data reaches it the way a
scheduled import does (a file in its inbox folder), and a token is revoked the way an admin
does it (the tokens page, signed in, in a second browser page).
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from indicators import accounts, operations, store, tokens
from indicators import inbox as inbox_module
from indicators.access import SYSTEM
from indicators.catalog import load_catalog
from indicators.demo import build_city
from indicators.periods import latest_closed_month, shift_month
from tests.browser import ROOT, Server, assert_healthy, chromium, new_page, screenshot
from tests.conftest import write

pytestmark = pytest.mark.e2e

WORK = ROOT / "tmp" / "e2e" / "screen"
SCREEN_VIEWPORT = {"width": 1920, "height": 1080}
ADMIN, ADMIN_PASSWORD = "screen-admin", "wall-screen-2026"
WAIT_MS = 30_000
# The one-minute soak: 15 s to warm up (every slide drawn once, caches filled), then the
# server's memory may not rise more than SOAK_TOLERANCE_MB above its lowest point. A few MB
# come and go as pandas and plotly allocate; a minute only catches gross growth, the
# ten-minute bench/soak_screen.py run measures the slope.
SOAK_SECONDS = 55
SOAK_WARMUP_SECONDS = 15
SOAK_TOLERANCE_MB = 10.0


@pytest.fixture(scope="module")
def city() -> dict[str, object]:
    """The database (a month behind), the new month's values for the inbox, and the tokens."""
    catalog = load_catalog()
    expected = latest_closed_month(dt.date.today(), catalog.alerts.not_reported.deadline_day)
    built = build_city(catalog, 1, (4, 4), (6, 8), 24, expected, seed=11)
    path = WORK / "city.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = operations.open_store(path, catalog)
    operations.import_registry(con, catalog, built.registry, user="test")
    values = built.values.astype({"period": str})
    write(con, catalog, values[values["period"] < expected])
    store.set_meta(con, "demo", "true")  # synthetic numbers are labelled as such on screen
    district = built.registry.loc[built.registry["level"] == "district", "code"].iloc[0]
    streets = sorted(built.registry.loc[built.registry["level"] == "street", "code"])
    issued = {
        name: tokens.issue(con, SYSTEM, unit, label=name).token
        for name, unit in (("district", district), ("street", streets[0]), ("embedded", district))
    }
    accounts.create_account(con, ADMIN, "admin", None, ADMIN_PASSWORD, actor=SYSTEM, source="test")
    con.close()
    return {
        "db": path,
        "expected": expected,
        "new_month": values[values["period"] == expected],
        "tokens": issued,
        "district": district,
        "streets": streets,
    }


@pytest.fixture(scope="module")
def server(city) -> Iterator[Server]:
    running = Server(city["db"], WORK / "server.log")
    running.wait_healthy()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def screen_url(server: Server, token: str | None = None, **params: str) -> str:
    query = {"view": "screen", **({"token": token} if token else {}), **params}
    return f"{server.url}/?{urlencode(query)}"


def wait_for_screen(page) -> None:
    """Until the screen has drawn a slide or its refusal message."""
    page.locator("[data-screen-slide], [data-screen-message]").first.wait_for(timeout=WAIT_MS)


def slide_title(page) -> str:
    return page.locator("[data-slide-title]").first.get_attribute("data-slide-title")


def shows_data(page) -> bool:
    return page.locator("[data-index]").count() > 0


def test_deep_links_on_a_fresh_server_show_no_data_without_a_valid_token(server, browser, city):
    page = new_page(browser, viewport=SCREEN_VIEWPORT)
    for url in (
        f"{server.url}/screen",
        screen_url(server),
        screen_url(server, "guessed"),
        f"{server.url}/screen?view=screen&token=guessed",
        screen_url(server, city["tokens"]["street"], unit=city["district"]),
    ):
        page.goto(url)
        if "view=screen" in url:
            wait_for_screen(page)
            assert page.locator("[data-screen-message]").count() == 1, url
            assert page.locator('[data-testid="stSidebar"]').count() == 0, url
        else:  # the dashboard's own navigation has no such page: its login page
            page.get_by_label("用户名").wait_for(timeout=WAIT_MS)
        assert not shows_data(page), url
        if "view=screen" not in url:  # a path the dashboard does not serve: Streamlit says so
            page.console.errors[:] = [
                e for e in page.console.errors if "does not seem to exist" not in e
            ]
        assert_healthy(page)
    page.context.close()


def test_the_screen_rotates_and_new_data_appears_without_a_reload(server, browser, city):
    """Slides turn every 3 s; the month a scheduled import adds shows up by itself, and the
    stale badge goes away, with no page reload (a marker set in the page survives)."""
    page = new_page(browser, viewport=SCREEN_VIEWPORT)
    page.goto(screen_url(server, city["tokens"]["district"], interval="3", lang="en"))
    wait_for_screen(page)
    expected = city["expected"]
    assert page.locator("[data-period]").first.get_attribute("data-period") == shift_month(
        expected, -1
    )
    stale = page.locator('[data-badge="stale"]')
    assert stale.count() == 1 and expected in stale.inner_text()
    page.evaluate("window.screenMarker = 'no reload'")

    inbox = Path(city["db"]).parent / "inbox"
    inbox.mkdir(exist_ok=True)
    staged = inbox / f"{expected}.part"
    city["new_month"][["community_code", "period", "indicator", "value"]].to_csv(
        staged, index=False
    )
    settled = time.time() - 2 * inbox_module.SETTLE_SECONDS  # written whole: no need to wait
    os.utime(staged, (settled, settled))
    staged.rename(staged.with_suffix(".csv"))

    titles = [slide_title(page)]
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        if slide_title(page) != titles[-1]:
            titles.append(slide_title(page))
        period = page.locator("[data-period]").first.get_attribute("data-period")
        if len(titles) >= 3 and period == expected:
            break
    assert titles[0] == "Overview" and len(titles) >= 3, (
        f"the slide changed less than twice: {titles}"
    )
    assert period == expected, "the new month reached the open page"
    assert page.locator('[data-badge="stale"]').count() == 0
    assert page.evaluate("window.screenMarker") == "no reload", "a fragment refresh, not a reload"
    assert page.locator('[data-testid="stSidebar"]').count() == 0
    assert_healthy(page)
    page.context.close()

    wall = new_page(browser, viewport=SCREEN_VIEWPORT)
    wall.goto(screen_url(server, city["tokens"]["district"], rotate="overview", theme="dark"))
    wall.locator("[data-index]").first.wait_for(timeout=WAIT_MS)
    wall.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=WAIT_MS)
    wall.wait_for_timeout(500)  # the chart's line and markers after its axes
    screenshot(wall, "screen")
    assert_healthy(wall)
    wall.context.close()


def test_a_token_revoked_on_the_tokens_page_stops_the_screen(server, browser, city):
    screen_page = new_page(browser, viewport=SCREEN_VIEWPORT)
    screen_page.goto(screen_url(server, city["tokens"]["street"], interval="3"))
    wait_for_screen(screen_page)
    assert shows_data(screen_page)

    admin = new_page(browser)
    admin.goto(server.url)
    admin.get_by_label("用户名").fill(ADMIN)
    admin.get_by_label("密码").fill(ADMIN_PASSWORD)
    admin.get_by_role("button", name="登录").click()
    admin.get_by_role("link", name="大屏令牌").click()
    admin.get_by_text("撤销令牌").first.wait_for(timeout=WAIT_MS)
    picker = admin.locator('[data-testid="stSelectbox"]').filter(has_text="选择要撤销的令牌")
    picker.click()
    admin.get_by_role("option").filter(has_text="street").first.click()
    admin.get_by_role("button", name="撤销").click()
    admin.get_by_text("已撤销；").wait_for(timeout=WAIT_MS)

    screen_page.locator("[data-screen-message]").wait_for(timeout=WAIT_MS)
    assert "被撤销" in screen_page.locator("[data-screen-message]").inner_text()
    assert not shows_data(screen_page)
    for page in (screen_page, admin):
        assert_healthy(page)
        page.context.close()


@pytest.fixture
def embedding_site(server, city) -> Iterator[str]:
    """A static intranet page on another port that embeds the screen in an iframe."""
    site = WORK / "intranet"
    site.mkdir(parents=True, exist_ok=True)
    src = screen_url(server, city["tokens"]["embedded"], interval="5", theme="light", embed="true")
    (site / "index.html").write_text(
        '<!doctype html><meta charset="utf-8"><title>内网首页</title><h1>街道内网</h1>'
        f'<iframe src="{src}" width="1280" height="760" style="border:0"></iframe>',
        encoding="utf-8",
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()
    httpd.server_close()


def test_the_screen_works_inside_an_iframe_on_another_site(browser, embedding_site):
    page = new_page(browser, viewport={"width": 1400, "height": 900})
    page.goto(embedding_site)
    frame = page.frame_locator("iframe")
    frame.locator("[data-index]").first.wait_for(timeout=WAIT_MS)
    assert frame.locator("[data-screen-slide]").count() == 1
    assert frame.locator('[data-testid="stToolbar"]').count() == 0
    assert page.console.errors == [], page.console.errors
    page.context.close()


@pytest.mark.slow
def test_a_minute_of_rotation_does_not_grow_the_server_memory(server, browser, city):
    """The CI version of bench/soak_screen.py (run that for ten minutes or days): a screen
    refreshing every 3 s for a minute; after a warm-up (every slide drawn, caches filled) the
    server's resident memory must stay flat within the soak's tolerance."""
    psutil = pytest.importorskip("psutil", reason="psutil (requirements-dev) not installed")
    from bench.soak_screen import Sample, slope_per_hour

    process = psutil.Process(server.process.pid)
    page = new_page(browser, viewport=SCREEN_VIEWPORT)
    page.goto(screen_url(server, city["tokens"]["district"], interval="3"))
    wait_for_screen(page)
    began, samples = time.monotonic(), []
    while (elapsed := time.monotonic() - began) < SOAK_SECONDS:
        samples.append(Sample(elapsed, process.memory_info().rss / 2**20, slide_title(page), ""))
        page.wait_for_timeout(2000)
    warm = [s for s in samples if s.seconds >= SOAK_WARMUP_SECONDS]
    growth = warm[-1].rss_mb - min(s.rss_mb for s in warm)
    assert len({s.slide for s in samples}) >= 3, "the screen kept rotating"
    assert growth < SOAK_TOLERANCE_MB, (
        f"RSS grew {growth:.1f} MB after warm-up ({slope_per_hour(warm):.0f} MB/h): {samples}"
    )
    assert_healthy(page)
    page.context.close()

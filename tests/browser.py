"""Shared browser-test kit: a live `streamlit run app.py` on 127.0.0.1 and Debian's chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
WORK = ROOT / "tmp" / "e2e"
HOST = "127.0.0.1"
VIEWPORT = {"width": 1400, "height": 2400}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
RUN_TIMEOUT_MS = 45_000


def require_browser() -> object:
    """Playwright's sync API, or a skip that says why there is no browser to drive."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed: run `make browser`")
    return pytest.importorskip("playwright.sync_api", reason="playwright (python) not installed")


# Console errors that say nothing about the app, and why each is harmless:
# - failed loads of fonts / Material icons / favicon from the internet: the test machine is
#   offline (or the browser blocks them); the icon ligature still renders from the bundle
#   and the text falls back to the installed Noto fonts;
# - the WebSocket to /_stcore/stream closing or failing while a page is navigated away or
#   the browser closes (Streamlit logs the disconnect; the session is simply over).
IGNORED_URL_PARTS = ("fonts.googleapis.com", "fonts.gstatic.com", "material", "favicon")
IGNORED_TEXT_PARTS = ("websocket", "/_stcore/stream")
# - a 404 for `/<page>/_stcore/host-config` or `/<page>/_stcore/health`: on a page URL the
#   frontend first probes the path as a possible base URL before falling back to `/`.
IGNORED_PROBE = ("/_stcore/host-config", "/_stcore/health")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def build_demo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "indicators", "init", "--demo", "--db", str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


class Server:
    """One `streamlit run app.py` subprocess on a free local port."""

    def __init__(
        self, db: Path, log: Path, env: dict[str, str] | None = None, args: list[str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        env = {
            **os.environ,
            "HEALTH_DB": str(db),
            "HEALTH_DEMO": "0",
            "HEALTH_INBOX": str(db.parent / "inbox"),
            **(env or {}),
        }
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.address",
                HOST,
                "--server.port",
                str(self.port),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
                *(args or []),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read().decode().strip() == "ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"streamlit did not become healthy; log:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


@contextmanager
def chromium() -> Iterator[object]:
    """A launched Debian chromium (skips the test when there is none)."""
    sync_api = require_browser()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: object, viewport: dict | None = None, locale: str = "zh-CN") -> object:
    """A page in a fresh context with console-error collection (`page.console`)."""
    context = browser.new_context(viewport=viewport or VIEWPORT, locale=locale)
    page = context.new_page()
    page.console = ConsoleErrors(page)
    return page


class ConsoleErrors:
    """Collects browser console errors and uncaught page errors, minus the known harmless ones."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.ignored: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        text = f"{message.text} @ {url}"
        lowered = text.lower()
        probe = (
            "404" in lowered
            and any(url.endswith(part) for part in IGNORED_PROBE)
            and urlparse(url).path not in IGNORED_PROBE
        )
        if probe or any(part in lowered for part in IGNORED_URL_PARTS + IGNORED_TEXT_PARTS):
            self.ignored.append(text)
        else:
            self.errors.append(text)


def wait_for_app(page) -> None:
    """Waits until the script run finished: a page title is shown and nothing is running."""
    page.locator("h1").first.wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        running = (
            page.locator('[data-testid="stStatusWidget"]').count() > 0
            or page.locator('[data-testid="stSkeleton"]').count() > 0
            or page.locator('[data-stale="true"]').count() > 0
        )
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.8:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the app was still running after the timeout")


def assert_healthy(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.console.errors == [], page.console.errors


def sidebar_filters(page):
    return page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def wait_for_text(page, text: str) -> str:
    """Waits until the main area shows `text` and returns the main area's text.

    A cold page build on a slow machine can outlast the quiet window of `wait_for_app`,
    so a page's expected content is waited for rather than read once.
    """
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    shown = main_text(page)
    while text not in shown and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        shown = main_text(page)
    assert text in shown, f"{text!r} missing from the page: {shown[:500]!r}"
    wait_for_app(page)
    return main_text(page)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# The demo database's accounts (indicators/accounts.py creates them with the demo city).
DEMO_ADMIN = ("admin", "admin-demo")


def sign_in(page, name: str, password: str) -> None:
    """Fills the login form (Chinese labels) and waits until the app has run past it."""
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_label("用户名").wait_for(state="detached", timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)

"""A real `streamlit run` server driven by websocket sessions that speak Streamlit's protocol.

Each Session is what a browser tab does to the server: it connects to /_stcore/stream, signs in
through the login form and asks for reruns of pages (BackMsg.rerun_script with the query string
and the page), then reads ForwardMsgs until the run finishes. The server does all its real
work — script runs, caches, protobuf serialisation, websocket sends — while the client costs
little CPU: it never renders anything. What is not measured: the browser's own rendering, and
the forward-message cache (a session reports no cached messages, so the server sends every
element in full, which is the server's worst case).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.steps import copy_database, fresh
from bench.tiers import ROOT, Tier
from indicators import accounts, store
from indicators.access import SYSTEM

HOST = "127.0.0.1"
BENCH_USER = "bench_admin"
BENCH_PASSWORD = "bench-password-1"  # a throwaway account in a throwaway copy of the database
START_TIMEOUT = 300.0
RUN_TIMEOUT = 600.0
SAMPLE_SECONDS = 0.1
FINISHED_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
# Users pause between reruns, uniformly this many seconds: reading the page before the next
# click (the goal's measure), and an impatient burst of clicks (the server's saturation).
THINK_SECONDS = (5.0, 15.0)
BUSY_THINK_SECONDS = (1.0, 3.0)
PAGES = ("overview", "community", "alerts")
DEFAULT_PAGE = "overview"  # the page at "/" (its url pathname is empty)


@dataclass
class RunResult:
    """One rerun as the client saw it."""

    seconds: float
    errors: list[str]
    page: str
    headings: list[str] = field(default_factory=list)


@dataclass
class Session:
    """One browser tab's worth of websocket traffic."""

    url: str
    query: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # url pathname → page_script_hash
    widgets: dict[str, str] = field(default_factory=dict)  # widget key → widget id
    options: dict[str, list[str]] = field(default_factory=dict)  # selectbox key → its labels
    page: str = ""  # the page shown now (url pathname; "" = the default)
    socket: object = None

    async def open(self) -> None:
        self.socket = await websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60, ping_interval=None
        )

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    async def rerun(
        self, page: str = "", query: str | None = None, widget_states: list | None = None
    ) -> RunResult:
        """Asks for a run of `page` (url pathname; "" = the default) and waits for its end."""
        if query is not None:
            self.query = query
        self.page = page
        state = ClientState(query_string=self.query, page_script_hash=self.pages.get(page, ""))
        for widget in widget_states or []:
            state.widget_states.widgets.append(widget)
        message = BackMsg(rerun_script=state)
        start = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        errors: list[str] = []
        headings: list[str] = []
        while True:
            data = await asyncio.wait_for(self.socket.recv(), RUN_TIMEOUT)
            forward = ForwardMsg.FromString(data)
            kind = forward.WhichOneof("type")
            if kind == "delta":
                self._read_delta(forward, errors, headings)
            elif kind == "navigation":
                self.pages = {
                    p.url_pathname or DEFAULT_PAGE: p.page_script_hash
                    for p in forward.navigation.app_pages
                }
            elif kind == "page_info_changed":
                self.query = forward.page_info_changed.query_string
            elif kind == "session_event" and forward.session_event.WhichOneof("type") in (
                "script_compilation_exception",
            ):
                errors.append("script compilation exception")
            elif kind == "script_finished" and forward.script_finished != FINISHED_EARLY_FOR_RERUN:
                break
        return RunResult(time.perf_counter() - start, errors, page, headings)

    def _read_delta(self, forward: ForwardMsg, errors: list[str], headings: list[str]) -> None:
        delta = forward.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            errors.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "heading":
            headings.append(element.heading.body)
        elif kind in ("text_input", "button", "selectbox"):
            widget = getattr(element, kind)
            key = widget.id.rsplit("-", 1)[-1]
            self.widgets[key] = widget.id
            if kind == "selectbox":
                self.options[key] = list(widget.options)

    def selection(self, labels: dict[str, str | None]) -> list:
        """Widget states choosing sidebar options by their labels (None = the "all" option)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        states = []
        for key, label in labels.items():
            if key in self.widgets:
                value = label if label is not None else self.options.get(key, [""])[0]
                states.append(WidgetState(id=self.widgets[key], string_value=value))
        return states

    async def sign_in(self, query: str) -> RunResult:
        """Opens the app (the login page) and submits the login form."""
        await self.rerun(query=query)
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        states = [
            WidgetState(id=self.widgets["lg_name"], string_value=BENCH_USER),
            WidgetState(id=self.widgets["lg_password"], string_value=BENCH_PASSWORD),
            WidgetState(id=self.widgets["lg_submit"], trigger_value=True),
        ]
        result = await self.rerun(widget_states=states)
        if "overview" not in self.pages:
            raise RuntimeError(
                f"sign-in failed: pages {sorted(self.pages)}, errors {result.errors}"
            )
        return result


class LiveServer:
    """`streamlit run app.py` on a free port with the tier's database; RSS sampled throughout."""

    def __init__(self, database: Path, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self.database = database
        self.log = log
        self.peak_rss = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()

    def __enter__(self) -> LiveServer:
        env = {
            **os.environ,
            "HEALTH_DB": str(self.database),
            "HEALTH_DEMO": "0",
            "HEALTH_INBOX": str(self.database.parent / "inbox"),
        }
        self._log = self.log.open("wb")
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
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.started = time.perf_counter()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/_stcore/health", timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"streamlit exited: see {self.log}") from None
                time.sleep(0.2)
        raise RuntimeError("streamlit did not start")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}/_stcore/stream"

    def _sample(self) -> None:
        process = psutil.Process(self.process.pid)
        while not self._stop.is_set():
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                return
            self.peak_rss = max(self.peak_rss, rss)
            self.samples.append((time.perf_counter() - self.started, rss))
            time.sleep(SAMPLE_SECONDS)

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20


def prepare_database(tier: Tier, purpose: str) -> tuple[Path, dict[str, str], list[str]]:
    """A copy of the tier's scored database with the bench account; unit names by code and
    the community codes."""
    path = copy_database(tier.database("values"), tier.database(purpose))
    con = store.connect(path)
    try:
        accounts.create_account(
            con, BENCH_USER, "admin", None, BENCH_PASSWORD, actor=SYSTEM, source="bench"
        )
        units = store.registry(con, scope=None)
    finally:
        con.close()
    names = dict(zip(units["code"], units["name"], strict=True))
    codes = units.loc[units["level"] == "community", "code"].tolist()
    return path, names, codes


Visit = tuple[str, str | None, str | None, str | None]  # page, district, street, community


def visits(codes: list[str], count: int, seed: int) -> list[Visit]:
    """Pages a user might open with a selection: the whole area, a district, a street, a
    community — for `count` communities drawn with a fixed seed."""
    rng = random.Random(seed)
    found: list[Visit] = [("overview", None, None, None), ("alerts", None, None, None)]
    for code in rng.sample(codes, min(count, len(codes))):
        district, street = code[:6] + "000000", code[:9] + "000"
        found += [
            ("overview", district, None, None),
            ("overview", district, street, None),
            ("community", district, street, code),
            ("alerts", district, None, None),
        ]
    return found


async def _visit(session: Session, visit: Visit, names: dict[str, str]) -> list[RunResult]:
    """Chooses the visit's district, street and community in the sidebar and opens its page.

    A person picks the community after its street is shown: the sidebar offers the street's
    communities only once the street is chosen, and drops a remembered community that is not
    among them. So a visit to a community first reruns the current page with the district and
    street chosen, then opens the page with the community chosen; both runs are results.
    """
    page, district, street, community = visit
    labels = {
        "sb_district": names.get(district),
        "sb_street": names.get(street),
        "sb_community": names.get(community),
    }
    results = []
    if community is not None:
        area = {**labels, "sb_community": None}
        results.append(await session.rerun(session.page, widget_states=session.selection(area)))
    results.append(await session.rerun(page, widget_states=session.selection(labels)))
    return results


# ---- 6. memory of the dashboard process -----------------------------------------------------


def step_server(tier: Tier, sessions: int = 3, visits_per_session: int = 6) -> dict:
    """Peak RSS of a real server while `sessions` users sign in and visit pages."""
    path, names, codes = prepare_database(tier, "server")
    log = tier.folder / "server.log"
    with LiveServer(path, log) as server:
        idle_mb = server.rss_mb()
        results = asyncio.run(_tour(server.url, names, codes, sessions, visits_per_session))
        time.sleep(2 * SAMPLE_SECONDS)
        peak_mb = server.peak_rss / 2**20
        final_mb = server.rss_mb()
    fresh(path)
    seconds = [r.seconds for r in results]
    return {
        "idle_rss_mb": idle_mb,
        "peak_rss_mb": peak_mb,
        "final_rss_mb": final_mb,
        "sessions": sessions,
        "runs": len(results),
        "errors": sorted({e for r in results for e in r.errors}),
        "run_seconds_median": statistics.median(seconds),
        "run_seconds_max": max(seconds),
    }


async def _tour(
    url: str, names: dict[str, str], codes: list[str], sessions: int, count: int
) -> list[RunResult]:
    async def one(seed: int) -> list[RunResult]:
        session = Session(url)
        await session.open()
        try:
            results = [await session.sign_in("")]
            for visit in visits(codes, count, seed):
                results += await _visit(session, visit, names)
            return results
        finally:
            await session.close()

    done = await asyncio.gather(*(one(seed) for seed in range(sessions)))
    return [result for results in done for result in results]


# ---- 7. load: concurrent sessions --------------------------------------------------------------


def step_load(tier: Tier, sessions: int, seconds: float) -> dict:
    """One session alone, then `sessions` at once, each rerunning pages with think time.

    Every session signs in first (not timed), then loops: choose a page and a selection from
    a fixed list, wait for the run to finish, pause. A first pass of one session warms the
    shared caches for every view in the list; one session alone then gives the baseline, the
    crowd pauses THINK_SECONDS, and the same crowd again with BUSY_THINK_SECONDS for half as
    long shows where the server saturates.
    """
    path, names, codes = prepare_database(tier, "load")
    log = tier.folder / "load.log"
    views = visits(codes, 8, seed=7)
    with LiveServer(path, log) as server:
        warm = asyncio.run(_warm(server.url, names, views))
        # Alone, a session's rerun time does not depend on its pauses: short ones give more runs.
        single = asyncio.run(
            _load(server.url, names, views, 1, seconds / 3, 2000, BUSY_THINK_SECONDS)
        )
        crowd = asyncio.run(_load(server.url, names, views, sessions, seconds, 3000, THINK_SECONDS))
        busy = asyncio.run(
            _load(server.url, names, views, sessions, seconds / 2, 4000, BUSY_THINK_SECONDS)
        )
        peak_mb = server.peak_rss / 2**20
    fresh(path)
    return {
        "sessions": sessions,
        "seconds": seconds,
        "think_seconds": list(THINK_SECONDS),
        "busy_think_seconds": list(BUSY_THINK_SECONDS),
        "views": len(views),
        "warm": _distribution(warm),
        "single": _distribution(single),
        "concurrent": _distribution(crowd, seconds),
        "busy": _distribution(busy, seconds / 2),
        "peak_rss_mb": peak_mb,
    }


async def _warm(url: str, names: dict[str, str], views: list[Visit]) -> list[RunResult]:
    session = Session(url)
    await session.open()
    try:
        await session.sign_in("")
        return [result for visit in views for result in await _visit(session, visit, names)]
    finally:
        await session.close()


async def _load(
    url: str,
    names: dict[str, str],
    views: list[Visit],
    sessions: int,
    seconds: float,
    seed: int,
    think: tuple[float, float],
) -> list[RunResult]:
    deadline = time.perf_counter() + seconds

    async def one(number: int) -> list[RunResult]:
        rng = random.Random(seed + number)
        session = Session(url)
        await session.open()
        results: list[RunResult] = []
        try:
            await session.sign_in("")
            await asyncio.sleep(rng.uniform(*think))
            while time.perf_counter() < deadline:
                try:
                    results += await _visit(session, rng.choice(views), names)
                except (TimeoutError, websockets.ConnectionClosed) as error:
                    results.append(
                        RunResult(float("nan"), [f"{type(error).__name__}: {error}"], "")
                    )
                    break
                await asyncio.sleep(rng.uniform(*think))
        finally:
            await session.close()
        return results

    done = await asyncio.gather(*(one(n) for n in range(sessions)))
    return [result for results in done for result in results]


def _distribution(results: list[RunResult], duration: float | None = None) -> dict:
    seconds = sorted(r.seconds for r in results if r.seconds == r.seconds)
    if not seconds:
        return {"runs": 0, "errors": sorted({e for r in results for e in r.errors})}

    def percentile(share: float) -> float:
        return seconds[min(len(seconds) - 1, round(share * (len(seconds) - 1)))]

    return {
        "runs": len(results),
        "p50": percentile(0.5),
        "p95": percentile(0.95),
        "max": seconds[-1],
        "errors": sorted({e for r in results for e in r.errors}),
        "error_runs": sum(1 for r in results if r.errors),
        "runs_per_second": len(results) / duration if duration else None,
        "by_page": {
            page: statistics.median(
                [r.seconds for r in results if r.page == page and r.seconds == r.seconds] or [0.0]
            )
            for page in PAGES
        },
    }

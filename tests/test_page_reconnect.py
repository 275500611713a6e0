"""The page's live feed reconnects with back-off when the server goes away (1 s, 2 s, 4 s, 8 s, then every 8 s), and
starts again from 1 s once a connection has opened. The page's timers run on Playwright's clock, moved by the
test: what is checked is when the page tries, not how long anything took."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import chromium, processes
from tests.chromium import ARGS, CHROMIUM

pytestmark = pytest.mark.browser


# Every WebSocket the page opens, and every one that closed.
COUNT_SOCKETS = """
window.__ws = {attempts: 0, closes: 0};
const RealWebSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const ws = new RealWebSocket(url, protocols);
  window.__ws.attempts += 1;
  ws.addEventListener("close", () => { window.__ws.closes += 1; });
  return ws;
};
window.WebSocket.prototype = RealWebSocket.prototype;
"""


def start(data_dir: Path, env: dict, port: int, api_port: int) -> subprocess.Popen:
    log = data_dir / f"server-{port}.log"
    proc = subprocess.Popen([processes.PY, "manage.py", "playground", "--port", str(port), "--api-port", str(api_port),
                             "--tempo", "instant"], cwd=processes.ROOT, env=env, stdout=log.open("a"),
                            stderr=subprocess.STDOUT)
    processes.wait_healthy(f"http://127.0.0.1:{port}", proc, log)
    return proc


def sockets(page) -> tuple[int, int]:
    counts = page.evaluate("window.__ws")
    return counts["attempts"], counts["closes"]


def failed_attempts(page, n: int) -> None:
    """Until the page has made its n-th attempt and it has failed (a refused connection closes at once)."""
    page.wait_for_function("n => window.__ws.attempts === n && window.__ws.closes === n", arg=n, timeout=30_000)


def test_it_reconnects_with_back_off_and_starts_over_once_connected(tmp_path):
    chromium.require()
    from playwright.sync_api import sync_playwright

    env = processes.base_env(tmp_path)
    processes.manage(env, "migrate", "--noinput")
    port, api_port = processes.free_port(), processes.free_port()
    server = start(tmp_path, env, port, api_port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.clock.install()
            page.add_init_script(COUNT_SOCKETS)
            page.goto(f"http://127.0.0.1:{port}/p/default/")
            page.wait_for_selector("#live.on")
            assert sockets(page) == (1, 0)
            page.clock.pause_at(page.evaluate("Date.now()") + 10)  # from here on, time moves only when moved

            processes.stop(server)
            failed_attempts(page, 1)
            page.wait_for_selector("#live:not(.on)")
            attempts = 1
            for delay in (1000, 2000, 4000, 8000, 8000):
                page.clock.run_for(delay - 1)
                assert sockets(page) == (attempts, attempts)  # not yet
                page.clock.run_for(1)
                attempts += 1
                failed_attempts(page, attempts)

            server = start(tmp_path, env, port, api_port)
            page.clock.run_for(8000)
            page.wait_for_selector("#live.on", timeout=30_000)
            assert sockets(page) == (attempts + 1, attempts)

            # Once a connection has opened, the next loss is retried after 1 s again.
            processes.stop(server)
            page.wait_for_function("n => window.__ws.closes === n", arg=attempts + 1, timeout=30_000)
            page.clock.run_for(999)
            assert sockets(page) == (attempts + 1, attempts + 1)
            page.clock.run_for(1)
            failed_attempts(page, attempts + 2)
            browser.close()
    finally:
        processes.stop(server)

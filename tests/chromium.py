"""Debian's chromium for the browser tests, driven by Playwright's Python API through `executable_path`."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def require() -> None:
    """Skip, saying why, on a machine without chromium."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed: run `make browser`")


@contextlib.contextmanager
def launched() -> Iterator:
    """A headless chromium for the block (screenshots go to test-artifacts/)."""
    require()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()

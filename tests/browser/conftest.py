"""Fixtures for the browser tests: a demo casework served by `casework serve`, Debian's headless
Chromium, fresh pages in their own browser contexts, and screenshots into test-output/."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.served import CHROMIUM, ROOT, VIEWPORT, launch, prepare_home, served

SCREENSHOTS = ROOT / "test-output" / "screenshots"


def _need_chromium() -> None:
    """Skip without the browser on a developer's machine; under CI its absence is a failure."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (Debian: apt-get install chromium, as .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of `casework serve` over a fresh demo home (SQLite, the real clock)."""
    _need_chromium()
    home = tmp_path_factory.mktemp("casework-home")
    prepare_home(home)
    with served(home) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _need_chromium()
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(site: str, browser: Browser) -> Iterator[Callable[[], Page]]:
    """Pages, each in a browser context of its own (its own cookies: its own person)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(base_url=site, viewport=VIEWPORT)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """`shot(page, "step")` saves the page as test-output/screenshots/<test>-<nn>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w-]+", "_", request.node.name.removeprefix("test_"))
    numbers = itertools.count(1)

    def take(page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{test}-{next(numbers):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

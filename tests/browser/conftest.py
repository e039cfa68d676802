"""A real headless Chromium (Debian's chromium + chromium-driver, driven by selenium) and the processes the
browser tests talk to. Helpers here are shared by every browser test: `browser`, `save_screenshot`, `wait_for`.

Without chromium or chromedriver these tests skip naming the packages, and fail under CI (tests/system_tools.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.system_tools import require


ARTIFACTS = Path(__file__).with_name("artifacts")
WINDOW = (1000, 1500)
WAIT_SECONDS = 20


def chromium_options(chromium: str) -> Options:
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console errors, CSP violations among them
    return options


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A fresh headless Chromium per test (no cookies, storage or history carried over)."""
    chromium, chromedriver = require("chromium", "chromedriver")
    driver = webdriver.Chrome(service=Service(chromedriver), options=chromium_options(chromium))
    try:
        driver.set_page_load_timeout(WAIT_SECONDS)
        yield driver
    finally:
        driver.quit()


def save_screenshot(driver: WebDriver, name: str) -> Path:
    """The whole window as tests/browser/artifacts/<name>.png (git-ignored); returns the path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"chromium could not save {path}"
    return path


def console_errors(driver: WebDriver) -> list[str]:
    """The page's console errors so far (a blocked inline script or style shows here)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], object], what: str):
    """Wait until `condition(driver)` is truthy; fail naming `what` and the page's visible text otherwise."""
    try:
        return WebDriverWait(driver, WAIT_SECONDS).until(condition)
    except Exception as exc:  # TimeoutException, or the condition's own error
        body = driver.find_element("tag name", "body").text
        raise AssertionError(f"timed out waiting for {what} ({type(exc).__name__}); page text:\n{body}") from None


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("browser-server-logs")

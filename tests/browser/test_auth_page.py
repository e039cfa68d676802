"""The auth page in a real headless Chromium: `python -m server` serving it (tokens mode, moto DynamoDB, the
fake ElevenLabs API); a user fills the form, gets a connection URL, and that URL works with the MCP client."""

from __future__ import annotations

import anyio
import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import console_errors, save_screenshot, wait_for
from tests.fakes.elevenlabs_api import FAKE_API_KEY
from tests.server.authpage_harness import SIGNUP_CODE, auth_page_server, row_of
from tests.server.harness import mcp_client


@pytest.fixture(scope="module")
def running(fake, log_dir):
    with auth_page_server(fake, log_dir) as running:
        yield running


def visible_text(browser, element_id: str) -> str:
    element = browser.find_element(By.ID, element_id)
    return element.text if element.is_displayed() else ""


def fill_and_submit(browser, name: str, key: str, code: str) -> None:
    for field, value in (("name", name), ("key", key), ("code", code)):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    browser.find_element(By.ID, "submit").click()


def list_tools(url: str) -> list[str]:
    async def run():
        async with mcp_client(url, headers={}) as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    return anyio.run(run)


def open_form(browser, server) -> None:
    browser.get(f"{server.base_url}/auth")
    wait_for(browser, lambda b: b.find_element(By.ID, "form").is_displayed(), "the form after config.json loaded")
    assert browser.find_element(By.ID, "code").is_displayed(), "this server asks for a sign-up code"


def test_a_user_gets_a_working_connection_url(browser, running):
    server, moto, table = running
    open_form(browser, server)
    assert browser.title == "Connect to elevenlabs"

    fill_and_submit(browser, "Alice Browser", FAKE_API_KEY, SIGNUP_CODE)
    wait_for(browser, lambda b: b.find_element(By.ID, "result").is_displayed(), "the connection URL")
    url = visible_text(browser, "url")
    assert url.startswith(f"{server.base_url}/mcp?key=mcpt_")
    assert "shown once" in visible_text(browser, "result") and "secret" in visible_text(browser, "result")
    assert "stops working on" in visible_text(browser, "expires")
    assert not browser.find_element(By.ID, "form").is_displayed()
    assert browser.find_element(By.ID, "key").get_attribute("value") == "", "the key is cleared from the page"

    clients = browser.find_elements(By.CSS_SELECTOR, "#clients .client")
    titles = [c.find_element(By.TAG_NAME, "h3").text for c in clients]
    assert [t.split(" ")[0] for t in titles] == ["Claude", "Cursor", "Claude", "Claude"]
    assert all(url in c.find_element(By.TAG_NAME, "pre").text for c in clients)
    assert titles[0] == "Claude Code" and "claude mcp add --transport http" in clients[0].text

    clients[0].find_element(By.CSS_SELECTOR, "button.copy").click()
    wait_for(browser, lambda b: clients[0].find_element(By.CSS_SELECTOR, ".copied").text, "the copy confirmation")
    save_screenshot(browser, "auth-page")
    assert console_errors(browser) == []

    assert "text_to_speech" in list_tools(url)
    assert row_of(moto, table, url.rpartition("key=")[2])["name"] == {"S": "Alice Browser"}


def test_a_wrong_code_shows_the_servers_message_and_keeps_the_form(browser, running):
    server = running[0]
    open_form(browser, server)
    fill_and_submit(browser, "Mallory", FAKE_API_KEY, "not-the-code")
    wait_for(browser, lambda b: visible_text(b, "error"), "the error message")
    assert visible_text(browser, "error") == "That sign-up code is not right."
    assert browser.find_element(By.ID, "form").is_displayed()
    assert not browser.find_element(By.ID, "result").is_displayed()
    save_screenshot(browser, "auth-page-wrong-code")
    errors = console_errors(browser)  # the 403 itself is logged as a failed resource; nothing else may be
    assert all("/auth/token" in e and "403" in e for e in errors), errors


def test_the_page_fits_a_narrow_window(browser, running):
    browser.set_window_size(360, 900)
    open_form(browser, running[0])
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 360
    save_screenshot(browser, "auth-page-narrow")

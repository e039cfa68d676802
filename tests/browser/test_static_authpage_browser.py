"""The websocket deployment's static auth page in a real headless Chromium: the page and config.json published by
the auth function's custom resource into a moto bucket and served from there (as CloudFront serves the bucket), the
API on another origin behind a local stand-in for the function URL (events in, CORS headers out), the handler
against moto and the fake ElevenLabs API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from selenium.webdriver.common.by import By

from server import token_rows
from server.authpage import aws_lambda
from tests.authpage_lambda.conftest import (BRIDGE_URL, BUCKET, SIGNUP_CODE, TABLE, ResponseUrl, aws,  # noqa: F401
                                            custom_resource_event, make_api, url_event)
from tests.browser.conftest import console_errors, save_screenshot, wait_for
from tests.fakes import FAKE_API_KEY

SITE_OBJECTS = {"/": "index.html", "/index.html": "index.html", "/config.json": "config.json"}


def _serve(handler_class) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _site_handler(bucket: str):
    """CloudFront in front of the bucket: GET of the site's objects, read from S3."""
    class Site(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            key = SITE_OBJECTS.get(self.path)
            if key is None:
                self.send_error(403)  # S3 without ListBucket answers 403 for a missing object
                return
            obj = boto3.client("s3").get_object(Bucket=bucket, Key=key)
            body = obj["Body"].read()
            self.send_response(200)
            self.send_header("Content-Type", obj["ContentType"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Site


def _function_url_handler(api: aws_lambda.AuthApi, allowed_origin: str):
    """A function URL with the template's CORS: preflight answered by "Lambda", POST turned into an event."""
    class FunctionUrl(BaseHTTPRequestHandler):
        def do_OPTIONS(self):  # noqa: N802
            self.send_response(200)
            self._cors()
            self.send_header("Access-Control-Allow-Methods", "POST")
            self.send_header("Access-Control-Allow-Headers", "content-type")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            event = url_event(body, source_ip=self.client_address[0],
                              headers={name.lower(): value for name, value in self.headers.items()})
            response = api.signup(event)
            data = response["body"].encode()
            self.send_response(response["statusCode"])
            for name, value in response["headers"].items():
                self.send_header(name, value)
            self._cors()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _cors(self):
            if self.headers.get("Origin") == allowed_origin:
                self.send_header("Access-Control-Allow-Origin", allowed_origin)

        def log_message(self, *args):
            pass

    return FunctionUrl


@pytest.fixture
def static_site(make_api):  # noqa: F811 - the fixture imported above
    """(site URL, API URL): the page published through the custom resource and both origins serving."""
    site, site_url = _serve(_site_handler(BUCKET))
    api = make_api(MCP_ALLOWED_CIDRS="127.0.0.0/8", MCP_AUTH_PAGE_ORIGIN=site_url)
    function_url, api_url = _serve(_function_url_handler(api, site_url))
    response_url = ResponseUrl()
    try:
        aws_lambda.handler(custom_resource_event("Create", response_url.url, ApiUrl=f"{api_url}/"), None)
        assert response_url.answers[0]["Status"] == "SUCCESS", response_url.answers
        yield f"{site_url}/", f"{api_url}/"
    finally:
        for server in (site, function_url):
            server.shutdown()
            server.server_close()
        response_url.close()


def test_a_user_signs_up_on_the_static_page_and_gets_bridge_configurations(browser, static_site):
    site_url, _ = static_site
    browser.get(site_url)
    wait_for(browser, lambda b: b.find_element(By.ID, "form").is_displayed(), "the form after config.json loaded")
    assert browser.find_element(By.ID, "code").is_displayed(), "the deployment asks for a sign-up code"

    for field, value in (("name", "Wes Socket"), ("key", FAKE_API_KEY), ("code", SIGNUP_CODE)):
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.ID, "submit").click()
    wait_for(browser, lambda b: b.find_element(By.ID, "result").is_displayed(), "the connection URL")

    url = browser.find_element(By.ID, "url").text
    assert url.startswith(f"{BRIDGE_URL}?key=mcpt_")
    token = url.partition("?key=")[2]
    clients = browser.find_elements(By.CSS_SELECTOR, "#clients .client")
    texts = [client.find_element(By.TAG_NAME, "pre").text for client in clients]
    assert [client.find_element(By.TAG_NAME, "h3").text.split(" (")[0] for client in clients] == [
        "Claude Code", "Cursor", "Claude Desktop"]
    assert all("elevenlabs-mcp-bridge" in text and token in text for text in texts)
    assert json.loads(texts[1])["mcpServers"]["voice-ws"]["env"] == {"MCP_BRIDGE_TOKEN": token}
    save_screenshot(browser, "static-auth-page")
    assert console_errors(browser) == []  # the CSP <meta> admits the page's own code and the API's origin

    row = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"hash": {"S": token_rows.token_hash(token)}})
    assert row["Item"]["name"] == {"S": "Wes Socket"}


def test_a_wrong_code_shows_the_apis_message(browser, static_site):
    browser.get(static_site[0])
    wait_for(browser, lambda b: b.find_element(By.ID, "form").is_displayed(), "the form")
    for field, value in (("name", "Mallory"), ("key", FAKE_API_KEY), ("code", "guess")):
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.ID, "submit").click()
    wait_for(browser, lambda b: b.find_element(By.ID, "error").text, "the error message")
    assert browser.find_element(By.ID, "error").text == "That sign-up code is not right."
    assert not browser.find_element(By.ID, "result").is_displayed()
    save_screenshot(browser, "static-auth-page-wrong-code")

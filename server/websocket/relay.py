"""Relay: $default messages to a task's /mcp and back; a DynamoDB row per connection keeps its task, user,
ticket (the authorizer's: no key here)."""
import base64
import functools
import json
import os
import socket
import time
import urllib.request

import boto3

MAX_REPLY = 128 * 1024  # API Gateway's message limit
ROW_TTL = 7800  # a connection lasts at most 2 h
NO_TASK, TIMEOUT, TOO_BIG, PARSE = -32002, -32001, -32003, -32700
VERSION = "io.modelcontextprotocol/protocolVersion"
NAMED_BY = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
env = os.environ.get
ROWS = {}  # one DynamoDB read per connection; on demand, ROWS[0] is when activity was last noted


@functools.cache
def table():
    return boto3.resource("dynamodb").Table(env("CONNECTIONS_TABLE"))


def handler(event, context):
    ctx = event["requestContext"]
    cid = ctx["connectionId"]
    if ctx["routeKey"] == "$connect":
        auth = ctx.get("authorizer") or {}
        table().put_item(Item=present({"id": cid, "principal": auth.get("principal"), "hash": auth.get("tokenHash"),
                                       "ticket": auth.get("ticket"), "expires": int(time.time()) + ROW_TTL}))
    elif ctx["routeKey"] == "$disconnect":
        ROWS.pop(cid, 0)
        table().delete_item(Key={"id": cid})
    else:
        # on demand: activity for server/websocket/on_demand.py, at most once a minute per instance
        if env("ON_DEMAND") and time.time() > ROWS.get(0, 0) + 60:
            ROWS[0] = int(time.time())
            table().put_item(Item={"id": "active", "at": ROWS[0]})
        reply = relay(cid, event.get("body") or "", ctx["identity"]["sourceIp"])
        if reply:
            return {"statusCode": 200, "body": reply}
    return {"statusCode": 200}


def relay(cid, body, source_ip):
    try:
        message = json.loads(body)
        request_id = message.get("id")
    except (ValueError, AttributeError):
        return error(None, PARSE, "Parse error: expected a JSON-RPC object")
    if len(ROWS) > 5000:
        ROWS.clear()
    row = ROWS.get(cid) or table().get_item(Key={"id": cid}).get("Item", {})
    for task in sorted(tasks(), key=lambda ip: ip != row.get("task")):  # its own task first
        session = row.get("session") if task == row.get("task") else None
        try:
            new_session, reply = post(task, body, session, source_ip, row, era(message))
        except TimeoutError:
            return error(request_id, TIMEOUT, f"The server did not answer within {timeout()} s")
        except OSError:
            continue  # gone: fail over
        new = {**row, "id": cid, "task": task, "session": new_session or session or ""}
        if new != row:
            table().put_item(Item=new)
        ROWS[cid] = new
        if len(reply) > MAX_REPLY:
            return error(request_id, TOO_BIG, "The reply is over 128 KB, the WebSocket message limit; ask for less")
        return reply.decode()
    if "id" in message:  # on demand (-32004, "starting"): the connection started one, and the bridge retries
        return error(request_id, -32004 if env("ON_DEMAND") else NO_TASK,
                     "No server task is running. " + env("SCHEDULE_NOTE", ""))


def tasks():
    """IPv4 addresses of running tasks (Cloud Map A records)."""
    found = []
    for host in env("TASK_HOST").split(","):
        try:
            found += [a[4][0] for a in socket.getaddrinfo(host, None, socket.AF_INET)]
        except socket.gaierror:
            pass
    return list(dict.fromkeys(found))


def era(message):
    """A 2026-07-28 request names its version in params._meta; the server wants it, the method and the name in
    headers, which a stdio client has none of. An older one (initialize handshake) sends none."""
    try:
        params, method = message["params"], message["method"]
        headers = {"MCP-Protocol-Version": params["_meta"][VERSION], "Mcp-Method": method,
                   "Mcp-Name": params.get(NAMED_BY.get(method))}
    except (KeyError, TypeError, AttributeError):
        return {}
    return {k: v if v.isascii() and v.isprintable() and v == v.strip() and not v.startswith("=?")
            else "=?base64?%s?=" % base64.b64encode(v.encode()).decode() for k, v in headers.items() if type(v) is str}


def post(task, body, session, source_ip, row, era_headers):
    """(session, reply); TimeoutError if slow, OSError if gone."""
    headers = {**era_headers, "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "Authorization": f"Bearer {row.get('ticket')}", "X-Forwarded-For": source_ip,
               "Host": env("TASK_HOST").split(",")[0], "Mcp-Session-Id": session, "X-MCP-Token-Hash": row.get("hash")}
    url = f"http://{task}:{env('TASK_PORT')}/mcp"
    try:
        with HTTP.open(urllib.request.Request(url, body.encode(), present(headers)), timeout=timeout()) as response:
            return response.headers.get("Mcp-Session-Id"), response.read(MAX_REPLY + 1)
    except urllib.request.HTTPError as failure:  # 4xx/5xx
        return None, failure.read(MAX_REPLY + 1)


def present(fields):
    return {k: v for k, v in fields.items() if v}


def timeout():
    return float(env("UPSTREAM_TIMEOUT", "27"))


def error(request_id, code, message):
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})

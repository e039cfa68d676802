"""$connect REQUEST authorizer: the source IP against ALLOWED_CIDRS, then the token (?token=): the server key
in mode api-key, a row of TOKENS_TABLE in mode tokens. Outside the VPC, it reads the server key from Secrets
Manager (SECRET_ARN) itself, at most every 5 minutes: no key in its environment.

An allowed connection gets a relay ticket in its context, "relay.<expiry>.<HMAC of expiry and token hash>" under
a key derived from the server key. The relay keeps it with the connection and shows it to the tasks, which
check it (server/auth.py): the relay holds no key; a ticket names one user for 2 hours.

On demand (WAKE_FUNCTION set), an allowed connection also asks that function, asynchronously, to start a task
if none runs (server/websocket/on_demand.py): the connection does not wait for it, and a failure to ask is
logged, never a refusal."""
import functools
import hashlib
import hmac
import ipaddress
import json
import os
import time

TICKET_SECONDS = 7300  # a WebSocket connection lasts at most 2 hours


def handler(event, context):
    ip = event["requestContext"]["identity"]["sourceIp"]
    token = (event.get("queryStringParameters") or {}).get("token") or ""
    if not allowed(ip):  # first: an outside address costs no read
        return deny(event, ip, "source IP not allowed")
    try:
        found = authenticate(token)
        if found:
            principal, extra = found
            extra["ticket"] = ticket(extra.get("tokenHash", ""))
    except Exception as error:  # noqa: BLE001 - not the caller's fault: an error (500), not a Deny (403)
        print(json.dumps({"event": "lookup_failed", "sourceIp": ip, "error": type(error).__name__}))
        raise RuntimeError("token lookup failed") from None
    if found is None:
        return deny(event, ip, "bad token")
    if os.environ.get("WAKE_FUNCTION"):
        wake()
    return policy(principal, "Allow", event["methodArn"], {"principal": principal, **extra})


def wake():
    try:
        client("lambda").invoke(FunctionName=os.environ["WAKE_FUNCTION"], InvocationType="Event",
                                Payload=b'{"wake": true}')
    except Exception as error:  # noqa: BLE001 - the connection goes ahead; the bridge reports "starting"
        print(json.dumps({"event": "wake_failed", "error": type(error).__name__}))


def authenticate(token):
    """(principal, extra context) for a valid token, else None."""
    if os.environ.get("AUTH_MODE", "api-key") == "tokens":
        return token_row(token)
    if token and hmac.compare_digest(token.encode(), server_key().encode()):
        return "api-key", {}
    return None


def ticket(token_hash):
    expires = str(int(time.time()) + TICKET_SECONDS)
    key = hmac.new(server_key().encode(), b"mcpdeploy relay ticket v1", hashlib.sha256).digest()
    return f"relay.{expires}." + hmac.new(key, f"{expires}|{token_hash}".encode(), hashlib.sha256).hexdigest()


def server_key():
    return secret(int(time.time() // 300))["MCP_SERVER_API_KEY"]


@functools.lru_cache(1)
def secret(_period):
    return json.loads(client("secretsmanager").get_secret_value(SecretId=os.environ["SECRET_ARN"])["SecretString"])


def token_row(token):
    """The row keyed by the token's SHA-256, if valid; the user's ElevenLabs key is not read."""
    if not token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = client("dynamodb").get_item(
        TableName=os.environ["TOKENS_TABLE"], Key={"hash": {"S": digest}}, ConsistentRead=True,
        ProjectionExpression="#n, expires, revoked", ExpressionAttributeNames={"#n": "name"}).get("Item")
    if not row or row.get("revoked", {}).get("BOOL") or time.time() >= float(row.get("expires", {}).get("N", "inf")):
        return None
    return "token:" + row.get("name", {}).get("S", "?"), {"tokenHash": digest}


@functools.cache
def client(service):
    import boto3

    return boto3.client(service)


def allowed(ip):
    cidrs = [c for c in os.environ.get("ALLOWED_CIDRS", "").split(",") if c]
    if not cidrs:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(c) for c in cidrs)


def deny(event, ip, reason):
    # Never the token. API Gateway answers 403.
    print(json.dumps({"event": "denied", "sourceIp": ip, "reason": reason}))
    return policy("anonymous", "Deny", event["methodArn"], {})


def policy(principal, effect, resource, context):
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {"principalId": principal, "context": context,
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}

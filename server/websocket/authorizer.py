"""$connect REQUEST authorizer: the token (?token=) and the caller's source IP.

Runs outside the VPC. Env: MCP_SERVER_API_KEY, ALLOWED_CIDRS (comma list; empty admits all), AUTH_MODE.
"""
import hmac
import ipaddress
import json
import os


def handler(event, context):
    ip = event["requestContext"]["identity"]["sourceIp"]
    token = (event.get("queryStringParameters") or {}).get("token") or ""
    principal = authenticate(token)
    if principal is None or not allowed(ip):
        # Never the token; API Gateway answers the client 403 Forbidden.
        log("denied", ip, "bad token" if principal is None else "source IP not allowed")
        return policy("anonymous", "Deny", event["methodArn"], {})
    return policy(principal, "Allow", event["methodArn"], {"principal": principal})


def authenticate(token):
    """The principal a token stands for, or None. Per-user tokens (mode `tokens`) will be looked up here."""
    if os.environ.get("AUTH_MODE", "api-key") != "api-key":
        return None
    key = os.environ["MCP_SERVER_API_KEY"]
    if token and hmac.compare_digest(token.encode(), key.encode()):
        return "api-key"
    return None


def allowed(ip):
    cidrs = [c for c in os.environ.get("ALLOWED_CIDRS", "").split(",") if c]
    if not cidrs:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(c) for c in cidrs)


def policy(principal, effect, resource, context):
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {"principalId": principal, "context": context,
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}


def log(event, ip, reason):
    print(json.dumps({"event": event, "sourceIp": ip, "reason": reason}))

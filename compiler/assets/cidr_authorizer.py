"""HTTP API Lambda authorizer: admits a request when its source address is in ALLOWED_CIDRS (comma-separated).

The address is the one API Gateway saw the connection come from (requestContext.http.sourceIp); no header the
client wrote is consulted. The compiler inlines this file into the template (ZipFile): stdlib only, small.
"""
import ipaddress
import os

NETWORKS = tuple(ipaddress.ip_network(cidr.strip()) for cidr in os.environ["ALLOWED_CIDRS"].split(","))


def handler(event, context):
    try:
        source = ipaddress.ip_address(event["requestContext"]["http"]["sourceIp"])
    except (KeyError, TypeError, ValueError):
        return {"isAuthorized": False}
    if source.version == 6 and source.ipv4_mapped is not None:
        source = source.ipv4_mapped
    return {"isAuthorized": any(source in network for network in NETWORKS)}

"""A stand-in for the EC2 instance metadata service (IMDSv2 only), for the boot script run in a namespace.

    python -m tests.nat.imds PORT INSTANCE_ID MAC INTERFACE_ID

PUT /latest/api/token issues a token; GET /latest/meta-data/{instance-id,mac,network/interfaces/macs/MAC/
interface-id} answers only with it, as a launch template with HttpTokens=required makes the real one do.
INTERFACE_ID is the primary network interface's, the one with MAC.
"""

from __future__ import annotations

import http.server
import secrets
import sys


def serve(port: int, metadata: dict[str, str]) -> None:
    token = secrets.token_hex(16)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                self._answer(200, token)
            else:
                self._answer(400, "")

        def do_GET(self):
            value = metadata.get(self.path.removeprefix("/latest/meta-data/"))
            if self.headers.get("X-aws-ec2-metadata-token") != token:
                self._answer(401, "")
            else:
                self._answer(200, value) if value is not None else self._answer(404, "")

        def _answer(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    port, instance, mac, interface = sys.argv[1:5]
    serve(int(port), {"instance-id": instance, "mac": mac, f"network/interfaces/macs/{mac}/interface-id": interface})

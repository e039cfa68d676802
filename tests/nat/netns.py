"""A three-host lab in Linux network namespaces for the NAT boot script: "task" -> "nat" -> "internet".

    task 10.0.16.10/24 --veth-- 10.0.16.1/24 nat 198.51.100.2/24 --veth-- 198.51.100.1/24 internet

The task's default route points at the NAT (as the private route table points at the static interface); the
internet host has no route back to 10.0.0.0/16, so only a masqueraded request gets an answer. The addresses are
documentation and VPC ranges that exist only inside these namespaces. Needs root, iproute2 and iptables.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass

VPC_CIDR = "10.0.0.0/16"
TASK_ADDRESS, NAT_INSIDE = "10.0.16.10", "10.0.16.1"
NAT_OUTSIDE, INTERNET_ADDRESS = "198.51.100.2", "198.51.100.1"


@dataclass
class Lab:
    suffix: str

    def name(self, role: str) -> str:
        return f"{role}-{self.suffix}"

    @property
    def inside(self) -> str:
        return f"ni{self.suffix}"  # the NAT's device toward the tasks (the static interface)

    @property
    def outside(self) -> str:
        return f"no{self.suffix}"  # the NAT's device toward the internet (the primary interface)

    def run(self, role: str, *command: str, check: bool = True, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name(role), *command], capture_output=True, text=True,
                              check=check, timeout=timeout, env={**os.environ, **(env or {})})

    def popen(self, role: str, *command: str) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name(role), *command], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def create() -> Lab:
    lab = Lab(uuid.uuid4().hex[:6])
    for role in ("task", "nat", "internet"):
        _ip("netns", "add", lab.name(role))
        _ip("-n", lab.name(role), "link", "set", "lo", "up")
    _link(lab, "task", "eth0", TASK_ADDRESS, "nat", lab.inside, NAT_INSIDE)
    _link(lab, "nat", lab.outside, NAT_OUTSIDE, "internet", "eth0", INTERNET_ADDRESS)
    _ip("-n", lab.name("task"), "route", "add", "default", "via", NAT_INSIDE)
    return lab


def _link(lab: Lab, left: str, left_device: str, left_address: str, right: str, right_device: str,
          right_address: str) -> None:
    temporary = f"tmp{uuid.uuid4().hex[:8]}"
    _ip("link", "add", temporary, "type", "veth", "peer", "name", f"{temporary}p")
    for device, role, final, address in ((temporary, left, left_device, left_address),
                                         (f"{temporary}p", right, right_device, right_address)):
        _ip("link", "set", device, "netns", lab.name(role))
        _ip("-n", lab.name(role), "link", "set", device, "name", final)
        _ip("-n", lab.name(role), "addr", "add", f"{address}/24", "dev", final)
        _ip("-n", lab.name(role), "link", "set", final, "up")


def destroy(lab: Lab) -> None:
    """Deleting the namespaces deletes their devices, rules and routes with them."""
    for role in ("task", "nat", "internet"):
        subprocess.run(["ip", "netns", "del", lab.name(role)], capture_output=True, timeout=30)

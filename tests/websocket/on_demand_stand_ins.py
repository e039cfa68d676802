"""Stand-ins for what moto cannot run, for the on-demand chain (tests/websocket/test_on_demand.py):

- LambdaStandIn: the Lambda Invoke API on loopback, running the real on-demand handler for each call, as
  `InvocationType=Event` (202 at once, the handler in a thread) or synchronously; the authorizer reaches it
  with its own boto3 client (AWS_ENDPOINT_URL_LAMBDA).
- FargateStandIn: ECS (in moto) holds the service's desired count; this runs a real `python -m server` process
  while it is 1 or more and stops it at 0, after a start delay like Fargate's (scaled down to seconds).
- on_demand_stack: the cluster, task definition, service (desired 0), scalable target and idle rule in moto,
  as the template creates them.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from server.websocket import on_demand
from tests.server.harness import ServerProcess
from tests.websocket.chain import moto_client

CLUSTER = "od-cluster"
SERVICE = "od-service"
RULE = "od-idle"


def on_demand_stack(endpoint: str) -> None:
    ecs = moto_client("ecs", endpoint)
    ecs.create_cluster(clusterName=CLUSTER)
    definition = ecs.register_task_definition(
        family="od", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "server", "image": "server:1.0", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=definition, desiredCount=0,
                       launchType="FARGATE")
    moto_client("application-autoscaling", endpoint).register_scalable_target(
        ServiceNamespace="ecs", ResourceId=f"service/{CLUSTER}/{SERVICE}", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=0, MaxCapacity=1)
    moto_client("events", endpoint).put_rule(Name=RULE, ScheduleExpression="rate(5 minutes)", State="ENABLED")


def desired_count(endpoint: str) -> int:
    services = moto_client("ecs", endpoint).describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    return services[0]["desiredCount"]


def rule_state(endpoint: str) -> str:
    return moto_client("events", endpoint).describe_rule(Name=RULE)["State"]


def environment(moto_endpoint: str, lambda_endpoint: str, idle_seconds: int) -> dict[str, str]:
    """What the template gives the on-demand function, the authorizer (WAKE_FUNCTION) and the relay (ON_DEMAND)."""
    return {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ENDPOINT_URL_LAMBDA": lambda_endpoint,
            "CLUSTER": CLUSTER, "SERVICE": SERVICE, "MIN_COUNT": "1", "IDLE_SECONDS": str(idle_seconds),
            "IDLE_RULE": RULE, "WAKE_FUNCTION": "od-on-demand", "ON_DEMAND": "true"}


INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")  # Lambda's Invoke API; the header's default: RequestResponse


class LambdaStandIn:
    """Refuses what Lambda's Invoke API refuses of what these tests send: an InvocationType outside its three
    values, a payload that is not JSON."""

    def __init__(self, handler=None):
        self.handler = handler or on_demand.handler
        self.invocations: list[tuple[str, str, dict]] = []  # (request path, invocation type, payload)
        self.results: list[dict] = []
        self.threads: list[threading.Thread] = []
        stand_in = self

        class Invoke(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
                try:
                    payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                except ValueError:
                    payload = None
                if invocation_type not in INVOCATION_TYPES or not isinstance(payload, dict):
                    self.send_response(400)
                    self.send_header("X-Amzn-ErrorType", "InvalidParameterValueException")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                stand_in.invocations.append((self.path, invocation_type, payload))
                if invocation_type == "Event":
                    thread = threading.Thread(target=stand_in.run, args=(payload,))
                    stand_in.threads.append(thread)
                    thread.start()
                    self.send_response(202)
                    self.end_headers()
                    return
                body = json.dumps(stand_in.run(payload)).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Invoke)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def run(self, payload: dict) -> dict:
        result = self.handler(payload, None)
        self.results.append(result)
        return result

    def idle_check(self) -> dict:
        """What the `<deployment>-idle` rule does every 5 minutes: invoke the function with the rule's Input."""
        return moto_client("lambda", self.endpoint).invoke(FunctionName="od-on-demand", Payload=b'{"check": true}')

    def wait(self) -> None:
        for thread in self.threads:
            thread.join(30)

    def __enter__(self) -> LambdaStandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wait()
        self.server.shutdown()
        self.server.server_close()


class FargateStandIn:
    def __init__(self, moto_endpoint: str, task: ServerProcess, start_delay: float = 2.0):
        self.moto_endpoint = moto_endpoint
        self.task = task
        self.start_delay = start_delay
        self.starts = 0
        self.stops = 0
        self.highest_desired = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    @property
    def running(self) -> bool:
        return self.task.process is not None and self.task.process.poll() is None

    def _follow(self) -> None:
        while not self._stop.wait(0.1):
            desired = desired_count(self.moto_endpoint)
            self.highest_desired = max(self.highest_desired, desired)
            if desired > 0 and not self.running:
                time.sleep(self.start_delay)  # Fargate: placement, image pull, container start
                self.task.start()
                self.starts += 1
            elif desired == 0 and self.running:
                self.stops += 1
                self.task.terminate()

    def wait_until(self, running: bool, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while self.running != running and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.running == running

    def __enter__(self) -> FargateStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(30)
        self.task.terminate()

"""A chat robot's server for the webhook tests: a real HTTP server on 127.0.0.1 in a thread of the test
process, recording every request it receives (path, JSON body) and answering as the test tells it."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Answers a test can queue: ("ok"), an HTTP status with a JSON body, a redirect, or hanging until the end.
OK = (200, {"errcode": 0, "errmsg": "ok"})
HANG = "hang"


@dataclass
class Received:
    path: str
    body: dict
    content_type: str
    raw: bytes


@dataclass
class Robot:
    """``answers`` are used in turn, one per request; when they run out every request gets ``OK``."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, key: str = "k1", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/cgi-bin/webhook/send?key={key}"

    def answer(self):
        with self.lock:
            return self.answers.pop(0) if self.answers else OK


class _Handler(BaseHTTPRequestHandler):
    robot: Robot

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        with self.robot.lock:
            self.robot.received.append(Received(self.path, json.loads(raw), self.headers.get("Content-Type", ""), raw))
        answer = self.robot.answer()
        if answer == HANG:
            self.robot.released.wait(30)  # longer than the client waits: it times out first
            return
        status, body = answer
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", f"http://127.0.0.1:{self.robot.port}/internal")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass


def start_robot() -> Robot:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    robot = Robot(server=server)
    server.RequestHandlerClass = type("Handler", (_Handler,), {"robot": robot})
    # Polled every 50 ms for shutdown (the default half second was added to every test's teardown).
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True, name="robot").start()
    return robot


def stop_robot(robot: Robot) -> None:
    robot.released.set()
    robot.server.shutdown()
    robot.server.server_close()

"""A real HTTP webhook receiver for the delivery tests: it checks each
request's Standard Webhooks signature (webhook-id, webhook-timestamp,
webhook-signature = v1,base64(HMAC-SHA256(key, "id.timestamp.body"))) and
answers as the test tells it: 200, any status, a 302, silence for a while,
a connection closed mid-answer, a 1 GB answer, or nothing at all (down)."""
import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time


def new_secret():
    """A signing secret as Standard Webhooks prints them."""
    import os
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def signature(secret, msg_id, ts, body):
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Receiver:
    """mode: "ok", ("status", N), ("sleep", seconds), "close", "huge",
    "redirect". requests: every request that arrived, as dicts with headers,
    body, payload (parsed JSON), signed (signature good), ts_ms."""

    def __init__(self, secret=None):
        self.secret = secret
        self.mode = "ok"
        self.requests = []
        self.lock = threading.Lock()
        self.httpd = None
        self.port = None
        self.start()

    def start(self, port=None):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                h = {k.lower(): v for k, v in self.headers.items()}
                signed = None
                if outer.secret:
                    want = signature(outer.secret, h.get("webhook-id", ""),
                                     h.get("webhook-timestamp", ""), body)
                    got = h.get("webhook-signature", "").split()
                    signed = any(hmac.compare_digest(want, g) for g in got)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                with outer.lock:
                    outer.requests.append({"headers": h, "body": body, "payload": payload,
                                           "signed": signed, "ts_ms": time.time() * 1000,
                                           "path": self.path})
                    mode = outer.mode
                if mode == "ok":
                    self.answer(200, b'{"ok":true}')
                elif isinstance(mode, tuple) and mode[0] == "status":
                    self.answer(mode[1], b"receiver says no\n")
                elif isinstance(mode, tuple) and mode[0] == "sleep":
                    time.sleep(mode[1])
                    self.answer(200, b"late")
                elif mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "https://elsewhere.example/hook")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif mode == "close":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                elif mode == "huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(1 << 30))
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        for _ in range((1 << 30) // len(chunk)):
                            self.wfile.write(chunk)
                    except OSError:
                        pass  # the client stopped reading: what we want
                    self.close_connection = True

            def answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", port or self.port or 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def down(self):
        """Stops listening: connections are refused until up()."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def up(self):
        self.start(self.port)

    def stop(self):
        self.down()

    def events(self):
        with self.lock:
            return list(self.requests)

    def wait(self, count, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.events()) >= count:
                return self.events()
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.events())} requests, not {count}")

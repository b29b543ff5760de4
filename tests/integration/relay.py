"""A TCP relay on 127.0.0.1 between mailroom and a real server (the suite's
Dovecot) that can step in, for what a real server does but the suite's
cannot be made to: each line the client sends is shown to a rule, which
lets it through (None), or answers in the server's place and hangs up
(bytes), as Exchange Online does when it throttles. Everything the client
sent is kept (.sent), so a test can check what went over the wire. And
what the server sends may be rewritten on the way (rewrite: bytes ->
bytes, per chunk received; fine for a short line such as CAPABILITY)."""
import socket
import threading


class Relay:
    def __init__(self, backend_port, rule=None, rewrite=None):
        self.backend_port = backend_port
        self.rule = rule or (lambda line: None)
        self.rewrite = rewrite or (lambda data: data)
        self.sent = []  # every line from a client, in order, as bytes
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.open = []
        self.frozen = set()  # connections that forward nothing (a black hole)
        self.freeze_new = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.backend_port), timeout=10)
            server.settimeout(None)
            with self.lock:
                self.connections += 1
                self.open += [client, server]
                if self.freeze_new:
                    self.frozen.add(client)
            threading.Thread(target=self._upstream, args=(client, server), daemon=True).start()
            threading.Thread(target=self._downstream, args=(client, server), daemon=True).start()

    def _upstream(self, client, server):
        """Client to server, a line at a time through the rule."""
        pending = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                pending += data
                if client in self.frozen:
                    pending = b""
                    continue
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    line += b"\n"
                    with self.lock:
                        self.sent.append(line)
                    answer = self.rule(line)
                    if answer is None:
                        server.sendall(line)
                        continue
                    client.sendall(answer)
                    raise ConnectionAbortedError
        except OSError:
            pass
        self._close(client, server)

    def _downstream(self, client, server):
        try:
            while data := server.recv(65536):
                if client not in self.frozen:
                    client.sendall(self.rewrite(data))
        except OSError:
            pass
        self._close(client, server)

    @staticmethod
    def _close(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self):
        """Closes every connection open now, both ways."""
        with self.lock:
            self._close(*self.open)
            self.open = []

    def freeze(self):
        """The connections open now, and new ones, forward nothing either way
        while their sockets stay open: a server or a NAT box that went away
        without a word."""
        with self.lock:
            self.frozen.update(self.open[0::2])
            self.freeze_new = True

    def thaw_new(self):
        """New connections go through again; frozen ones stay frozen."""
        with self.lock:
            self.freeze_new = False

    def lines(self):
        with self.lock:
            return [x.decode("utf-8", "replace").rstrip("\r\n") for x in self.sent]

    def stop(self):
        self.stopping = True
        self.sock.close()
        with self.lock:
            self._close(*self.open)

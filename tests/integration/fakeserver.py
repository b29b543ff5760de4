"""A scripted mail server for hostile-server tests: it accepts connections
on 127.0.0.1 and hands each to a scenario function, recording every line the
client sent."""
import socket
import threading


class Conn:
    def __init__(self, sock, log):
        self.sock = sock
        self.log = log
        self.buf = b""
        sock.settimeout(20)

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        """The client's next line (without CRLF), or None at EOF."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.rstrip(b"\r").decode("utf-8", "replace")
        self.log.append(line)
        return line


class FakeServer:
    def __init__(self, scenario):
        self.scenario = scenario
        self.log = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.open = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(s)
            threading.Thread(target=self._run, args=(s,), daemon=True).start()

    def _run(self, s):
        conn = Conn(s, self.log)
        try:
            self.scenario(conn)
        except OSError:
            pass
        finally:
            conn.sock.close()  # the TLS layer, when a scenario started one
            s.close()

    def stop(self):
        self.sock.close()
        for s in self.open:
            try:
                s.close()
            except OSError:
                pass


def imap_session(c, on_body, exists=1, size=10):
    """A minimal IMAP server up to the body fetch, which on_body answers."""
    c.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n")
    while True:
        line = c.line()
        if line is None:
            return
        tag, _, cmd = line.partition(" ")
        up = cmd.upper()
        if up.startswith("AUTHENTICATE") or up.startswith("LOGIN"):
            c.send(f"{tag} OK logged in\r\n".encode())
        elif up.startswith("CAPABILITY"):
            c.send(f"* CAPABILITY IMAP4rev1 UIDPLUS\r\n{tag} OK\r\n".encode())
        elif up.startswith("EXAMINE") or up.startswith("SELECT"):
            c.send(f"* {exists} EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK done\r\n".encode())
        elif "RFC822.SIZE" in up:
            c.send(f"* 1 FETCH (UID 1 RFC822.SIZE {size})\r\n{tag} OK\r\n".encode())
        elif "BODY.PEEK" in up:
            on_body(c, tag)
        elif up.startswith("LOGOUT"):
            c.send(f"* BYE bye\r\n{tag} OK\r\n".encode())
            return
        else:
            c.send(f"{tag} OK\r\n".encode())


def pop3_session(c, answers, stop_after=None, eol=b"\r\n"):
    """A POP3 server whose answer to each command (by its first word) comes
    from answers: bytes, or a function of the connection returning bytes or
    None (None: drop the connection). Unlisted commands get +OK. eol ends
    the greeting and those +OK lines (b"\\n": a server with bare LF)."""
    c.send(b"+OK fake pop3" + eol)
    while (line := c.line()) is not None:
        cmd = line.split(" ")[0].upper()
        answer = answers.get(cmd, b"+OK" + eol)
        if callable(answer):
            answer = answer(c)
        if answer is None:
            return
        c.send(answer)
        if cmd == "QUIT" or cmd == stop_after:
            return

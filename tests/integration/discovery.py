"""What setting up from an e-mail address talks to in the tests: a private
DNS server (Debian's dnsmasq, in the foreground on a free 127.0.0.1 port,
answering only the records given here: --no-resolv --no-hosts) and an HTTPS
server for autoconfig files (Python's http.server with a certificate of its
own, for the test domains' names). The daemon and the CLI are pointed at
them with --dns and MAILROOM_TEST_AUTOCONFIG_PORT, and trust both
certificates (this one's and Dovecot's) through one CA bundle."""
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from dovecot import free_port


def find_dnsmasq():
    return shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq")
                                       else None)


class DnsServer:
    """records: dnsmasq configuration lines (srv-host=, host-record=,
    mx-host=, ...)."""

    def __init__(self, records):
        self.dir = tempfile.mkdtemp(prefix="mailroom-dns-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "dnsmasq.conf")
        with open(self.conf, "w") as fh:
            fh.write(f"port={self.port}\nlisten-address=127.0.0.1\nbind-interfaces\n"
                     "no-resolv\nno-hosts\nno-negcache\n" + "".join(r + "\n" for r in records))
        self.log = open(os.path.join(self.dir, "dnsmasq.log"), "w+")
        self.proc = None

    def start(self):
        binary = find_dnsmasq()
        if not binary:
            raise RuntimeError("dnsmasq is not installed: run 'make test-deps'")
        self.proc = subprocess.Popen([binary, "--keep-in-foreground", "--conf-file=" + self.conf,
                                      "--pid-file=", "--user=root", "--log-facility=-"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x05probe\x04test\x00\x00\x01\x00\x01")
        while time.time() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                try:
                    s.sendto(query, ("127.0.0.1", self.port))
                    s.recvfrom(512)
                    return self
                except OSError:
                    if self.proc.poll() is not None:
                        break
                    time.sleep(0.05)
        self.log.seek(0)
        raise RuntimeError("dnsmasq did not start:\n" + self.log.read())

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SilentDns:
    """A UDP port that takes DNS queries and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def stop(self):
        self.sock.close()


class BrokenDns:
    """Answers every DNS query with its own question and a header that
    promises five answers, then a few garbage bytes: a malformed answer the
    resolver accepts as the reply (same ID and question)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while self.running:
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                continue
            if len(query) < 12:
                continue
            # ID, QR=1 RD RA, QDCOUNT 1, ANCOUNT 5, no others; the question as asked
            header = query[:2] + b"\x81\x80\x00\x01\x00\x05\x00\x00\x00\x00"
            try:
                self.sock.sendto(header + query[12:] + b"\xc0\x0c\x00\x21\xff", peer)
            except OSError:
                pass

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


class AutoconfigServer:
    """HTTPS on a free 127.0.0.1 port; files maps a Host name to the body
    (bytes) its /mail/config-v1.1.xml answers; others get 404. Its
    certificate is good for names (a list of DNS names)."""

    def __init__(self, names, files):
        self.dir = tempfile.mkdtemp(prefix="mailroom-autoconfig-")
        self.cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        san = ",".join("DNS:" + n for n in names)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                        "-days", "30", "-subj", "/CN=" + names[0], "-addext",
                        "subjectAltName=" + san, "-keyout", key, "-out", self.cert],
                       check=True, capture_output=True)
        self.files = files
        self.hits = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                server.hits.append((host, self.path))
                body = server.files.get(host) if self.path.split("?")[0] == \
                    "/mail/config-v1.1.xml" else None
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the client stopped reading (a body too big)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


def config_xml(servers, display="Test Mail"):
    """Mozilla's format; servers: (type, host, port, socketType, username)."""
    items = "".join(
        f"<incomingServer type=\"{t}\"><hostname>{h}</hostname><port>{p}</port>"
        f"<socketType>{s}</socketType><username>{u}</username>"
        "<authentication>password-cleartext</authentication></incomingServer>"
        for t, h, p, s, u in servers)
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">"
            f"<emailProvider id=\"auto.test\"><domain>auto.test</domain>"
            f"<displayName>{display}</displayName>{items}"
            "<outgoingServer type=\"smtp\"><hostname>smtp.auto.test</hostname><port>587</port>"
            "</outgoingServer></emailProvider></clientConfig>\n").encode()

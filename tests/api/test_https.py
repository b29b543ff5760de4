"""HTTPS served by mailroom itself: `serve --tls-cert --tls-key`. The
certificate verifies against its own CA here (no verification turned off),
TLS 1.2 and 1.3 only with forward-secret AEAD suites, HSTS and a Secure
cookie; bad certificate and key files are refused at start with a message
naming the option. Plain HTTP elsewhere than loopback logs a warning."""
import json
import os
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

from daemon import ADMIN_PASSWORD, BIN, Daemon


def make_ca_and_cert(d):
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, cert = (os.path.join(d, n) for n in ("srv.key", "srv.csr", "srv.crt"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=mailroom test CA", "-keyout", ca_key, "-out", ca)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", key, "-out", csr)
    ext = os.path.join(d, "ext")
    with open(ext, "w") as fh:
        fh.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", ext, "-out", cert)
    os.chmod(key, 0o600)
    return ca, cert, key


class HttpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mailroom-https-")
        cls.ca, cls.cert, cls.key = make_ca_and_cert(cls.tmp)
        cls.d = Daemon(args=("--no-scheduler", "--tls-cert", cls.cert, "--tls-key", cls.key))

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def context(self, **kw):
        ctx = ssl.create_default_context(cafile=self.ca)
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx

    def test_login_over_verified_https_with_hsts_and_a_secure_cookie(self):
        self.assertTrue(self.d.base.startswith("https://127.0.0.1:"))
        req = urllib.request.Request(self.d.base + "/api/v1/session", method="POST",
                                     data=json.dumps({"username": "admin",
                                                      "password": ADMIN_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.context(), timeout=30) as resp:
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.headers["Strict-Transport-Security"], "max-age=31536000")
            cookie = resp.headers["Set-Cookie"]
        self.assertIn("; Secure", cookie)
        self.assertIn("HttpOnly", cookie)

    def test_only_tls_1_2_and_1_3_with_forward_secret_aead(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version):
                ctx = self.context(minimum_version=version, maximum_version=version)
                with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as raw, \
                        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    name, proto, _ = s.cipher()
                    self.assertIn("GCM" if "AES" in name else "CHACHA20", name)
                    if proto == "TLSv1.2":
                        self.assertTrue(name.startswith("ECDHE-"), name)
        old = self.context()
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("ALL:@SECLEVEL=0")
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as raw:
            with self.assertRaises(ssl.SSLError):
                old.wrap_socket(raw, server_hostname="127.0.0.1").do_handshake()
        no_pfs = self.context(maximum_version=ssl.TLSVersion.TLSv1_2)
        no_pfs.set_ciphers("AES128-GCM-SHA256:AES256-GCM-SHA384")  # static RSA key exchange
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as raw:
            with self.assertRaises(ssl.SSLError):
                no_pfs.wrap_socket(raw, server_hostname="127.0.0.1").do_handshake()

    def test_bad_files_are_refused_at_start(self):
        readable = os.path.join(self.tmp, "readable.key")
        with open(self.key) as src, open(readable, "w") as dst:
            dst.write(src.read())
        os.chmod(readable, 0o644)
        not_pem = os.path.join(self.tmp, "not.pem")
        with open(not_pem, "w") as fh:
            fh.write("hello\n")
        data = os.path.join(self.tmp, "data-bad")
        for args, field, words in (
                (["--tls-cert", self.cert], "tls-key", "both --tls-cert and --tls-key"),
                (["--tls-cert", self.cert, "--tls-key", readable], "tls-key", "chmod 600"),
                (["--tls-cert", not_pem, "--tls-key", self.key], "tls-cert", "no PEM"),
                (["--tls-cert", "/nonexistent.pem", "--tls-key", self.key], "tls-cert",
                 "cannot read")):
            with self.subTest(args=args):
                r = subprocess.run([BIN, "--data", data, "serve", "--no-scheduler", "--listen",
                                    "127.0.0.1:1", *args], capture_output=True, text=True,
                                   timeout=30, env=dict(os.environ,
                                                        MAILROOM_ADMIN_PASSWORD=ADMIN_PASSWORD))
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(f"{field}:", r.stderr)
                self.assertIn(words, r.stderr)

    def test_plain_http_beyond_loopback_is_warned_about(self):
        """Every address (0.0.0.0) for a moment: only the log line is read,
        through loopback."""
        wide = Daemon(listen="0.0.0.0")
        local = Daemon()
        try:
            for d in (wide, local):
                for _ in range(100):  # the line comes just before "serving"
                    if "serving" in d.output():
                        break
                    time.sleep(0.05)
            self.assertIn("insecure", wide.output())
            self.assertIn("--tls-cert", wide.output())
            self.assertNotIn("insecure", local.output())
            self.assertNotIn("insecure", self.d.output())
        finally:
            wide.stop()
            local.stop()


if __name__ == "__main__":
    unittest.main()

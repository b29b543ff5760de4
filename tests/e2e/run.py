"""Runs the console's browser tests: starts the suite's Dovecot and a
mailroom daemon, puts mail in a mailbox, writes what the test needs to know
into a fixture file, runs `node --test` (playwright-core driving Debian's
Chromium), and stops everything. Screenshots go to build/e2e/.

The OAuth 2.0 tests (oauth.test.mjs) have a daemon of their own, the
suite's authorization server (oidc-provider, tests/integration/oauth.py)
whose "web" client may send the browser back to that daemon's
/oauth/callback, and a Dovecot that checks its tokens (passdb oauth2)."""
import base64
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from daemon import ADMIN_PASSWORD, Daemon  # noqa: E402
from dovecot import POOL_PASSWORD, Dovecot  # noqa: E402
from helpers import crlf  # noqa: E402
from mailroom_cli import BIN  # noqa: E402
from oauth import MICROSOFT_IMAP, MICROSOFT_POP, OFFLINE, OAuthServer  # noqa: E402
from discovery import DnsServer  # noqa: E402
from proxies import Dante  # noqa: E402
from smtpsink import SmtpSink  # noqa: E402

MESSAGES = [
    b"From: =?UTF-8?B?Sm9zw6kgU2lsdmE=?= <jose@example.com>\r\nTo: help@example.com\r\n"
    b"Subject: =?ISO-8859-1?Q?Solicita=E7=E3o_de_acesso?=\r\nMessage-ID: <e2e-1@example.com>\r\n"
    b"Date: Sat, 21 Nov 2026 09:00:00 +0000\r\n\r\nPlease approve.\r\n",
    b"From: alerts@example.com\r\nSubject: =?UTF-8?B?QWxlcnRhOiBkaXNjbyBjaGVpbyDwn5ml?=\r\n"
    b"Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nDisk is full.\r\n",
    b"From: attacker@example.com\r\nSubject: scripts inside\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b"<html><head><base href=\"http://127.0.0.1:9/\">"
    b"<meta http-equiv=\"refresh\" content=\"0; url=http://127.0.0.1:9/refresh\">"
    b"<link rel=\"stylesheet\" href=\"http://127.0.0.1:9/style.css\">"
    b"<style>@import url(http://127.0.0.1:9/import.css); body{background:url(http://127.0.0.1:9/bg.png)}"
    b"</style></head><body onload=\"window.__pwned = 4\"><p>Hello</p>"
    b"<script>window.__pwned = 1; document.title = 'pwned'</script>"
    b"<img src=\"http://127.0.0.1:9/tracker.png\" onerror=\"window.__pwned = 2\">"
    b"<svg onload=\"window.__pwned = 5\"><image href=\"http://127.0.0.1:9/svg.png\"/></svg>"
    b"<iframe src=\"http://127.0.0.1:9/frame\"></iframe>"
    b"<object data=\"http://127.0.0.1:9/object\"></object>"
    b"<img src=\"cid:logo@example.com\"><video poster=\"http://127.0.0.1:9/poster.png\"></video>"
    b"<form action=\"http://127.0.0.1:9/form\"><button>go</button></form>"
    b"<a href=\"javascript:window.__pwned=3\">click</a></body></html>\r\n--X\r\n"
    b"Content-Type: text/html; name=\"page.html\"\r\n"
    b"Content-Disposition: attachment; filename=\"page.html\"\r\n\r\n"
    b"<script>window.__pwned = 6; document.title = 'pwned'</script>"
    b"<img src=\"http://127.0.0.1:9/attachment.png\">\r\n--X--\r\n",
]


# delivery.test.mjs's mailbox: an ordinary message and an auto-reply
DELIVERY_MESSAGES = [
    b"From: customer@example.com\r\nTo: support@example.com\r\nSubject: Order 1234 is late\r\n"
    b"Message-ID: <e2e-delivery-1@example.com>\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\n"
    b"Where is my order?\r\n",
    b"From: away@example.com\r\nTo: support@example.com\r\nSubject: Out of office\r\n"
    b"Auto-Submitted: auto-replied\r\nMessage-ID: <e2e-delivery-2@example.com>\r\n"
    b"Date: Sat, 21 Nov 2026 12:05:00 +0000\r\n\r\nBack on Monday.\r\n",
]
PT_MESSAGES = [
    "From: Joana Silva <joana@exemplo.com.br>\r\nTo: suporte@exemplo.com.br\r\n"
    "Subject: =?UTF-8?Q?Solicita=C3=A7=C3=A3o_de_acesso?=\r\nMessage-ID: <pt-1@exemplo.com.br>\r\n"
    "Date: Sat, 21 Nov 2026 12:00:00 -0300\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nOlá, preciso de acesso à pasta financeira.\r\n",
    "From: Carlos <carlos@exemplo.com.br>\r\nTo: suporte@exemplo.com.br\r\n"
    "Subject: Chamado aberto\r\nMessage-ID: <pt-2@exemplo.com.br>\r\n"
    "Date: Sat, 21 Nov 2026 12:05:00 -0300\r\n\r\nA impressora parou.\r\n",
]
PT_MESSAGES = [m.encode() for m in PT_MESSAGES]
# the console test's mailbox also has these folders (names as the server
# spells them, in UTF-8), and every mailbox these special-use ones
FOLDERS = ("INBOX.Support", "INBOX.Suporte.Ações")
FOLDER_USES = {"Sent": "\\Sent", "Trash": "\\Trash"}
# the test files node runs, in this order; MR_E2E_TESTS (space-separated)
# runs only some of them
TEST_FILES = ("console.test.mjs", "https.test.mjs", "oauth.test.mjs", "delivery.test.mjs",
              "dashboard.test.mjs", "users.test.mjs", "discover.test.mjs", "pt.test.mjs",
              "live.test.mjs")


def make_certificate(d):
    """A self-signed certificate for 127.0.0.1 and localhost, its key, and
    the base64 SHA-256 of its public key, which Chromium is told to trust
    (--ignore-certificate-errors-spki-list): the HTTPS test trusts exactly
    this certificate, not any."""
    cert, key = os.path.join(d, "console.crt"), os.path.join(d, "console.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    "/CN=mailroom console test", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    return cert, key, base64.b64encode(hashlib.sha256(der).digest()).decode()


def oauth_message(n, subject):
    return (f"From: it@example.com\r\nTo: mailbox@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <e2e-oauth-{n}@example.com>\r\n"
            f"Date: Sat, 21 Nov 2026 11:0{n}:00 +0000\r\n\r\nSigned in, fetched.\r\n").encode()


def start_oauth(stack):
    """The OAuth 2.0 tests' daemon, authorization server and Dovecot, and
    their part of the fixture. The daemon comes first: its address is the
    redirect URI the "web" client registers."""
    daemon = Daemon()
    stack.append(daemon)
    server = OAuthServer(name="e2e", device_poll_interval=1,
                         redirect_uris=(f"{daemon.base}/oauth/callback",)).start()
    stack.append(server)
    dovecot = Dovecot(users=3, name="e2e-oauth", oauth2=server.dovecot_oauth2()).start()
    stack.append(dovecot)
    users = {}
    for n, (flow, subject) in enumerate((("code", "Signed in through the browser"),
                                         ("device", "Signed in with a code")), 1):
        users[flow] = dovecot.take_user()  # the login name at the provider's page too
        dovecot.deliver(users[flow], oauth_message(n, subject))
        users[f"{flow}_subject"] = subject
    return {
        "url": daemon.base, "issuer": server.issuer,
        "authorization_endpoint": server.authorization_endpoint,
        "token_endpoint": server.token_endpoint,
        "device_endpoint": server.device_authorization_endpoint,
        "web": {k: server.clients["web"][k] for k in ("client_id", "client_secret")},
        "public": {"client_id": server.clients["public"]["client_id"]},
        "app": {k: server.clients["app"][k] for k in ("client_id", "client_secret")},
        "scopes": f"{OFFLINE} {MICROSOFT_IMAP} {MICROSOFT_POP}",
        "ports": dovecot.ports, "users": users,
    }


def main():
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    shots = os.environ.get("MR_SHOTS", os.path.join(root, "build", "e2e"))
    os.makedirs(shots, exist_ok=True)
    # Sent and Trash marked with their RFC 6154 uses, for the form's folder picker
    dovecot = Dovecot(users=6, name="e2e", special_use=FOLDER_USES).start()
    sink = SmtpSink()
    dante = Dante("none").start()
    daemon = https = plain = dash = ptd = disc = dns = live = None
    oauth_stack = []  # daemon, authorization server, Dovecot
    rc = 1
    try:
        user = dovecot.take_user()
        for raw in MESSAGES:
            dovecot.deliver(user, raw)
        for folder in FOLDERS:
            dovecot.create_mailbox(user, folder)
        delivery_user = dovecot.take_user()
        for raw in DELIVERY_MESSAGES:
            dovecot.deliver(delivery_user, raw)
        daemon = Daemon()
        daemon.cli("user", "add", "--name", "viewer", "--role", "viewer", "--password-stdin",
                   stdin="viewer-password-1")
        fixture = {
            "url": daemon.base, "admin_password": ADMIN_PASSWORD,
            "viewer": ["viewer", "viewer-password-1"],
            "mail_user": user, "mail_password": POOL_PASSWORD, "ports": dovecot.ports,
            "sha256": [hashlib.sha256(crlf(m)).hexdigest() for m in MESSAGES],
            "shots": shots, "smtp_port": sink.port,
            "dante_port": dante.port, "dante_log": dante.log,
            "report_dir": os.path.join(daemon.data, "reports"),  # the default --report-dir
            "delivery_user": delivery_user, "delivery_dir": os.path.join(daemon.tmp, "delivery"),
            "folders": FOLDERS, "folder_uses": FOLDER_USES,
        }
        os.makedirs(fixture["delivery_dir"])
        # the console over HTTPS, served by mailroom itself with its own
        # certificate; and plain HTTP on a loopback address the console does
        # not count as this machine (the banner's case)
        cert, key, spki = make_certificate(daemon.tmp)
        https = Daemon(args=("--no-scheduler", "--tls-cert", cert, "--tls-key", key))
        plain = Daemon(listen="127.0.0.2")
        fixture.update(https_url=https.base, https_spki=spki, plain_url=plain.base)
        files = os.environ.get("MR_E2E_TESTS", "").split() or list(TEST_FILES)
        if "oauth.test.mjs" in files:
            fixture["oauth"] = start_oauth(oauth_stack)
        if "dashboard.test.mjs" in files:
            # the dashboard's daemon starts empty (the first-start page); its
            # mailbox has two messages
            dash = Daemon()
            dash_user = dovecot.take_user()
            for raw in DELIVERY_MESSAGES:
                dovecot.deliver(dash_user, raw)
            fixture.update(dash_url=dash.base, dash_user=dash_user)
        if "pt.test.mjs" in files:
            # every page in Portuguese: a daemon of its own, a mailbox with
            # two messages in Portuguese
            ptd = Daemon()
            pt_user = dovecot.take_user()
            for raw in PT_MESSAGES:
                dovecot.deliver(pt_user, raw)
            fixture.update(pt_url=ptd.base, pt_user=pt_user,
                           pt_maildir=os.path.join(ptd.tmp, "Maildir"),
                           pt_reports=os.path.join(ptd.data, "reports"))
        if "live.test.mjs" in files:
            # live updates: a daemon of its own (with the CLI beside it on the
            # same data) and an empty mailbox the test APPENDs to
            live = Daemon()
            fixture.update(live_url=live.base, live_user=dovecot.take_user(),
                           live_data=live.data, live_bin=BIN)
        if "discover.test.mjs" in files:
            # setting up from an e-mail address: SRV records of a test domain
            # pointing at the suite's Dovecot, asked through dnsmasq
            p = dovecot.ports
            dns = DnsServer(["local=/test/", "host-record=localhost,127.0.0.1",
                             f"srv-host=_imaps._tcp.srv.test,localhost,{p['imaps']},0,0",
                             f"srv-host=_imap._tcp.srv.test,localhost,{p['imap']},10,0",
                             "srv-host=_pop3._tcp.srv.test"]).start()
            disc = Daemon(args=("--no-scheduler", "--dns", dns.address,
                                "--discover-ca-file", dovecot.cert))
            disc.cli("user", "add", "--name", "viewer", "--role", "viewer", "--password-stdin",
                     stdin="viewer-password-1")
            fixture.update(disc_url=disc.base)
        path = os.path.join(daemon.tmp, "fixture.json")
        with open(path, "w") as fh:
            json.dump(fixture, fh)
        env = dict(os.environ, MR_FIXTURE=path)
        rc = subprocess.run(["node", "--test", "--test-concurrency=1", *files],
                            cwd=HERE, env=env, timeout=900).returncode
        # the scheduled report the browser ran went out by mail, with its filter applied
        mailed = [m for _, rcpts, m in sink.messages if rcpts == ["ops@example.com"]]
        if rc == 0 and "console.test.mjs" in files and (len(mailed) != 1 or
                        "bulk-15" not in next(mailed[0].iter_attachments()).get_content()):
            print("run.py: the scheduled report was not mailed as expected:", sink.messages)
            rc = 1
    finally:
        for d in (daemon, https, plain, dash, ptd, disc, live, *oauth_stack[:1]):
            if d:
                code = d.stop()
                if code != 0:
                    print(d.output()[-4000:])
                    rc = rc or 1
        for part in reversed(oauth_stack[1:]):  # Dovecot, then the server it asks
            part.stop()
        if dns:
            dns.stop()
        dovecot.stop()
        dante.stop()
        sink.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())

"""mailroom's message summaries against a second, independent MIME parser:
Python's `email` package with `policy.default`. A corpus of tricky shapes
(forwarded messages nested two deep, a digest, inline parts with names, a bad
boundary, 8-bit headers, RFC 2231 parameters, bounces) goes through the
suite's Dovecot; for each message the subject, From, To, date and the
attachment list (names, types, sizes) from `inbox show --format json` are
held to what Python makes of the same bytes, and every attachment is
downloaded with `inbox attachment` and held to Python's content. Python is
told the same rules for what is an attachment (docs/architecture.md,
"Messages"); where the parsers differ on purpose, DELIBERATE says why (and
the same table is in docs/architecture.md).

    python3 test_mime_compare.py --dump DIR   writes the corpus as .eml files
"""
import base64
import email
import email.policy
import os
import subprocess
import sys
import unittest
from datetime import timezone

from helpers import BIN, MailTestCase, crlf, stop_servers


def tearDownModule():
    stop_servers()


def b64(data):
    return base64.encodebytes(data)


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))

INNER2 = (b"From: Carol <carol@example.org>\n"
          b"To: bob@example.net\n"
          b"Subject: the original\n"
          b"Date: Tue, 03 Mar 2026 09:15:00 +0100\n"
          b"Message-ID: <inner2@example.org>\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=\"in2\"\n"
          b"\n"
          b"--in2\n"
          b"Content-Type: text/plain; charset=utf-8\n"
          b"\n"
          b"the original text\n"
          b"--in2\n"
          b"Content-Type: application/pdf; name=\"rates.pdf\"\n"
          b"Content-Disposition: attachment; filename=\"rates.pdf\"\n"
          b"Content-Transfer-Encoding: base64\n"
          b"\n" + b64(PDF) +
          b"--in2--\n")

INNER1 = (b"From: Bob <bob@example.net>\n"
          b"To: alice@example.com\n"
          b"Subject: Fwd: the original\n"
          b"Date: Wed, 04 Mar 2026 10:00:00 +0000\n"
          b"Message-ID: <inner1@example.net>\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=\"in1\"\n"
          b"\n"
          b"--in1\n"
          b"Content-Type: text/plain\n"
          b"\n"
          b"see below, Bob\n"
          b"--in1\n"
          b"Content-Type: message/rfc822\n"
          b"\n" + INNER2 +
          b"\n--in1--\n")

DIGEST_PART = (b"From: list-member-{n}@example.com\n"
               b"Subject: digest item {n}\n"
               b"Date: Thu, 05 Mar 2026 0{n}:00:00 +0000\n"
               b"\n"
               b"item {n} text\n")

CORPUS = {
    "forwarded-two-deep": (
        b"From: Alice <alice@example.com>\n"
        b"To: Dave <dave@example.com>, eve@example.com\n"
        b"Subject: Fwd: Fwd: the original\n"
        b"Date: Thu, 05 Mar 2026 11:30:00 +0000\n"
        b"Message-ID: <outer@example.com>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"out\"\n"
        b"\n"
        b"--out\n"
        b"Content-Type: text/plain\n"
        b"\n"
        b"FYI, Alice\n"
        b"--out\n"
        b"Content-Type: message/rfc822\n"
        b"Content-Disposition: attachment\n"
        b"\n" + INNER1 +
        b"\n--out--\n"),
    "digest": (
        b"From: list@example.com\n"
        b"To: member@example.com\n"
        b"Subject: the list digest, vol 1\n"
        b"Date: Thu, 05 Mar 2026 12:00:00 +0000\n"
        b"Message-ID: <digest@example.com>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"top\"\n"
        b"\n"
        b"--top\n"
        b"Content-Type: text/plain\n"
        b"\n"
        b"today's topics: 1, 2\n"
        b"--top\n"
        b"Content-Type: multipart/digest; boundary=\"dig\"\n"
        b"\n"
        b"--dig\n"
        b"\n" + DIGEST_PART.replace(b"{n}", b"1") +
        b"\n--dig\n"
        b"\n" + DIGEST_PART.replace(b"{n}", b"2") +
        b"\n--dig--\n"
        b"\n--top--\n"),
    "inline-named": (
        b"From: designer@example.com\n"
        b"To: client@example.com\n"
        b"Subject: the mockup\n"
        b"Date: Fri, 06 Mar 2026 08:00:00 -0500\n"
        b"Message-ID: <inline@example.com>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"m\"\n"
        b"\n"
        b"--m\n"
        b"Content-Type: multipart/related; boundary=\"r\"\n"
        b"\n"
        b"--r\n"
        b"Content-Type: text/html; charset=us-ascii\n"
        b"\n"
        b"<p>the mockup: <img src=\"cid:logo\"></p>\n"
        b"--r\n"
        b"Content-Type: image/png; name=\"logo.png\"\n"
        b"Content-Disposition: inline; filename=\"logo.png\"\n"
        b"Content-ID: <logo>\n"
        b"Content-Transfer-Encoding: base64\n"
        b"\n" + b64(PNG) +
        b"--r--\n"
        b"--m\n"
        b"Content-Type: text/plain; charset=us-ascii\n"
        b"Content-Disposition: inline; filename=\"notes.txt\"\n"
        b"\n"
        b"notes shown inline\n"
        b"--m\n"
        b"Content-Type: TEXT/Plain\n"
        b"Content-Disposition: attachment; filename=\"todo.txt\"\n"
        b"\n"
        b"1. pay\n"
        b"--m\n"
        b"Content-Type: Application/PDF\n"
        b"Content-Disposition: ATTACHMENT; filename=\"Invoice.PDF\"\n"
        b"Content-Transfer-Encoding: base64\n"
        b"\n" + b64(PDF) +
        b"--m--\n"),
    "bad-boundary": (
        b"From: broken@example.com\n"
        b"To: inbox@example.com\n"
        b"Subject: a boundary that never comes\n"
        b"Date: Sat, 07 Mar 2026 07:07:07 +0000\n"
        b"Message-ID: <badboundary@example.com>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"declared\"\n"
        b"\n"
        b"--other\n"
        b"Content-Type: text/plain\n"
        b"\n"
        b"lost text\n"
        b"--other\n"
        b"Content-Type: application/octet-stream; name=\"lost.bin\"\n"
        b"\n"
        b"xyz\n"
        b"--other--\n"),
    "eight-bit-headers": (
        "From: Jürgen Müller <juergen@example.de>\n"
        "To: Zoë <zoe@example.fr>\n"
        "Subject: Grüße aus Köln\n"
        "Date: Sun, 08 Mar 2026 18:45:00 +0100\n"
        "Message-ID: <eightbit@example.de>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"e\"\n"
        "\n"
        "--e\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Schöne Grüße\n"
        "--e\n"
        "Content-Type: application/octet-stream; name=\"Übersicht.bin\"\n"
        "Content-Disposition: attachment; filename=\"Übersicht.bin\"\n"
        "\n"
        "data\n"
        "--e--\n").encode(),
    "rfc2231": (
        b"From: =?utf-8?q?Fran=C3=A7ois?= <francois@example.fr>\n"
        b"To: inbox@example.com\n"
        b"Subject: =?utf-8?b?4oKsIHJhdGVz?=\n"
        b"Date: Mon, 09 Mar 2026 09:09:09 +0000\n"
        b"Message-ID: <rfc2231@example.fr>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"p\"\n"
        b"\n"
        b"--p\n"
        b"Content-Type: text/plain\n"
        b"\n"
        b"two files\n"
        b"--p\n"
        b"Content-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\n"
        b"Content-Transfer-Encoding: base64\n"
        b"\n" + b64(PDF) +
        b"--p\n"
        b"Content-Type: application/octet-stream\n"
        b"Content-Disposition: attachment;\n"
        b" filename*0*=iso-8859-1''r%E9sum%E9%20of%20a%20;\n"
        b" filename*1=\"very long name.txt\"\n"
        b"\n"
        b"plain bytes\n"
        b"--p--\n"),
    "bounce-null-sender": (
        b"From: <>\n"
        b"To: sender@example.com\n"
        b"Subject: Undelivered Mail Returned to Sender\n"
        b"Date: 01 Jan 2001 00:01 +0000\n"
        b"Message-ID: <bounce@mx.example.com>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n"
        b"\n"
        b"--b\n"
        b"Content-Type: text/plain\n"
        b"\n"
        b"The mail could not be delivered.\n"
        b"--b\n"
        b"Content-Type: message/delivery-status\n"
        b"\n"
        b"Reporting-MTA: dns; mx.example.com\n"
        b"\n"
        b"Final-Recipient: rfc822; nobody@example.com\n"
        b"Action: failed\n"
        b"Status: 5.1.1\n"
        b"--b\n"
        b"Content-Type: message/rfc822\n"
        b"\n"
        b"From: sender@example.com\n"
        b"To: nobody@example.com\n"
        b"Subject: hello nobody\n"
        b"\n"
        b"are you there?\n"
        b"--b--\n"),
    "named-forward": (
        b"From: \"Ops, Team\" <ops@example.com>\n"
        b"To: a@example.com, \"B, Person\" <b@example.com>\n"
        b"Subject: the incident mail\n"
        b"Date: Tue, 10 Mar 2026 23:59 -0800\n"
        b"Message-ID: <named@example.com>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"n\"\n"
        b"\n"
        b"--n\n"
        b"Content-Type: text/plain\n"
        b"\n"
        b"attached as a file\n"
        b"--n\n"
        b"Content-Type: message/rfc822; name=\"incident.eml\"\n"
        b"Content-Disposition: attachment; filename=\"incident.eml\"\n"
        b"\n"
        b"From: monitor@example.com\n"
        b"Subject: disk full\n"
        b"\n"
        b"/var is full\n"
        b"--n--\n"),
    "latin1-headers": (
        b"From: Ren\xe9 <rene@example.fr>\n"
        b"To: first@example.com\n"
        b"To: second@example.com\n"
        b"Cc: c1@example.com\n"
        b"Cc: c2@example.com\n"
        b"Subject: caf\xe9 cr\xe8me\n"
        b"Date: Wed, 11 Mar 2026 12:00:00 +0000\n"
        b"Message-ID: <latin1@example.fr>\n"
        b"\n"
        b"undeclared 8-bit headers, and To and Cc twice\n"),
    "forwarded-base64": (
        b"From: relay@example.com\n"
        b"To: support@example.com\n"
        b"Subject: Fwd: sent encoded\n"
        b"Date: Fri, 13 Mar 2026 09:00:00 +0000\n"
        b"Message-ID: <fwd-b64@example.com>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"e\"\n"
        b"\n"
        b"--e\n"
        b"Content-Type: text/plain\n"
        b"\n"
        b"a client that encodes what it forwards\n"
        b"--e\n"
        b"Content-Type: message/rfc822\n"
        b"Content-Transfer-Encoding: base64\n"
        b"\n" + b64(b"From: origin@example.org\r\nSubject: sent encoded\r\nMIME-Version: 1.0\r\n"
                    b"Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n"
                    b"Content-Type: text/plain\r\n\r\ninside\r\n--i\r\n"
                    b"Content-Type: image/png\r\n"
                    b"Content-Disposition: attachment; filename=chart.png\r\n\r\n"
                    b"PNG\r\n--i--\r\n") + b"\n"
        b"--e--\n"),
    "return-path-only": (
        b"Return-Path: <>\n"
        b"To: postmaster@example.com\n"
        b"Subject: a bounce with no From\n"
        b"Date: Thu, 12 Mar 2026 01:02 +0000\n"
        b"Message-ID: <nofrom@example.com>\n"
        b"\n"
        b"delivery failed\n"),
}

# Where mailroom and Python differ on purpose: (message, field) -> why. The
# test fails on any other difference, and on an entry here that no longer
# differs (docs/architecture.md, "Messages", has the same table).
DELIBERATE = {
    ("bad-boundary", "attachments"): (
        "a multipart whose boundary never comes: Python lists the whole body as one"
        " part of type multipart/mixed; mailroom lists nothing and shows the body as text"),
    ("latin1-headers", "subject"): (
        "undeclared 8-bit: Python replaces bytes that are not UTF-8 with U+FFFD; mailroom"
        " reads them as UTF-8, else Windows-1252 (caf\u00e9, not caf\ufffd)"),
    ("latin1-headers", "from"): ("undeclared 8-bit, as for the subject"),
    ("latin1-headers", "to"): (
        "To (and Cc) repeated: Python's msg['to'] is the first header only; mailroom"
        " (GMime) lists the addresses of every To header, in order"),
    ("forwarded-base64", "attachments"): (
        "a forwarded message sent base64 (RFC 2046 forbids it; some clients do it): Python"
        " reads the base64 text as the message (no headers: forwarded.eml, nothing inside);"
        " mailroom decodes it first, so its subject names it and its attachments are listed"),
    ("return-path-only", "from"): (
        "no From and Return-Path <>: a bounce; mailroom shows the null sender <>, Python"
        " has no From"),
}


def py_summary(raw):
    """What Python's email package makes of raw, under mailroom's rules for
    what is an attachment: every part that is not text; a text part whose
    disposition is attachment, or that has a filename and a disposition and
    is not its message's whole body; a forwarded message (message/rfc822),
    named after its filename or else its Subject + ".eml", then walked into."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {"subject": header(msg, "subject"), "from": header(msg, "from"),
           "to": header(msg, "to"), "date": None, "attachments": []}
    d = msg["date"]
    if d is not None and getattr(d, "datetime", None) is not None:
        out["date"] = d.datetime.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def walk(part, whole_body, parent):
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload(0)
            name = part.get_filename() or ((str(inner["subject"] or "") or "forwarded") + ".eml")
            out["attachments"].append({"filename": name, "content_type": ctype, "inner": inner,
                                       "parent": parent})
            walk(inner, True, len(out["attachments"]))
            return
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            for sub in part.get_payload():
                walk(sub, False, parent)
            return
        if part.get_content_maintype() == "text":
            disposition = part.get_content_disposition()
            if not (disposition == "attachment" or
                    (not whole_body and disposition and part.get_filename())):
                return
        # message/delivery-status is a list of header blocks to Python: no bytes
        payload = None if part.is_multipart() else part.get_payload(decode=True)
        out["attachments"].append({"filename": part.get_filename(), "content_type": ctype,
                                   "content": payload, "parent": parent})

    walk(msg, True, None)
    return out


def header(msg, name):
    v = msg[name]
    return None if v is None else str(v)


class MimeCompareTest(MailTestCase):
    def test_summaries_agree_with_python_email(self):
        names = sorted(CORPUS)
        self.deliver([CORPUS[n] for n in names])
        self.account("cmp", "imap", "tls")
        run, _ = self.fetch("cmp")
        self.assertEqual(run["fetched"], len(names))
        by_id = {}
        for m in self.inbox():
            detail = self.json("inbox", "show", str(m["id"]))
            by_id[detail["message_id"]] = (m["id"], detail)
        differences = {}
        for name in names:
            served = crlf(CORPUS[name])
            want = py_summary(served)
            mid = email.message_from_bytes(served)["message-id"].strip("<> ")
            self.assertIn(mid, by_id, name)
            msg_id, got = by_id[mid]
            for field in ("subject", "from", "to", "date"):
                if got.get(field) != want[field]:
                    differences[(name, field)] = (got.get(field), want[field])
            listed = got.get("attachment_list") or []
            mine = [(a["filename"], a["content_type"], a["parent"]) for a in listed]
            theirs = [(w["filename"], w["content_type"], w["parent"]) for w in want["attachments"]]
            if mine != theirs:
                differences[(name, "attachments")] = (mine, theirs)
                continue
            for pos, (a, w) in enumerate(zip(listed, want["attachments"]), 1):
                self.assertEqual(a["position"], pos)
                content = self.download(msg_id, pos)
                self.assertEqual(len(content), a["size"], f"{name} {pos}: the size downloads")
                if "inner" in w:
                    # the .eml is the forwarded message's bytes as served, and
                    # Python reads the same message from it
                    self.assertIn(content, served, f"{name} {pos}")
                    again = email.message_from_bytes(content, policy=email.policy.default)
                    for h in ("subject", "from", "to", "date", "message-id"):
                        self.assertEqual(header(again, h), header(w["inner"], h), (name, pos, h))
                elif w["content"] is not None and content != w["content"]:
                    differences[(name, f"attachment {pos}")] = (len(content), len(w["content"]))
        unexplained = {k: v for k, v in differences.items() if k not in DELIBERATE}
        self.assertEqual(unexplained, {}, "\n".join(f"{k}: mailroom {v[0]!r}, Python {v[1]!r}"
                                                    for k, v in unexplained.items()))
        stale = [k for k in DELIBERATE if k not in differences]
        self.assertEqual(stale, [], "documented differences that are gone")

    def download(self, msg_id, pos):
        r = subprocess.run([BIN, "--data", self.data, "inbox", "attachment", str(msg_id), str(pos)],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


if __name__ == "__main__" and sys.argv[1:2] == ["--dump"]:
    os.makedirs(sys.argv[2], exist_ok=True)
    for n, raw in CORPUS.items():
        with open(os.path.join(sys.argv[2], n + ".eml"), "wb") as f:
            f.write(crlf(raw))
elif __name__ == "__main__":
    unittest.main()

"""A small deterministic corpus for the cost guard: message i depends only
on i. Plain text, multipart/alternative, base64 attachments (incompressible
bytes), quoted-printable, several charsets and RFC 2047 subjects, in about
the proportions of the shared benchmark's corpus."""
import base64
import random


def _wrap(data, width=76):
    return b"\r\n".join(data[i:i + width] for i in range(0, len(data), width))


def message(i):
    rnd = random.Random(20261122 + i)
    kind = i % 10
    headers = (b"Received: from relay%d.example.net (relay%d.example.net [192.0.2.%d])\r\n"
               b"\tby mx.example.com with ESMTPS id %08x; Sat, 21 Nov 2026 10:%02d:00 +0000\r\n"
               % (i % 7, i % 7, i % 250, rnd.getrandbits(32), i % 60))
    headers += (b"From: Sender %d <sender%d@example.org>\r\nTo: support@example.com\r\n"
                b"Message-ID: <guard-%d@example.org>\r\nDate: Sat, 21 Nov 2026 10:%02d:00 +0000\r\n"
                % (i, i, i, i % 60))
    if kind == 1:
        headers += b"Subject: =?UTF-8?B?" + base64.b64encode(
            ("Solicitação de acesso nº %d" % i).encode()) + b"?=\r\n"
    elif kind == 2:
        headers += b"Subject: =?ISO-8859-1?Q?Pedido_de_f=E9rias_" + str(i).encode() + b"?=\r\n"
    else:
        headers += b"Subject: ticket %d: printer on floor %d is down\r\n" % (i, i % 9)
    text = ("Hello,\r\n\r\nline %d of the request, with some words to read.\r\n" * 40) % tuple(
        range(40))
    if kind in (0, 1, 2, 3):
        return (headers + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                + text.encode())
    if kind == 4:
        body = "Привет, заявка номер %d.\r\n" % i * 30
        return (headers + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=koi8-r\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body.encode("koi8-r"))
    if kind == 5:
        body = "お問い合わせ番号 %d の件です。\r\n" % i * 30
        return (headers + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=shift_jis\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body.encode("shift_jis"))
    boundary = b"b-%d" % i
    parts = [b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: "
             b"quoted-printable\r\n\r\n" + ("Caf=E9 n=BA %d\r\n" % i).encode() * 50]
    if kind in (6, 7):
        parts.append(b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>" +
                     b"<p>request</p>" * 100 + b"</body></html>")
    else:
        size = 20000 if kind == 8 else 120000
        blob = bytes(rnd.getrandbits(8) for _ in range(size))
        parts.append(b"Content-Type: application/pdf; name=\"doc%d.pdf\"\r\n"
                     b"Content-Disposition: attachment; filename=\"doc%d.pdf\"\r\n"
                     b"Content-Transfer-Encoding: base64\r\n\r\n" % (i, i) +
                     _wrap(base64.b64encode(blob)))
    body = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    ctype = b"alternative" if kind in (6, 7) else b"mixed"
    return (headers + b"MIME-Version: 1.0\r\nContent-Type: multipart/" + ctype +
            b"; boundary=\"" + boundary + b"\"\r\n\r\n" + body + b"--" + boundary + b"--\r\n")

"""Local delivery end to end: smtplib through systemd-socket-activate into
Maildirs, byte for byte, within milliseconds of the 250; unknown users
refused at RCPT; temporary failures stay queued and are retried by a
flush; loops bounce to the sender with an RFC 3464 report; the message
leaves the spool once every recipient has it."""
import email
import os
import re
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance({"hold_deliveries": "no", "retry_interval": "1h"})
with open(os.path.join(inst.dir, "aliases"), "w") as f:
    f.write("team: bob, carol\nexternal: bob, someone@remote.test\n")
inst.start()
sa = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                           inst.env())


def maildir(user, sub="new"):
    d = os.path.join(inst.mail, "example.test", user, sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def read(user, name, sub="new"):
    with open(os.path.join(inst.mail, "example.test", user, sub, name),
              "rb") as f:
        return f.read()


def queue_tool(*args):
    return subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                           inst.conf_path] + list(args),
                          capture_output=True, text=True, timeout=30)


BODY = (b"From: alice@example.test\r\nTo: bob@example.test\r\n"
        b"Subject: bytes\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b".a line with a leading dot\r\n..two dots\r\n.\r\n"
        b"caf\xc3\xa9 \xe2\x82\xac\r\n" + b"L" * 3000 + b"\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n--b--\r\n"
        b"no newline at the end")
try:
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=10) as s:
        s.ehlo("client.test")
        t0 = time.time()
        refused = s.sendmail("alice@example.test",
                             ["bob@example.test", "nobody@example.test",
                              "bob+lists@example.test", "team@example.test"],
                             BODY, mail_options=["BODY=8BITMIME"])
        t250 = time.time()
        tap.eq(list(refused), ["nobody@example.test"],
               "the unknown user is refused at RCPT")
        tap.eq(refused.get("nobody@example.test", (0,))[0], 550,
               "with 550")
    # team expands to bob again: a duplicate recipient is delivered once
    ok = pombo.wait_for(lambda: len(maildir("bob")) == 2 and
                        len(maildir("carol")) == 1, 5, 0.001)
    latency = time.time() - t250
    tap.ok(ok, "bob has 2 deliveries (bob, bob+lists), carol 1 (alias)",
           (maildir("bob"), maildir("carol")))
    tap.ok(latency < 1.0, "delivered %.1f ms after the 250" %
           (latency * 1000))
    # SMTP cannot carry a last line without CRLF: smtplib adds one
    want = BODY.replace(b"\r\n", b"\n") + b"\n"
    names = maildir("bob")
    for name in names:
        data = read("bob", name)
        head, rest = data.split(b"\n", 2)[:2], data.split(b"\n", 2)[2]
        tap.eq(head[0], b"Return-Path: <alice@example.test>",
               "Return-Path on top")
        tap.ok(head[1] in (b"Delivered-To: bob@example.test",
                           b"Delivered-To: bob+lists@example.test"),
               "Delivered-To: the recipient", head[1])
        # our Received: line, then the client's bytes exactly
        i = rest.index(b"From: alice")
        tap.ok(rest.startswith(b"Received: from client.test "
                               b"([127.0.0.1])\n"), "Received: added")
        tap.eq(rest[i:], want, "the message byte for byte, LF line ends")
        m = re.search(r",S=(\d+),W=(\d+)$", name)
        tap.ok(m is not None, "name carries S= and W=", name)
        if m:
            tap.eq(int(m.group(1)), len(data), "S= is the file size")
            crlf = data.replace(b"\n", b"\r\n")
            if not crlf.endswith(b"\r\n"):
                crlf += b"\r\n"
            tap.eq(int(m.group(2)), len(crlf), "W= is the CRLF size")
        tap.ok(re.match(r"\d+\.[0-9a-z]{12}_[0-9a-f]{16}\.mx\.test,", name)
               is not None, "the unique part is time.qid_rcpthash.host",
               name)
    tap.ok(pombo.wait_for(lambda: inst.queue_files() == [], 5),
           "the message left the spool once delivered")
    st = os.stat(os.path.join(inst.mail, "example.test", "bob"))
    tap.eq(oct(st.st_mode & 0o777), "0o700", "the Maildir is private")

    # a temporary failure: carol's Maildir path is blocked by a file
    carol = os.path.join(inst.mail, "example.test", "dave")
    os.makedirs(os.path.dirname(carol), exist_ok=True)
    open(carol, "w").close()
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=10) as s:
        s.sendmail("alice@example.test", ["dave@example.test"],
                   b"Subject: temp\r\n\r\nretry me\r\n")
    tap.ok(pombo.wait_for(lambda: "status=deferred" in inst.log(), 5),
           "a write failure defers the recipient", inst.log()[-2000:])
    files = inst.queue_files()
    tap.eq(len(files), 1, "the message stays queued")
    lst = queue_tool("list").stdout
    tap.ok("queued    <dave@example.test> (1 attempt)" in lst and
           "451 4.3.0 Cannot write the mailbox" in lst,
           "pombo-queue list shows the attempt and the error", lst)
    state = os.path.join(inst.spool, "state", files[0]) if files else ""
    tap.ok(pombo.wait_for(lambda: os.path.exists(state), 5),
           "the deferral is in a state file")
    os.unlink(carol)
    r = queue_tool("flush")
    tap.eq(r.returncode, 0, "pombo-queue flush")
    tap.ok(pombo.wait_for(lambda: len(maildir("dave")) == 1, 5),
           "after the flush the message is delivered")
    tap.ok(pombo.wait_for(lambda: inst.queue_files() == [], 5),
           "and leaves the spool")

    # a loop: the message already went through bob's mailbox
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=10) as s:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   b"Delivered-To: bob@example.test\r\nSubject: loop\r\n"
                   b"\r\nround and round\r\n")
    tap.ok(pombo.wait_for(lambda: len(maildir("alice")) == 1, 5),
           "the loop bounced to the sender's mailbox")
    tap.eq(len(maildir("bob")), 2, "bob got nothing new")
    if maildir("alice"):
        dsn = email.message_from_bytes(read("alice", maildir("alice")[0]))
        tap.eq(dsn.get_content_type(), "multipart/report", "a DSN")
        tap.eq(dsn.get_param("report-type"), "delivery-status",
               "report-type=delivery-status")
        parts = [p.get_content_type() for p in dsn.walk()]
        tap.ok("message/delivery-status" in parts and
               "text/rfc822-headers" in parts, "with its parts", parts)
        raw = read("alice", maildir("alice")[0]).decode()
        tap.ok("Return-Path: <>" in raw, "from the null sender")
        for field in ("Final-Recipient: rfc822; bob@example.test",
                      "Action: failed", "Status: 5.4.6",
                      "Diagnostic-Code: smtp; 554 5.4.6 Mail loop"):
            tap.ok(field in raw, "DSN has " + field, raw[-1500:])
        tap.ok("Subject: loop" in raw, "and the original headers")
    tap.ok(pombo.wait_for(lambda: inst.queue_files() == [], 5),
           "nothing left queued")
finally:
    sa.stop()
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

"""Deliver and read back, end to end: smtplib sends through smtpd, queued
and the local agent into bob's Maildir, and poplib reads it through
pop3d (both spawned by systemd-socket-activate on 127.0.0.1). LIST sizes
are the agent's W=, RETR gives the stored bytes with CRLF, UIDLs are the
unique parts; mail delivered during a POP3 session shows in the next
one; DELE+QUIT empties the Maildir and RETR moves to cur/."""
import os
import poplib
import re
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402


def pop3_form(data):
    out = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if out and not out.endswith(b"\n"):
        out += b"\r\n"
    return out


tap = pombo.Tap()
inst = pombo.Instance({"hold_deliveries": "no", "login_delay": "0"})
# the users file is this test's own: bob, password "secret"
with open(inst.settings["users_file"], "w") as f:
    f.write("bob@example.test:%s\n" % subprocess.run(
        ["openssl", "passwd", "-6", "-salt", "pop3test", "secret"],
        check=True, capture_output=True, text=True,
        timeout=30).stdout.strip())
inst.start()
smtp = pombo.SocketActivated(
    [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path], inst.env())
pop = pombo.SocketActivated(
    [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path], inst.env())
new = os.path.join(inst.mail, "example.test", "bob", "new")
cur = os.path.join(inst.mail, "example.test", "bob", "cur")


def files(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def send(body):
    n = len(files(new))
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as s:
        s.sendmail("alice@example.test", ["bob@example.test"], body,
                   mail_options=["BODY=8BITMIME"])
    return pombo.wait_for(lambda: len(files(new)) == n + 1, 10)


BODIES = [
    b"Subject: one\r\n\r\n.leading dot\r\n..two\r\n.\r\ncaf\xc3\xa9\r\n",
    # a line of 998 octets, RFC 5322's most (poplib takes 2048)
    b"Subject: two\r\n\r\n" + b"x" * 998 + b"\r\nlast\r\n",
]
try:
    for i, body in enumerate(BODIES):
        tap.ok(send(body), "message %d delivered into new/" % (i + 1),
               inst.log()[-2000:])
    names = files(new)
    c = poplib.POP3("127.0.0.1", pop.port, timeout=20)
    c.user("bob@example.test")
    c.pass_("secret")
    stored = [open(os.path.join(new, n), "rb").read() for n in names]
    _, lst, _ = c.list()
    tap.eq(lst, [b"%d %s" % (i + 1, re.search(r",W=(\d+)", n).group(1)
                             .encode()) for i, n in enumerate(names)],
           "LIST sizes are the agent's W=")
    tap.eq([int(x.split()[1]) for x in lst],
           [len(pop3_form(d)) for d in stored],
           "and W= is the stored message with CRLF")
    _, uidl, _ = c.uidl()
    tap.eq(uidl, [b"%d %s" % (i + 1, n.split(",")[0].encode())
                  for i, n in enumerate(names)], "UIDLs: the unique parts")
    for i, data in enumerate(stored):
        _, lines, _ = c.retr(i + 1)
        got = b"".join(l + b"\r\n" for l in lines)
        tap.eq(got, pop3_form(data), "RETR %d: the stored bytes" % (i + 1))
        tap.ok(got.endswith(BODIES[i]), "which end with what was sent")
    # delivered while the session holds the mailbox: not in this one
    tap.ok(send(b"Subject: three\r\n\r\nduring the session\r\n"),
           "message 3 delivered during the session")
    tap.eq(c.stat()[0], 2, "the session still sees 2 messages")
    c.dele(1)
    c.quit()
    tap.eq(len(files(new)), 1, "new/ holds only message 3")
    tap.eq(files(cur), [names[1] + ":2,S"], "message 2 was read: cur/, S")

    c = poplib.POP3("127.0.0.1", pop.port, timeout=20)
    c.user("bob")
    c.pass_("secret")
    _, uidl, _ = c.uidl()
    tap.eq(uidl[0], b"1 " + names[1].split(",")[0].encode(),
           "the next session: the same UIDL for message 2 in cur/")
    tap.eq(len(uidl), 2, "and message 3 is there")
    c.dele(1)
    c.dele(2)
    c.quit()
    tap.eq((files(new), files(cur)), ([], []), "DELE+QUIT emptied it")
finally:
    smtp.stop()
    pop.stop()
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

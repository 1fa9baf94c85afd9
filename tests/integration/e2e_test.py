"""The whole local path with real clients on both ends: smtplib, swaks and
msmtp send through smtpd (systemd-socket-activate on 127.0.0.1) into
queued and pombo-local; poplib, mpop and fetchmail read back through
pop3d. Messages with leading dots, 8-bit text, a 10 MB attachment, and
one to many recipients, some unknown; every byte compared."""
import base64
import os
import poplib
import re
import shutil
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
USERS = ["bob", "carol", "dave"] + ["m%d" % i for i in range(40)]
inst = pombo.Instance({"hold_deliveries": "no", "login_delay": "0"},
                      users=["%s@example.test" % u for u in USERS]).start()
smtp = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                              inst.conf_path], inst.env())
pop = pombo.SocketActivated([pombo.prog("pop3d/pop3d"), "-c",
                             inst.conf_path], inst.env())


def crlf(text):
    return re.sub(rb"(?<!\r)\n", b"\r\n", text)


def maildir_count(user):
    n = 0
    for sub in ("new", "cur"):
        d = os.path.join(inst.mail, "example.test", user, sub)
        n += len(os.listdir(d)) if os.path.isdir(d) else 0
    return n


def pop_all(user, delete=False):
    """(raw message as retrieved, with CRLF) for each message, oldest first."""
    p = poplib.POP3("127.0.0.1", pop.port, timeout=60)
    p.user(user + "@example.test")
    p.pass_("secret")
    out = []
    count, size = p.stat()
    total = 0
    for i in range(1, count + 1):
        resp, lines, octets = p.retr(i)
        raw = b"".join(l + b"\r\n" for l in lines)
        out.append(raw)
        total += len(raw)
        listed = int(p.list(i).split()[2])
        if listed != len(raw):
            out.append(("LIST", i, listed, len(raw)))
        if delete:
            p.dele(i)
    p.quit()
    return out, size, total


def body_of(raw):
    """The client's part of a retrieved message: after our own Received:."""
    i = raw.index(b"\r\nReceived: from ")
    j = raw.index(b"\r\n", raw.index(b";\r\n\t", i) + 4) + 2
    return raw[j:]


dots = (b"From: a@client.test\r\nSubject: dots and 8 bits\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b".one leading dot\r\n..two leading dots\r\n.\r\n"
        b"caf\xc3\xa9 na\xc3\xafve \xe2\x82\xac\r\nlast line\r\n")
attachment = os.urandom(7 * 1024 * 1024 + 500 * 1024)
b64 = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
big = (b"From: a@client.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
       b"Content-Type: text/plain\r\n\r\nsee attached\r\n--zz\r\n"
       b"Content-Type: application/octet-stream\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 + b"--zz--\r\n")
work = os.path.join(inst.dir, "work")
os.makedirs(work)
try:
    tap.ok(len(big) > 10 * 1000 * 1000, "the big message is over 10 MB "
           "(%d octets)" % len(big))
    # smtplib: the 8-bit message, and the 10 MB one
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=60) as s:
        s.ehlo("client.test")
        s.sendmail("a@client.test", ["bob@example.test"], dots,
                   mail_options=["BODY=8BITMIME"])
        s.sendmail("a@client.test", ["bob@example.test"], big)
    # swaks: the same 8-bit message from a file
    f = os.path.join(work, "dots.eml")
    with open(f, "wb") as fh:
        fh.write(dots[:-2])	# swaks ends the data with its own CRLF
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % smtp.port,
                        "--from", "a@client.test", "--to", "carol@example.test",
                        "--data", "@" + f, "--timeout", "30"],
                       capture_output=True, timeout=120)
    tap.eq(r.returncode, 0, "swaks sent it")
    # msmtp: reads the message on stdin like sendmail
    r = subprocess.run(["msmtp", "--host=127.0.0.1", "--port=%d" % smtp.port,
                        "--from=a@client.test", "--auth=off", "--tls=off",
                        "dave@example.test"], input=dots.replace(b"\r\n",
                                                                 b"\n"),
                       capture_output=True, timeout=120,
                       env=dict(os.environ, HOME=work))
    tap.ok(r.returncode == 0, "msmtp sent it", r.stderr)
    # many recipients, some unknown: smtplib reports which were refused
    rcpts = ["m%d@example.test" % i for i in range(40)] + \
        ["ghost%d@example.test" % i for i in range(5)]
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=60) as s:
        s.ehlo("client.test")
        refused = s.sendmail("a@client.test", rcpts,
                             b"Subject: to many\r\n\r\nhello all\r\n")
    tap.eq(sorted(refused), sorted("ghost%d@example.test" % i
                                   for i in range(5)),
           "the 5 unknown recipients were refused, the 40 accepted")
    tap.ok(pombo.wait_for(lambda: maildir_count("bob") == 2 and
                          maildir_count("carol") == 1 and
                          maildir_count("dave") == 1 and
                          all(maildir_count("m%d" % i) == 1
                              for i in range(40)), 30),
           "every accepted recipient has its copy")

    msgs, size, total = pop_all("bob")
    tap.eq(len(msgs), 2, "poplib sees bob's two messages")
    tap.eq(size, total, "STAT's size is the octets RETR sent")
    if len(msgs) == 2:
        tap.eq(body_of(msgs[0]), dots, "smtplib -> poplib: the 8-bit "
               "message with its dots, byte for byte")
        tap.ok(body_of(msgs[1]) == big, "the 10 MB attachment, byte for "
               "byte")
        tap.ok(msgs[0].startswith(b"Return-Path: <a@client.test>\r\n"
                                  b"Delivered-To: bob@example.test\r\n"),
               "with Return-Path and Delivered-To on top")
    msgs, _, _ = pop_all("carol")
    tap.ok(len(msgs) == 1 and body_of(msgs[0]).endswith(
        dots[dots.index(b"\r\n\r\n"):]), "swaks -> poplib: the same body",
        msgs[0][-300:] if msgs else "")
    msgs, _, _ = pop_all("dave")
    tap.ok(len(msgs) == 1 and body_of(msgs[0]).endswith(
        dots[dots.index(b"\r\n\r\n"):]), "msmtp -> poplib: the same body")
    msgs, _, _ = pop_all("m17")
    tap.ok(len(msgs) == 1 and body_of(msgs[0]) ==
           b"Subject: to many\r\n\r\nhello all\r\n",
           "a recipient of the big list got it")

    # mpop and fetchmail read bob's mail too
    if shutil.which("mpop"):
        out_md = os.path.join(work, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(out_md, sub))
        rc = os.path.join(work, "mpoprc")
        with open(rc, "w") as fh:
            fh.write("account default\nhost 127.0.0.1\nport %d\n"
                     "user bob@example.test\npassword secret\nauth user\n"
                     "tls off\n" % pop.port)
        os.chmod(rc, 0o600)
        r = subprocess.run(["mpop", "-C", rc, "--keep=on",
                            "--deliver=maildir," + out_md,
                            "--uidls-file=" + os.path.join(work, "uidls"),
                            "--received-header=off", "--timeout=60"],
                           capture_output=True, timeout=300,
                           env=dict(os.environ, HOME=work))
        tap.ok(r.returncode == 0, "mpop fetched", r.stderr)
        got = sorted(open(os.path.join(out_md, "new", n), "rb").read()
                     for n in os.listdir(os.path.join(out_md, "new")))
        tap.ok(any(g.endswith(big.replace(b"\r\n", b"\n")) for g in got) and
               any(g.endswith(dots.replace(b"\r\n", b"\n")) for g in got),
               "mpop got both intact")
    else:
        tap.skip("mpop", "not installed")
    if shutil.which("fetchmail"):
        rc = os.path.join(work, "fetchmailrc")
        bsmtp = os.path.join(work, "out.bsmtp")
        with open(rc, "w") as fh:
            fh.write("set no syslog\npoll 127.0.0.1 with proto POP3 port %d "
                     "timeout 60\n  user \"bob@example.test\" there with "
                     "password \"secret\" is \"bob\" here\n  options fetchall "
                     "keep sslproto ''\n" % pop.port)
        os.chmod(rc, 0o600)
        r = subprocess.run(["fetchmail", "-f", rc, "--bsmtp", bsmtp,
                            "--invisible", "--nosyslog"], capture_output=True,
                           timeout=300, env=dict(os.environ, HOME=work,
                                                 FETCHMAILHOME=work))
        tap.ok(r.returncode == 0, "fetchmail fetched", r.stderr[-500:])
        text = open(bsmtp, "rb").read()
        got = [re.sub(rb"(?m)^\.\.", b".", part.split(b"\r\n.\r\n")[0] +
                      b"\r\n") for part in text.split(b"\r\nDATA\r\n")[1:]]
        tap.ok(any(g.endswith(big) for g in got) and
               any(g.endswith(dots) for g in got),
               "fetchmail got both intact")
    else:
        tap.skip("fetchmail", "not installed")
    msgs, _, _ = pop_all("bob", delete=True)
    tap.eq(maildir_count("bob"), 0, "DELE and QUIT emptied bob's Maildir")
finally:
    smtp.stop()
    pop.stop()
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

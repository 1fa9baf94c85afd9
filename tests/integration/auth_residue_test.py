"""No password stays in smtpd's or pop3d's memory after AUTH (or PASS):
the decoded
credentials, the line they came on, the initial response on the AUTH
command line and the input buffer are cleared on every path (success,
wrong password, undecodable response, cancel), as pop3d clears its PASS.
smtpd runs on a pipe and is kept open after the exchanges while its
writable memory is read through /proc/PID/mem (as root). Also after
STARTTLS, in-process (smtpd-full, the same process): OpenSSL's record
buffer must not keep the AUTH line it decrypted."""
import base64
import os
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
certdir = tempfile.mkdtemp()
ca, cert, key = pombo.make_certs(certdir)
inst = pombo.Instance({"login_delay": "0", "max_login_failures": "20",
                       "tls_cert": cert, "tls_key": key})


def b64(s):
    return base64.b64encode(s.encode()).decode()


def unb64(s):
    try:
        return base64.b64decode(s, validate=True)
    except ValueError:
        return b""


def secrets_in(lines, secret):
    """What must not be found: the password, every response line (or
    initial response) that carried it as sent, and of a response sent
    in two parts the first one's octets past those the second read
    brought (it and its CRLF overwrote the rest)."""
    whole = ["".join(l) if isinstance(l, list) else l for l in lines]
    return [secret.encode()] + [
        l.split(" ")[-1].encode() for l in whole
        if secret.encode() in unb64(l.split(" ")[-1])] + [
        l[0][len(l[1]) + 2:].encode() for l in lines
        if isinstance(l, list)]


def none_left(pid, secrets, what):
    """The check itself: none of secrets in the process's memory."""
    mem = pombo.writable_memory(pid)
    left = [x for x in secrets if x in mem]
    tap.ok(len(mem) > 65536 and not left,
           what + ": none of %d secret strings is left in memory "
           "(%d KB read)" % (len(secrets), len(mem) // 1024), left)


def session(lines, replies, handler="smtpd/smtpd"):
    """A handler on a pipe: each line, then its replies read; the process
    is left waiting for more. Returns it and what it said."""
    p = subprocess.Popen([pombo.prog(handler), "-c", inst.conf_path],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    said = p.stdout.readline()
    for line, n in zip(lines, replies):
        # a line given as parts comes in as many reads
        parts = line if isinstance(line, list) else [line]
        for i, part in enumerate(parts):
            if i > 0:
                time.sleep(0.3)
            p.stdin.write(part.encode() +
                          (b"\r\n" if i == len(parts) - 1 else b""))
            p.stdin.flush()
        for _ in range(n):
            r = p.stdout.readline()
            said += r
            while r[3:4] == b"-":
                r = p.stdout.readline()
                said += r
    return p, said


if os.geteuid() != 0:
    tap.skip("reading another process's memory needs root")
    tap.done()
try:
    inst.start()
    U = b64("bob@example.test")
    cases = [
        ("PLAIN, initial response, wrong password",
         lambda pw: ["AUTH PLAIN " + b64("\0bob@example.test\0" + pw)],
         [1], "535"),
        ("PLAIN after 334, wrong password",
         lambda pw: ["AUTH PLAIN", b64("\0bob@example.test\0" + pw)],
         [1, 1], "535"),
        ("LOGIN, wrong password",
         lambda pw: ["AUTH LOGIN", U, b64(pw)], [1, 1, 1], "535"),
        ("LOGIN, user in the initial response, a NUL in the password",
         lambda pw: ["AUTH LOGIN " + U, b64(pw + "\0x")], [1, 1], "501"),
        ("PLAIN that does not decode as PLAIN",
         lambda pw: ["AUTH PLAIN " + b64(pw)], [1], "501"),
        # refused before auth.c saw it: the line and the input held it
        ("PLAIN with an initial response inside a transaction",
         lambda pw: ["MAIL FROM:<alice@example.test>",
                     "AUTH PLAIN " + b64("\0bob@example.test\0" + pw)],
         [1, 1], "503"),
        ("PLAIN with an initial response once authenticated",
         lambda pw: ["AUTH PLAIN " + b64("\0bob@example.test\0secret"),
                     "AUTH PLAIN " + b64("\0bob@example.test\0" + pw)],
         [1, 1], "503"),
        # the line in two reads, the second shorter: the first one's
        # tail stays in the input buffer past what the second read
        ("PLAIN response in two reads",
         lambda pw: ["AUTH PLAIN",
                     [b64("\0bob@example.test\0" + pw)[:-4],
                      b64("\0bob@example.test\0" + pw)[-4:]]],
         [1, 1], "535"),
    ]
    for i, (what, make, replies, code) in enumerate(cases):
        secret = "Zq%dresidue-Pa55word-%d" % (i, os.getpid())
        lines = ["EHLO c.test"] + make(secret)
        secrets = secrets_in(lines, secret)
        p, said = session(lines, [1] + replies)
        try:
            tap.ok(("\n" + said.decode()).rfind("\n" + code) >= 0,
                   what + ": answered " + code, said)
            tap.ok(len(secrets) == 2 + sum(isinstance(l, list)
                                           for l in lines),
                   what + ": the password was sent, in one response",
                   secrets)
            none_left(p.pid, secrets, what)
        finally:
            p.stdin.close()
            p.wait(10)

    # pop3d: PASS and AUTH PLAIN, refused at each step
    pop_cases = [
        ("pop3d: USER, PASS wrong", lambda pw: ["USER bob@example.test",
                                                "PASS " + pw], [1, 1]),
        ("pop3d: PASS without USER", lambda pw: ["PASS " + pw], [1]),
        ("pop3d: AUTH PLAIN that does not decode as PLAIN",
         lambda pw: ["AUTH PLAIN " + b64(pw)], [1]),
        ("pop3d: AUTH PLAIN after '+', not PLAIN",
         lambda pw: ["AUTH PLAIN", b64(pw)], [1, 1]),
        ("pop3d: AUTH PLAIN response in two reads, wrong password",
         lambda pw: ["AUTH PLAIN",
                     [b64("\0bob@example.test\0" + pw)[:-4],
                      b64("\0bob@example.test\0" + pw)[-4:]]], [1, 1]),
    ]
    for i, (what, make, replies) in enumerate(pop_cases):
        secret = "Zq%dpopresidue-Pa55word-%d" % (i, os.getpid())
        lines = make(secret)
        secrets = secrets_in(lines, secret)
        p, said = session(lines, replies, "pop3d/pop3d")
        try:
            tap.ok(said.rstrip().splitlines()[-1].startswith(b"-ERR"),
                   what + ": refused", said)
            none_left(p.pid, secrets, what)
        finally:
            p.stdin.close()
            p.wait(10)

    # pop3d: a line too long (over POP3_AUTH_LINE_MAX) that came in two
    # reads: the first, an AUTH PLAIN with its response, was copied into
    # the session's line before the second made it too long
    for verb, what in (("AUTH PLAIN ", "AUTH PLAIN"), ("PASS ", "PASS")):
        secret = "ZqLongpopresidue-Pa55word-%d" % os.getpid()
        token = (b64("\0bob@example.test\0" + secret) if verb != "PASS"
                 else secret)
        p, said = session(["USER bob@example.test",
                           [verb + token, " " + "x" * 1100]], [1, 1],
                          "pop3d/pop3d")
        try:
            tap.ok(b"-ERR Command line too long" in said,
                   "pop3d: %s line too long, in two reads: refused" % what,
                   said)
            none_left(p.pid, [token.encode()], "pop3d: %s line too long, "
                      "in two reads: its first part" % what)
        finally:
            p.stdin.close()
            p.wait(10)

    # the same over STARTTLS, TLS in this process (no tlsd on a pipe)
    secret = "ZqTLSresidue-Pa55word-%d" % os.getpid()
    token = b64("\0bob@example.test\0" + secret).encode()
    p = subprocess.Popen([pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        p.stdout.readline()
        p.stdin.write(b"EHLO c.test\r\nSTARTTLS\r\n")
        p.stdin.flush()
        while not p.stdout.readline().startswith(b"220"):
            pass
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(inb, outb, server_hostname="mx.test")

        def pump():
            data = outb.read()
            if data:
                p.stdin.write(data)
                p.stdin.flush()

        def pull():
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                raise EOFError("smtpd closed")
            inb.write(data)

        def tls_line():
            buf = b""
            while not buf.endswith(b"\n"):
                try:
                    buf += tls.read(1)
                except ssl.SSLWantReadError:
                    pull()
            return buf

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
                pull()
        pump()
        tls.write(b"EHLO c.test\r\n")
        pump()
        while tls_line()[3:4] == b"-":
            pass
        tls.write(b"AUTH PLAIN " + token + b"\r\n")
        pump()
        r = tls_line()
        tap.ok(r.startswith(b"535"), "PLAIN over STARTTLS: answered 535", r)
        mem = pombo.writable_memory(p.pid)
        left = [x for x in (secret.encode(), token) if x in mem]
        tap.ok(len(mem) > 65536 and not left,
               "PLAIN over STARTTLS: no secret string is left in memory, "
               "OpenSSL's buffers too (%d KB read)" % (len(mem) // 1024),
               left)
    finally:
        p.stdin.close()
        p.wait(10)
finally:
    inst.stop()
tap.done()

"""Real POP3 clients over TCP: Python's poplib, a raw socket, mpop and
fetchmail talk to pop3d spawned per connection by systemd-socket-activate
--inetd --accept on 127.0.0.1. Messages with dots, 8-bit octets, no final
newline and a big one come out byte for byte; DELE+QUIT removes, RETR
moves to cur/; a second session on a locked mailbox gets [IN-USE]; a
failed login waits login_delay. Every wait and every client is bounded."""
import concurrent.futures
import os
import poplib
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

HASH = None


def password_hash(password):
    return subprocess.run(
        ["openssl", "passwd", "-6", "-salt", "pop3test", password],
        check=True, capture_output=True, text=True, timeout=30).stdout.strip()


def pop3_form(data):
    """The message as RFC 1939 counts it: CRLF lines, a final CRLF."""
    out = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if out and not out.endswith(b"\n"):
        out += b"\n" if out.endswith(b"\r") else b"\r\n"
    return out


def stuffed(data):
    """What RETR sends: pop3_form with leading dots doubled, then '.'."""
    form = pop3_form(data)
    lines = form.split(b"\r\n")[:-1] if form else []
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                    for l in lines) + b".\r\n"


def name_for(unique, data, sizes=True):
    if not sizes:
        return unique
    return "%s,S=%d,W=%d" % (unique, len(data), len(pop3_form(data)))


BIG = b"".join(b"%s line %d of the big one \xe2\x82\xac\n" %
               (b"." if i % 7 == 0 else b"", i) for i in range(20000))
MESSAGES = [
    ("1700000001.dots.mx.test", True,
     b"From: a@client.test\nSubject: dots\n\n.\n..\n.x\n. \nend\n"),
    ("1700000002.eight.mx.test", True,
     b"From: a@client.test\nSubject: 8bit\n\ncaf\xc3\xa9 \xe9\xff\x80\x00x\n"),
    ("1700000003.nonl.mx.test", True,
     b"From: a@client.test\nSubject: no newline\n\nlast line"),
    ("1700000004.big.mx.test", True,
     b"From: a@client.test\nSubject: big\n\n" + BIG),
    ("1700000005.foreign.host", False,
     b"From: a@client.test\r\nSubject: foreign\r\n\r\ncrlf body\r\n"),
]


def deliver(inst, addr, messages):
    local, domain = addr.split("@")
    md = os.path.join(inst.mail, domain, local)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    names = []
    for unique, sizes, data in messages:
        name = name_for(unique, data, sizes)
        with open(os.path.join(md, "new", name), "wb") as f:
            f.write(data)
        names.append(name)
    return md, names


def listing(md):
    return {sub: sorted(os.listdir(os.path.join(md, sub)))
            for sub in ("new", "cur")}


def raw_session(port, commands, timeout=10):
    """Send commands, return everything the server said (bounded)."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    s.settimeout(timeout)
    s.sendall(b"".join(c + b"\r\n" for c in commands))
    out = b""
    end = time.time() + timeout
    while time.time() < end:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


tap = pombo.Tap()
inst = pombo.Instance({"login_delay": "0"})
slow = None
sa = None
users = ["bob@example.test", "carol@example.test"] + \
    ["p%d@example.test" % i for i in range(8)]
with open(inst.settings["users_file"], "w") as f:
    h = password_hash("secret")
    for u in users:
        f.write("%s:%s\n" % (u, h))
try:
    sa = pombo.SocketActivated(
        [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path], inst.env())
    md, names = deliver(inst, "bob@example.test", MESSAGES)
    uniques = [m[0] for m in MESSAGES]

    # poplib: login, stat, list, uidl, retr
    a = poplib.POP3("127.0.0.1", sa.port, timeout=20)
    tap.eq(a.getwelcome(), b"+OK Pombo POP3 server ready", "greeting")
    capa = a.capa()
    for c in ("TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING",
              "AUTH-RESP-CODE", "IMPLEMENTATION"):
        tap.ok(c in capa, "CAPA lists " + c, capa)
    tap.ok("APOP" not in capa and capa.get("SASL") == ["PLAIN"],
           "CAPA offers SASL PLAIN, not APOP", capa)
    a.user("bob@example.test")
    resp = a.pass_("secret")
    tap.ok(resp.startswith(b"+OK"), "login", resp)
    total = sum(len(pop3_form(m[2])) for m in MESSAGES)
    tap.eq(a.stat(), (len(MESSAGES), total), "STAT counts RFC 1939 octets")
    _, lst, _ = a.list()
    tap.eq(lst, [b"%d %d" % (i + 1, len(pop3_form(m[2])))
                 for i, m in enumerate(MESSAGES)], "LIST sizes")
    _, uidl, _ = a.uidl()
    tap.eq(uidl, [b"%d %s" % (i + 1, u.encode())
                  for i, u in enumerate(uniques)], "UIDL is the unique part")
    for i, (unique, _, data) in enumerate(MESSAGES):
        resp, lines, octets = a.retr(i + 1)
        got = b"".join(l + b"\r\n" for l in lines)
        tap.eq(got, pop3_form(data), "poplib RETR %d (%s) byte for byte" %
               (i + 1, unique))
        tap.ok(resp.startswith(b"+OK %d octets" % len(pop3_form(data))),
               "RETR %d announces its LIST size" % (i + 1), resp)
    resp, lines, _ = a.top(4, 2)
    tap.eq(lines, [b"From: a@client.test", b"Subject: big", b"",
                   b". line 0 of the big one \xe2\x82\xac",
                   b" line 1 of the big one \xe2\x82\xac"],
           "TOP 4 2: header, blank line, two lines (poplib unstuffs)")

    # a second session on the same mailbox, while the first holds it
    b = poplib.POP3("127.0.0.1", sa.port, timeout=20)
    b.user("bob@example.test")
    try:
        b.pass_("secret")
        tap.ok(False, "second session refused")
    except poplib.error_proto as e:
        tap.ok(str(e).startswith("b'-ERR [IN-USE]"),
               "second session gets [IN-USE]", e)
    # a wrong password gets [AUTH]; the session goes on
    b.user("bob@example.test")
    try:
        b.pass_("wrong")
        tap.ok(False, "wrong password refused")
    except poplib.error_proto as e:
        tap.ok(str(e).startswith("b'-ERR [AUTH]"), "wrong password: [AUTH]",
               e)
    b.quit()

    # DELE + QUIT removes; what was RETR'd moves to cur/ with :2,S
    a.dele(1)
    a.dele(3)
    resp = a.quit()
    tap.ok(resp.startswith(b"+OK"), "QUIT after DELE", resp)
    tap.eq(listing(md), {"new": [], "cur": sorted(
        names[i] + ":2,S" for i in (1, 3, 4))},
        "deleted ones gone, read ones in cur/ with :2,S")

    # the raw bytes on the wire, dot-stuffing and all; UIDLs unchanged
    out = raw_session(sa.port, [b"USER bob@example.test", b"PASS secret",
                                b"UIDL", b"RETR 1", b"RETR 3", b"QUIT"])
    want = (b"+OK Pombo POP3 server ready\r\n+OK Send your password\r\n"
            b"+OK Logged in, 3 messages (%d octets)\r\n" %
            sum(len(pop3_form(MESSAGES[i][2])) for i in (1, 3, 4)) +
            b"+OK Unique-ID listing follows\r\n" +
            b"".join(b"%d %s\r\n" % (n + 1, uniques[i].encode())
                     for n, i in enumerate((1, 3, 4))) + b".\r\n" +
            b"+OK %d octets\r\n" % len(pop3_form(MESSAGES[1][2])) +
            stuffed(MESSAGES[1][2]) +
            b"+OK %d octets\r\n" % len(pop3_form(MESSAGES[4][2])) +
            stuffed(MESSAGES[4][2]) +
            b"+OK Pombo POP3 server signing off (3 messages left)\r\n")
    tap.ok(out == want, "raw RETR bytes, UIDLs stable after the move",
           "got %r\nwant %r" % (out[:3000], want[:3000]))

    # the big one raw: every octet, in one pass
    out = raw_session(sa.port, [b"USER bob@example.test", b"PASS secret",
                                b"RETR 2", b"QUIT"], timeout=20)
    body = out.split(b" octets\r\n", 1)[1].rsplit(b"+OK Pombo", 1)[0]
    tap.ok(body == stuffed(MESSAGES[3][2]), "the big message byte for byte",
           "got %d octets, want %d" % (len(body),
                                       len(stuffed(MESSAGES[3][2]))))

    # parallel sessions of different users, bounded
    for i in range(8):
        deliver(inst, "p%d@example.test" % i,
                [("17000000%02d.p.mx.test" % j, True,
                  b"Subject: %d/%d\n\nbody\n" % (i, j)) for j in range(5)])

    def session(i):
        c = poplib.POP3("127.0.0.1", sa.port, timeout=20)
        c.user("p%d@example.test" % i)
        c.pass_("secret")
        n, _ = c.stat()
        for j in range(n):
            c.retr(j + 1)
            c.dele(j + 1)
        c.quit()
        return n
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        counts = list(ex.map(session, range(8), timeout=120))
    tap.eq(counts, [5] * 8, "8 parallel sessions read 5 messages each")
    left = sum(len(os.listdir(os.path.join(inst.mail, "example.test",
                                           "p%d" % i, sub)))
               for i in range(8) for sub in ("new", "cur"))
    tap.eq(left, 0, "and deleted them all")

    # mpop: delivers into a Maildir of its own
    if shutil.which("mpop"):
        md, names = deliver(inst, "carol@example.test", MESSAGES)
        work = os.path.join(inst.dir, "mpop")
        out_md = os.path.join(work, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(out_md, sub))
        rc = os.path.join(work, "mpoprc")
        with open(rc, "w") as f:
            f.write("account default\nhost 127.0.0.1\nport %d\n"
                    "user carol@example.test\npassword secret\nauth user\n"
                    "tls off\n" % sa.port)
        os.chmod(rc, 0o600)
        p = subprocess.run(
            ["mpop", "-C", rc, "--deliver=maildir," + out_md,
             "--uidls-file=" + os.path.join(work, "uidls"),
             "--received-header=off", "--timeout=20"],
            capture_output=True, timeout=120, env=dict(os.environ, HOME=work))
        tap.eq(p.returncode, 0, "mpop succeeded")
        got = sorted(open(os.path.join(out_md, "new", n), "rb").read()
                     for n in os.listdir(os.path.join(out_md, "new")))
        # mpop stores LF lines; a missing final newline was added
        want = sorted(re.sub(rb"\r\n", b"\n", m[2]) +
                      (b"" if m[2].endswith(b"\n") else b"\n")
                      for m in MESSAGES)
        tap.ok(got == want, "mpop got every message intact",
               "got %r\nwant %r" % ([g[:200] for g in got],
                                    [w[:200] for w in want]))
        tap.eq(listing(md), {"new": [], "cur": []},
               "mpop deleted them on the server")
    else:
        tap.skip("mpop", "mpop is not installed")

    # fetchmail: writes what it fetched as batch SMTP, no MDA, no shell
    if shutil.which("fetchmail"):
        md, names = deliver(inst, "carol@example.test", MESSAGES)
        work = os.path.join(inst.dir, "fetchmail")
        os.makedirs(work)
        rc = os.path.join(work, "fetchmailrc")
        bsmtp = os.path.join(work, "out.bsmtp")
        with open(rc, "w") as f:
            f.write("set no syslog\n"
                    "poll 127.0.0.1 with proto POP3 port %d timeout 20\n"
                    "  user \"carol@example.test\" there with password "
                    "\"secret\" is \"carol\" here\n"
                    "  options fetchall nokeep sslproto ''\n" % sa.port)
        os.chmod(rc, 0o600)
        p = subprocess.run(
            ["fetchmail", "-f", rc, "--bsmtp", bsmtp, "--invisible",
             "--nosyslog"], capture_output=True, timeout=120,
            env=dict(os.environ, HOME=work, FETCHMAILHOME=work))
        tap.eq(p.returncode, 0, "fetchmail succeeded")
        with open(bsmtp, "rb") as f:
            text = f.read()
        got = []
        for part in text.split(b"\r\nDATA\r\n")[1:]:
            msg = part.split(b"\r\n.\r\n")[0] + b"\r\n"
            got.append(re.sub(rb"(?m)^\.\.", b".", msg))
        want = [pop3_form(m[2]) for m in MESSAGES]
        tap.ok(sorted(got) == sorted(want),
               "fetchmail got every message intact",
               "got %r\nwant %r\n%s" % ([g[:200] for g in got],
                                        [w[:200] for w in want],
                                        p.stderr.decode("utf-8",
                                                        "replace")[-2000:]))
        tap.eq(listing(md), {"new": [], "cur": []},
               "fetchmail deleted them on the server")
    else:
        tap.skip("fetchmail", "fetchmail is not installed")

    # a failed login waits login_delay before its reply
    slow_conf = os.path.join(inst.dir, "slow.conf")
    with open(inst.conf_path) as f, open(slow_conf, "w") as g:
        g.write(f.read().replace("login_delay = 0", "login_delay = 1s"))
    slow = pombo.SocketActivated(
        [pombo.prog("pop3d/pop3d"), "-c", slow_conf], inst.env())
    c = poplib.POP3("127.0.0.1", slow.port, timeout=20)
    c.user("bob@example.test")
    t0 = time.monotonic()
    try:
        c.pass_("wrong")
    except poplib.error_proto:
        pass
    waited = time.monotonic() - t0
    tap.ok(waited >= 0.95, "a failed login waits login_delay (1s)",
           "waited %.3fs" % waited)
    c.user("bob@example.test")
    t0 = time.monotonic()
    c.pass_("secret")
    tap.ok(time.monotonic() - t0 < 0.9, "a good login does not wait")
    c.quit()
finally:
    for s in (sa, slow):
        if s is not None:
            s.stop()
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

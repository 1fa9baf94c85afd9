"""Addresses that carry structure (issue 13): a quoted local part may
hold blanks, '>', '"' and any printable octet (RFC 5321 4.1.2). The
agents' jobs split lines at blanks; the sender <"p q"@ext.test> split
in two, the agent refused the whole job (exit 70) and every message of
its batch was deferred, at every retry. And <"a> ENVID=.. RET=.."@x>
spilled into the job's flags: the remote agent sent MAIL FROM:<"a>.
Here: 20 parallel smtplib sessions, half from <"p q"@ext.test>, all go
to a local Maildir and to a remote peer (through dnsmasq's MX) in the
same batches; every message arrives. The injection sender reaches the
peer as exactly that path and local mail gets it as Return-Path, from
SMTP and from pombo-sendmail -f."""
import json
import os
import re
import smtplib
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
P = pombo.free_port()
dns_dir = tempfile.mkdtemp(prefix="pombo-dns-")
dns = pombo.Dnsmasq(["--mx-host=ext.test,mx.ext.test,10",
                     "--host-record=mx.ext.test,127.0.0.31"], dns_dir)
peer = Peer("127.0.0.31", P, "mx.ext.test")
SPACE = '"p q"@ext.test'
INJECT = '"ceo@bank.example> ENVID=INJ RET=HDRS"@ext.test'
N = 20

# deliveries held while the sessions run, so that the next start puts
# poison and legitimate messages in the same agent jobs
conf = {"hold_deliveries": "yes", "dns_servers": "127.0.0.1:%d" % dns.port,
        "remote_port": str(P), "retry_interval": "1h",
        "delay_warning": "0", "remote_timeout": "10s",
        "remote_connect_timeout": "2s"}
A = pombo.Instance(conf, name="pombo-hostile").start()
sa = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", A.conf_path],
                           A.env())


def release():
    """Restart queued with deliveries on: it loads the whole queue."""
    A.stop()
    A.settings["hold_deliveries"] = "no"
    with open(A.conf_path, "w") as f:
        for k, v in A.settings.items():
            f.write("%s = %s\n" % (k, v))
    A.start()


def session(i, errors):
    sender = SPACE if i % 2 else "legit%d@client.test" % i
    try:
        with smtplib.SMTP("127.0.0.1", sa.port, timeout=30) as s:
            s.ehlo("client.test")
            s.sendmail(sender, ["r%d@example.test" % i, "u%d@ext.test" % i],
                       b"Subject: m%d\r\n\r\nhello %d\r\n" % (i, i))
    except Exception as e:  # noqa: BLE001 (reported below)
        errors.append("%d: %r" % (i, e))


def peer_got(rcpt):
    with peer.lock:
        return [m for m in peer.messages
                if any("<%s>" % rcpt in r for r in m["rcpts"])]


try:
    errors = []
    threads = [threading.Thread(target=session, args=(i, errors))
               for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    tap.eq(errors, [], "%d parallel sessions, half from <%s>: all taken"
           % (N, SPACE))
    # pombo-queue splits its listing at blanks too: encoded there
    ODD = '"s p> 1"@ext.test'
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(SPACE, [ODD], b"Subject: odd\r\n\r\nx\r\n")
    tap.eq(len(A.queue_files()), N + 1, "all queued")
    q = subprocess.run([pombo.prog("queued/pombo-queue"), "-c", A.conf_path,
                        "--json", "list"], capture_output=True, timeout=30)
    try:
        listing = json.loads(q.stdout)
    except ValueError:
        listing = []
    tap.ok(any(m["sender"] == SPACE and
               [r["address"] for r in m["recipients"]] == [ODD]
               for m in listing), "pombo-queue --json list: those "
           "addresses as they are", q.stdout[-600:])
    q = subprocess.run([pombo.prog("queued/pombo-queue"), "-c", A.conf_path,
                        "list"], capture_output=True, timeout=30, text=True)
    tap.ok("<%s>" % ODD in q.stdout and "<%s>" % SPACE in q.stdout,
           "and pombo-queue list", q.stdout[-600:])
    release()
    legit = [i for i in range(N) if i % 2 == 0]
    tap.ok(pombo.wait_for(lambda: all(A.delivered("r%d" % i)
                                      for i in legit), 20),
           "every legitimate message reached its local Maildir",
           [i for i in legit if not A.delivered("r%d" % i)] + [A.log()])
    tap.ok(pombo.wait_for(lambda: all(peer_got("u%d@ext.test" % i)
                                      for i in legit), 20),
           "every legitimate message reached the remote peer",
           [i for i in legit if not peer_got("u%d@ext.test" % i)])
    poison = [i for i in range(N) if i % 2]
    tap.ok(pombo.wait_for(lambda: all(A.delivered("r%d" % i) and
                                      peer_got("u%d@ext.test" % i)
                                      for i in poison), 20),
           "and so did those from <%s>" % SPACE, A.log()[-3000:])
    tap.ok(all(m["mail"].startswith("<%s>" % SPACE)
               for i in poison for m in peer_got("u%d@ext.test" % i)),
           "with that sender", [m["mail"] for m in peer.messages])
    if A.delivered("r1"):
        tap.ok(A.delivered("r1")[0].startswith(
            b'Return-Path: <"p q"@ext.test>\n'), "and that Return-Path",
            A.delivered("r1")[0][:200])
    tap.ok(pombo.wait_for(lambda: peer_got(ODD), 10), "<%s> too" % ODD)
    tap.ok(pombo.wait_for(lambda: not A.queue_files(), 10),
           "nothing left in the queue", A.queue_files())
    tap.ok("Delivery agent failed" not in A.log() and
           "exited with 70" not in A.log(), "no agent refused its job",
           A.log()[-3000:])

    # the injection sender, through SMTP and through pombo-sendmail -f
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(INJECT, ["bob@example.test", "inj1@ext.test"],
                   b"Subject: inj\r\n\r\nx\r\n")
    r = subprocess.run([pombo.prog("queued/pombo-sendmail"), "-C",
                        A.conf_path, "-f", INJECT, "carol@example.test",
                        "inj2@ext.test"], input=b"Subject: inj2\n\nx\n",
                       capture_output=True, timeout=30)
    tap.eq(r.returncode, 0, "pombo-sendmail -f '%s': exit 0" % INJECT,)
    for rcpt, how in (("inj1@ext.test", "SMTP"),
                      ("inj2@ext.test", "pombo-sendmail -f")):
        tap.ok(pombo.wait_for(lambda: peer_got(rcpt), 20),
               "%s: the injection sender's mail reached the peer" % how,
               A.log()[-2000:])
        got = [m["mail"] for m in peer_got(rcpt)]
        tap.ok(len(got) == 1 and re.fullmatch(
            re.escape("<%s>" % INJECT) + r"( SIZE=\d+)?", got[0]),
            "%s: MAIL FROM:<%s> exactly, no ENVID or RET of its own"
            % (how, INJECT), got)
    for user, how in (("bob", "SMTP"), ("carol", "pombo-sendmail -f")):
        tap.ok(pombo.wait_for(lambda: A.delivered(user), 10),
               "%s: delivered locally" % how)
        if A.delivered(user):
            tap.ok(A.delivered(user)[0].startswith(
                b"Return-Path: <" + INJECT.encode() + b">\n"),
                "%s: Return-Path: <%s>" % (how, INJECT),
                A.delivered(user)[0][:200])
    # a C1 control (U+009B, CSI to a terminal) in an SMTPUTF8 address:
    # logged as "??", as C0 controls are "?"
    out = A.smtpd("EHLO c.test\nMAIL FROM:<a\u009b2Jb@ext.test> SMTPUTF8\n"
                  "RCPT TO:<bob@example.test>\nDATA\nSubject: c1\n\nhi\n"
                  ".\nQUIT\n".encode())
    tap.ok(b"queued as" in out, "an SMTPUTF8 sender with U+009B: taken", out)
    tap.ok(pombo.wait_for(lambda: "from=<a??2Jb@ext.test>" in A.log(), 5) and
           "\u009b" not in A.log(),
           "and logged with '??' for it, never the control itself",
           [l for l in A.log().splitlines() if "2Jb@" in l])
finally:
    peer.stop()
    sa.stop()
    A.check_clean(tap)
    A.cleanup()
    dns.stop()
tap.done()

"""Queue scheduling and notifications: retries every retry_interval until
queue_lifetime, then a bounce; one delay warning after delay_warning;
NOTIFY=NEVER silences a bounce, NOTIFY=SUCCESS asks for a success notice
(delivered here, relayed to a server without DSN); RET=FULL returns the
whole message; a mail from <> that fails goes to the postmaster; a slow
domain does not hold back another; state survives a restart; and a load
of messages reaches Postfix's smtp-sink over MX."""
import email
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
P = pombo.free_port()
tmp = __import__("tempfile").mkdtemp(prefix="pombo-retry-")
MX = {"soft.test": "127.0.1.2", "hard.test": "127.0.1.3",
      "slow.test": "127.0.1.4", "fast.test": "127.0.1.5",
      "nodsn.test": "127.0.1.6", "sink.test": "127.0.1.7"}
opts = []
for dom, ip in MX.items():
    opts += ["--mx-host=%s,mx.%s,10" % (dom, dom),
             "--host-record=mx.%s,%s" % (dom, ip)]
dns = pombo.Dnsmasq(opts, tmp)
peers = {
    "soft": Peer(MX["soft.test"], P, "mx.soft.test",
                 replies={"RCPT": "450 4.2.0 mailbox busy"}),
    "hard": Peer(MX["hard.test"], P, "mx.hard.test",
                 replies={"RCPT": "550 5.1.1 unknown"}),
    "slow": Peer(MX["slow.test"], P, "mx.slow.test", greeting_delay=8),
    "fast": Peer(MX["fast.test"], P, "mx.fast.test"),
    "nodsn": Peer(MX["nodsn.test"], P, "mx.nodsn.test",
                  ext=["PIPELINING", "8BITMIME"]),
}
A = pombo.Instance({"hold_deliveries": "no",
                    "dns_servers": "127.0.0.1:%d" % dns.port,
                    "remote_port": str(P), "retry_interval": "1s",
                    "queue_lifetime": "4s", "delay_warning": "2s",
                    "remote_timeout": "20s"}).start()
sa = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", A.conf_path],
                           A.env())


def send(rcpts, body=b"Subject: test\r\n\r\nhello\r\n",
         sender="alice@example.test", mail_options=(), rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=30) as s:
        s.ehlo("client.test")
        return s.sendmail(sender, rcpts, body, mail_options=list(mail_options),
                          rcpt_options=list(rcpt_options))


def mailbox(user, domain="example.test"):
    return [m.decode("utf-8", "replace") for m in A.delivered(user, domain)]


def notices(user, kind):
    return [m for m in mailbox(user) if "Action: %s" % kind in m]


try:
    # a slow domain does not hold back a fast one
    t0 = time.time()
    send(["x@slow.test"])
    send(["y@fast.test"])
    tap.ok(pombo.wait_for(lambda: peers["fast"].messages, 5),
           "the fast domain is served while the slow one waits (%.1fs)" %
           (time.time() - t0))
    tap.eq(peers["slow"].messages, [], "the slow one is still greeting")

    # 4xx until the lifetime ends: retried, one delay notice, then a bounce
    send(["z@soft.test"], b"Subject: soft\r\n\r\nretry\r\n")
    tap.ok(pombo.wait_for(lambda: notices("alice", "delayed"), 8),
           "one delay warning after delay_warning")
    tap.ok(pombo.wait_for(lambda: notices("alice", "failed"), 12),
           "a bounce when queue_lifetime is over")
    attempts = len([c for c in peers["soft"].commands
                    if c.startswith("RCPT")])
    tap.ok(attempts >= 3, "retried every retry_interval (%d attempts)" %
           attempts)
    tap.eq(len(notices("alice", "delayed")), 1, "only one delay warning")
    if notices("alice", "failed"):
        raw = notices("alice", "failed")[0]
        tap.ok("Status: 4.2.0" in raw and
               "Diagnostic-Code: smtp; 450 4.2.0 mailbox busy" in raw and
               "Remote-MTA: dns; mx.soft.test" in raw,
               "the bounce carries the last temporary error", raw[-1500:])
    if notices("alice", "delayed"):
        raw = notices("alice", "delayed")[0]
        tap.ok("Will-Retry-Until:" in raw and "Status: 4.2.0" in raw,
               "the warning says until when", raw[-1500:])

    # NOTIFY=NEVER: no bounce; RET=FULL: the whole message comes back
    before = len(mailbox("alice"))
    send(["n1@hard.test"], rcpt_options=["NOTIFY=NEVER"])
    send(["n2@hard.test"], b"Subject: full\r\n\r\nthe whole body\r\n",
         mail_options=["RET=FULL"])
    tap.ok(pombo.wait_for(lambda: len(mailbox("alice")) == before + 1, 8),
           "one bounce: none for NOTIFY=NEVER")
    time.sleep(1)
    tap.eq(len(mailbox("alice")), before + 1, "still one")
    last = mailbox("alice")[-1] if mailbox("alice") else ""
    tap.ok("n2@hard.test" in last and "message/rfc822" in last and
           "the whole body" in last, "RET=FULL returns the message",
           last[-800:])

    # NOTIFY=SUCCESS: relayed to a server without DSN, delivered locally
    send(["s@nodsn.test", "bob@example.test"],
         rcpt_options=["NOTIFY=SUCCESS"])
    tap.ok(pombo.wait_for(lambda: len(notices("alice", "relayed")) +
                          len(notices("alice", "delivered")) >= 2, 8),
           "success notices for NOTIFY=SUCCESS")
    tap.eq(len(notices("alice", "relayed")), 1, "relayed: the remote one")
    tap.eq(len(notices("alice", "delivered")), 1, "delivered: the local one")

    # a failing mail from <> goes to the postmaster, once
    send(["p@hard.test"], sender="")
    pm = lambda: mailbox("postmaster", "mx.test")  # noqa: E731
    tap.ok(pombo.wait_for(lambda: pm(), 8),
           "a failed bounce goes to the postmaster")
    time.sleep(1)
    tap.eq(len(pm()), 1, "once")

    # per-recipient state survives a restart
    peers["soft"].replies = {"RCPT": "450 4.2.0 still busy"}
    A.settings  # noqa: B018
    send(["later@soft.test"])
    tap.ok(pombo.wait_for(lambda: "4.2.0 still busy" in A.log(), 8),
           "deferred again")
    sdir = os.path.join(A.spool, "state")
    tap.ok(pombo.wait_for(lambda: len(os.listdir(sdir)) >= 1, 5),
           "its state is on disk")
    A.stop()
    peers["soft"].replies = {}
    A.start()
    tap.ok(pombo.wait_for(lambda: any("later@soft.test" in r
                                      for m in peers["soft"].messages
                                      for r in m["rcpts"]), 10),
           "after a restart the retry happens and delivers")
finally:
    for p in peers.values():
        p.stop()
    sa.stop()
    A.check_clean(tap)
    A.cleanup()

# load: messages to Postfix's smtp-sink through MX
sink_bin = shutil.which("smtp-sink")
if sink_bin is None:
    tap.skip("smtp-sink load", "postfix is not installed")
else:
    sink_log = open(os.path.join(tmp, "sink.log"), "w")
    sink = subprocess.Popen([sink_bin, "-c", "-u", os.environ.get(
        "USER", "root"), "%s:%d" % (MX["sink.test"], P), "100"],
        stdout=sink_log, stderr=sink_log, text=True)

    def sink_up():
        try:
            socket.create_connection((MX["sink.test"], P), 0.2).close()
            return True
        except OSError:
            return False
    tap.ok(pombo.wait_for(sink_up, 10), "smtp-sink listens",
           open(os.path.join(tmp, "sink.log")).read())
    L = pombo.Instance({"hold_deliveries": "no",
                        "dns_servers": "127.0.0.1:%d" % dns.port,
                        "remote_port": str(P)}, name="pombo-load").start()
    try:
        N = 300
        body = b"Subject: load\r\n\r\n" + b"x" * 4000 + b"\r\n"
        t0 = time.time()
        sessions = b"".join(
            b"MAIL FROM:<a@example.test>\nRCPT TO:<r%d@sink.test>\nDATA\n"
            % i + body.replace(b"\r\n", b"\n") + b".\n" for i in range(N))
        out = L.smtpd(b"EHLO c.test\n" + sessions + b"QUIT\n", timeout=120)
        tap.eq(out.count(b"250 2.0.0 Ok: queued as"), N,
               "%d messages accepted" % N)
        done = pombo.wait_for(lambda: L.queue_files() == [], 60, 0.05)
        secs = time.time() - t0
        tap.ok(done, "all %d delivered to smtp-sink in %.1fs (%.0f/s)" %
               (N, secs, N / secs), "\n".join(L.log().splitlines()[-20:]))
        sent = len(re.findall(r"status=sent", L.log()))
        tap.eq(sent, N, "one sent line per message")
    finally:
        L.check_clean(tap)
        L.cleanup()
        sink.terminate()
        sink.wait(5)
dns.stop()
shutil.rmtree(tmp, ignore_errors=True)
tap.done()

"""Who queued believes: a local program on the queue socket may submit as
"local", but may not claim a network client's address, an AUTH user or
TLS (only handler_user, root and queued's own user may), also when no
handler user is configured; what it submits carries a Received: line
with its uid, written by queued. Only the admin may list the queue or
change it. A handler_user that does not exist stops queued."""
import os
import pwd
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if os.geteuid() != 0:
    tap.skip("uid checks", "not running as root")
    tap.done()
nobody = pwd.getpwnam("nobody")
daemon = pwd.getpwnam("daemon")


def talk(inst, lines, who):
    """Talk the queue protocol as the user who; the replies."""
    script = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
              "s.connect(sys.argv[1])\ns.sendall(sys.stdin.buffer.read())\n"
              "s.shutdown(socket.SHUT_WR)\nd=b''\nwhile True:\n"
              " c=s.recv(65536)\n if not c: break\n d+=c\n"
              "sys.stdout.buffer.write(d)\n")
    r = subprocess.run(["/usr/bin/python3", "-c", script, inst.sock],
                       input=lines, capture_output=True, timeout=20,
                       user=who.pw_uid, group=who.pw_gid)
    return r.stdout.decode()


BODY = b"Subject: hi\n\nforged or not\n"
MSG = b"DATA\n%d\n%s0\nQUIT\n" % (len(BODY), BODY)
FORGED = (b"POMBO 1\nHELO ESMTPSA 203.0.113.9 mail.bank.test "
          b"auth=bob@example.test tls=TLSv1.3\n"
          b"MAIL <bob@example.test>\nRCPT <carol@example.test>\n" + MSG)

# handler_user named: daemon plays smtpd
inst = pombo.Instance({"handler_user": "daemon"}).start()
os.chmod(inst.dir, 0o755)
try:
    out = talk(inst, b"POMBO 1\nHELO LOCAL local x.test\n"
               b"MAIL <n@x.test>\nRCPT <bob@example.test>\nQUIT\n", nobody)
    tap.ok("250 2.1.5 Ok" in out, "a local program may submit as local", out)
    out = talk(inst, b"POMBO 1\nHELO ESMTP 192.0.2.1 x.test\n", nobody)
    tap.ok("451 4.3.5 Only the mail handlers speak for network clients"
           in out, "but may not claim a network client", out)
    out = talk(inst, b"POMBO 1\nHELO ESMTPA local x.test "
               b"auth=bob@example.test\n", nobody)
    tap.ok("451 4.3.5 Only the mail handlers" in out, "nor an AUTH user",
           out)
    out = talk(inst, b"POMBO 1\nLIST\n", nobody)
    tap.ok("550 5.7.1 Permission denied" in out, "nor list the queue", out)
    out = talk(inst, b"POMBO 1\nFLUSH\n", nobody)
    tap.ok("550 5.7.1 Permission denied" in out, "nor flush it", out)
    out = talk(inst, FORGED, daemon)
    tap.ok("250 2.0.0 Ok: queued as" in out,
           "handler_user may speak for a network client", out)
    qid = inst.queue_files()[-1] if inst.queue_files() else ""
    body = inst.queue_file(qid) if qid else b""
    tap.ok(b"client ESMTPSA 203.0.113.9" in body and
           b"Pombo queued, from uid" not in body,
           "and its message is the network client's, unstamped", body)
    r = subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                        inst.conf_path, "list"], capture_output=True,
                       text=True, timeout=20)
    tap.eq(r.returncode, 0, "root may list the queue")
    # pombo-queue itself, run as a user who is not the admin: refused by
    # queued, as pombo-queue(8) and queued(8) both say
    for args in (["list"], ["--json", "list"], ["flush"]):
        r = subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                            inst.conf_path] + args, capture_output=True,
                           text=True, timeout=20, user=nobody.pw_uid,
                           group=nobody.pw_gid)
        tap.ok(r.returncode == 69 and "Permission denied" in
               r.stdout + r.stderr, "pombo-queue %s as nobody: Permission "
               "denied, exit 69" % " ".join(args),
               "%d %s %s" % (r.returncode, r.stdout, r.stderr))
finally:
    inst.check_clean(tap)
    inst.cleanup()

# the manual pages say the same: every queue command, listing
# included, is the admin's only
for name in ("man/queued.8", "man/pombo-queue.8"):
    with open(os.path.join(pombo.TOP_SRCDIR, name)) as f:
        text = " ".join(f.read().split())
    tap.ok("Anyone who can connect may list" not in text and
           re.search(r"only from root and from (its own user|the user)",
                     text), "%s: only root and queued's user may use the "
           "queue commands, listing included" % name)

# no handler_user in the file (the default names a user this host lacks):
# nobody but root and queued's own user is a handler
inst = pombo.Instance().start()
os.chmod(inst.dir, 0o755)
try:
    out = talk(inst, FORGED, nobody)
    tap.ok("451 4.3.5 Only the mail handlers speak for network clients"
           in out and "queued as" not in out,
           "without handler_user, a local user claiming AUTH bob and a "
           "network client is refused", out)
    tap.eq(inst.queue_files(), [], "and nothing was queued as bob")
    tap.ok("uid %d may not speak for network clients" % nobody.pw_uid
           in inst.log(), "queued logs the uid", inst.log()[-2000:])
    out = talk(inst, b"POMBO 1\nHELO LOCAL local x.test\n"
               b"MAIL <n@x.test>\nRCPT <bob@example.test>\n" + MSG, nobody)
    tap.ok("250 2.0.0 Ok: queued as" in out, "as local it may submit", out)
    qid = inst.queue_files()[-1] if inst.queue_files() else ""
    body = inst.queue_file(qid) if qid else b""
    data = body.split(b"\ndata\n", 1)[-1]
    tap.ok(data.startswith(b"Received: by mx.test (Pombo queued, from uid "
                           b"%d)\n\tid %s;" % (nobody.pw_uid,
                                               qid.encode())),
           "its message begins with queued's Received: naming its uid",
           body)
    tap.ok(("client=LOCAL local x.test uid=%d" % nobody.pw_uid)
           in inst.log(), "and the log line names the uid",
           inst.log()[-2000:])
    # root (the tests' smtpd runs as queued's user) is still a handler
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                     b"RCPT TO:<bob@example.test>\nDATA\nx\n.\nQUIT\n")
    tap.ok(b"250 2.0.0 Ok: queued as" in out,
           "smtpd as queued's own user still queues", out)
finally:
    inst.check_clean(tap)
    inst.cleanup()

# a handler_user that does not exist: queued stops, naming file and line
bad = pombo.Instance({"handler_user": "no-such-user-here"})
try:
    r = subprocess.run([pombo.prog("queued/queued"), "-d", "-c",
                        bad.conf_path], capture_output=True, text=True,
                       timeout=20)
    line = [i + 1 for i, l in enumerate(open(bad.conf_path))
            if l.startswith("handler_user")][0]
    tap.ok(r.returncode != 0 and "%s:%d: handler_user: no-such-user-here"
           % (bad.conf_path, line) in r.stderr,
           "an unknown handler_user stops queued with file:line", r.stderr)
finally:
    bad.cleanup()
tap.done()

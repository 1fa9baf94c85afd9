"""postgrey, the greylisting policy server from Debian, as a policy
service (issue 17), on loopback with its own database and lists: a
client's first attempt is deferred (its DEFER_IF_PERMIT, 450), a retry
after its delay gets through, with the X-Greylist: field it PREPENDs on
top of the message. The client is smtplib, from 192.0.2.7."""
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


if shutil.which("postgrey") is None and \
        not os.path.exists("/usr/sbin/postgrey"):
    tap.skip("postgrey", "postgrey is not installed")
    tap.done()
POSTGREY = shutil.which("postgrey") or "/usr/sbin/postgrey"
DELAY = 2

work = tempfile.mkdtemp(prefix="pombo-postgrey-")
for f in ("whitelist_clients", "whitelist_recipients"):
    open(os.path.join(work, f), "w").close()
port = pombo.free_port()
# its own user (it changes to one even when it need not)
if os.geteuid() == 0:
    who = ["--user=root", "--group=root"]
else:
    import grp
    import pwd
    who = ["--user=" + pwd.getpwuid(os.geteuid()).pw_name,
           "--group=" + grp.getgrgid(os.getegid()).gr_name]
log = open(os.path.join(work, "postgrey.log"), "wb")
pg = subprocess.Popen(
    [POSTGREY, "--inet=127.0.0.1:%d" % port, "--dbdir=" + work,
     "--delay=%d" % DELAY, "--hostname=mx.test",
     "--whitelist-clients=" + os.path.join(work, "whitelist_clients"),
     "--whitelist-recipients=" + os.path.join(work, "whitelist_recipients"),
     "--auto-whitelist-clients=0"] + who,
    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
inst = pombo.Instance({"policy_services": "inet:127.0.0.1:%d" % port,
                       "policy_timeout": "10s"})
remote = None
try:
    if not pombo.wait_for(lambda: listening(port), 20):
        raise RuntimeError("postgrey did not start")
    inst.start()
    remote = pombo.SocketActivated(
        ["-E", "TCPREMOTEIP=192.0.2.7", pombo.prog("smtpd/smtpd"), "-c",
         inst.conf_path], inst.env())

    def attempt():
        with smtplib.SMTP("127.0.0.1", remote.port, timeout=30) as s:
            s.ehlo("client.far.test")
            s.mail("alice@far.test")
            code, msg = s.rcpt("bob@example.test")
            if code != 250:
                return code, msg.decode(), None
            code, msg = s.data(b"Subject: grey\r\n\r\nhello\r\n")
            return code, msg.decode(), None

    t0 = time.time()
    code, msg, _ = attempt()
    # the line greylisted Postfix sites give, 4.2.0 being postgrey's
    tap.ok(code == 450 and msg.startswith("4.2.0 <bob@example.test>: "
                                          "Recipient address rejected: "
                                          "Greylisted"),
           "first attempt: 450, postgrey's Greylisted", (code, msg))
    code, msg, _ = attempt()
    tap.eq(code, 450, "a retry before the delay is deferred too")
    # then every second until it passes, a bounded number of times
    for i in range(DELAY + 8):
        time.sleep(1)
        code, msg, _ = attempt()
        if code != 450:
            break
    took = time.time() - t0
    # postgrey counts whole seconds: 1.2 s can be its 2
    tap.ok(code == 250 and took >= DELAY - 1,
           "a retry after the delay gets through (%.1f s)" % took,
           (code, msg))
    qid = msg.split()[-1] if code == 250 else None
    data = inst.queue_file(qid).split(b"\ndata\n", 1)[1] if qid else b""
    tap.ok(data.startswith(b"X-Greylist: delayed ") and
           b"by postgrey" in data.split(b"\n", 1)[0] and
           data.split(b"\n", 1)[1].startswith(b"Received: "),
           "postgrey's X-Greylist: field is on top of the message",
           data[:300])
    inst.check_clean(tap)
finally:
    if remote:
        remote.stop()
    pg.terminate()
    try:
        pg.wait(10)
    except subprocess.TimeoutExpired:
        pg.kill()
        pg.wait()
    inst.cleanup()
    shutil.rmtree(work, ignore_errors=True)
tap.done()

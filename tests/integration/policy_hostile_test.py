"""Policy servers that fail (issue 17): one that is down, one that closes
the connection, one that never answers, one that sends garbage or a
reply without end: the client gets Postfix's 451 4.3.5 Server
configuration problem within policy_timeout, queued logs why, serves
other sessions meanwhile without spinning, and the next request opens a
new connection that works. A server that closes its idle connection
after each answer costs nothing but the reconnection."""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from fakepolicy import FakePolicy, CLOSE, SILENT  # noqa: E402

tap = pombo.Tap()
NET = {"TCPREMOTEIP": "192.0.2.7"}
TIMEOUT = 2
PROBLEM = "451 4.3.5 Server configuration problem"


def answer(attrs):
    local = attrs["recipient"].split("@")[0]
    return {"close": CLOSE, "silent": SILENT,
            "garbage": b"HTTP/1.0 400 Bad Request\r\n\r\n",
            "endless": b"action=" + b"x" * 100000,
            "nul": b"action=OK\0\n\n"}.get(local, "DUNNO")


def session(inst, rcpt, env=NET):
    return inst.smtpd(b"EHLO c.test\nMAIL FROM:<x@far.test>\n"
                      b"RCPT TO:<%s@example.test>\nDATA\nSubject: t\n\n"
                      b"body\n.\nQUIT\n" % rcpt.encode(), env=env).decode()


def queued_as(out):
    m = re.search(r"250 2.0.0 Ok: queued as (\w+)", out)
    return m.group(1) if m else None


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


users = ["%s@example.test" % u for u in
         ("ok", "close", "silent", "garbage", "endless", "nul", "bob")]

# a port nobody listens on
s = socket.socket()
s.bind(("127.0.0.1", 0))
dead = s.getsockname()[1]
s.close()
inst = pombo.Instance({"policy_services": "inet:127.0.0.1:%d" % dead,
                       "policy_timeout": "%ds" % TIMEOUT},
                      users=users).start()
try:
    t0 = time.time()
    out = session(inst, "ok")
    tap.ok(PROBLEM in out and queued_as(out) is None and
           time.time() - t0 < TIMEOUT,
           "a server that is down: 451 4.3.5 at once", out)
    tap.ok(re.search(r"policy service inet:127.0.0.1:%d: cannot connect" %
                     dead, inst.log()) is not None,
           "and the log says why", inst.log()[-800:])
    inst.stop()

    srv = FakePolicy(answer)
    inst.set_conf(policy_services=srv.spec)
    inst.start()
    for who, why in [("close", "the server closed the connection"),
                     ("garbage", "malformed reply"),
                     ("endless", "malformed reply"),
                     ("nul", "malformed reply")]:
        t0 = time.time()
        out = session(inst, who)
        took = time.time() - t0
        tap.ok(PROBLEM in out and queued_as(out) is None and took < TIMEOUT,
               "a server that answers %s: 451 4.3.5 in %.2f s" % (who, took),
               out)
        tap.ok(why in inst.log(), "logged: %s" % why, inst.log()[-800:])
        out = session(inst, "ok")
        tap.ok(queued_as(out) is not None,
               "then a new connection serves the next request", out)

    # one that never answers: the session waits policy_timeout, no more;
    # others are served meanwhile, and queued does not spin
    res = {}

    def slow():
        t0 = time.time()
        res["out"] = session(inst, "silent")
        res["took"] = time.time() - t0
    pid = inst.queued.pid
    c0 = cpu(pid)
    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.3)
    t0 = time.time()
    other = session(inst, "bob", env={"TCPREMOTEIP": ""})
    other_took = time.time() - t0
    th.join(30)
    c1 = cpu(pid)
    tap.ok(PROBLEM in res.get("out", "") and
           TIMEOUT - 0.5 <= res.get("took", 0) < TIMEOUT + 2,
           "a server that never answers: 451 4.3.5 after %.2f s "
           "(policy_timeout %d s)" % (res.get("took", 0), TIMEOUT),
           res.get("out"))
    tap.ok("no answer in time" in inst.log(), "logged: no answer in time",
           inst.log()[-800:])
    tap.ok(queued_as(other) is not None and other_took < 1.5,
           "another session is served meanwhile (%.2f s)" % other_took, other)
    tap.ok(c1 - c0 < 0.5, "queued does not spin while waiting (%.2f s CPU)" %
           (c1 - c0))
    out = session(inst, "ok")
    tap.ok(queued_as(out) is not None, "and the next request is answered",
           out)
    inst.check_clean(tap)
    srv.stop()

    # a server that closes each connection after its answer
    def once(attrs):
        return "DUNNO"
    srv = FakePolicy(once)
    orig_serve = srv._serve

    def serve_once(c):
        buf = b""
        c.settimeout(5)
        try:
            while b"\n\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            srv.requests.append(buf)
            c.sendall(b"action=DUNNO\n\n")
        except OSError:
            pass
        finally:
            c.close()
    srv._serve = serve_once
    inst.set_conf(policy_services=srv.spec)
    inst.start()
    outs = [session(inst, "ok") for _ in range(5)]
    tap.ok(all(queued_as(o) for o in outs) and srv.connections == 5,
           "a server closing after each answer: every request served, on "
           "%d connections" % srv.connections, outs[-1])
    inst.check_clean(tap)
    srv.stop()
finally:
    inst.cleanup()
tap.done()

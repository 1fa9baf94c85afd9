"""queued at its descriptor limit: connections beyond the ceiling the limit
allows, or beyond what accept() can take when descriptors run out, wait in
the socket's backlog; queued logs it a bounded number of times, uses
little CPU, finishes the sessions under way, and accepts again when
connections close. A local user gets at most max_uid_connections at once
(then a 421); root is not counted. (queued logged accept's EMFILE millions
of times a second and starved the sessions in progress.)"""
import os
import pwd
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if os.geteuid() != 0:
    tap.skip("descriptor limits", "not running as root")
    tap.done()
nobody = pwd.getpwnam("nobody")
BODY = b"Subject: limits\n\nhello\n"


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def session(inst):
    """A session up to its RCPT, to be finished later."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(inst.sock)
    f = s.makefile("rb")
    s.sendall(b"POMBO 1\nHELO LOCAL local x.test\nMAIL <a@x.test>\n"
              b"RCPT <bob@example.test>\n")
    replies = [f.readline() for _ in range(4)]
    return s, f, replies


def finish(s, f):
    try:
        s.sendall(b"DATA\n%d\n%s0\n" % (len(BODY), BODY))
        return f.readline() + f.readline()
    except OSError as e:
        return repr(e).encode()


def flood(inst, n):
    """n connections that say hello and wait (connect works while the
    backlog has room, accepted or not)."""
    out = []
    for _ in range(n):
        c = socket.socket(socket.AF_UNIX)
        c.connect(inst.sock)
        c.sendall(b"POMBO 1\n")
        out.append(c)
    return out


def banner(inst, timeout=5):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(timeout)
    try:
        c.connect(inst.sock)
        c.sendall(b"POMBO 1\n")
        return c.makefile("rb").readline()
    except OSError as e:
        return repr(e).encode()
    finally:
        c.close()


def count(inst, text):
    return inst.log()[inst.log_start:].count(text)


inst = pombo.Instance({"max_deliveries": "2"})
conns = []
try:
    # 128 descriptors: 68 kept back (64, and 2 per agent), 30 connections
    inst.start(wrapper=("prlimit", "--nofile=128:128"))
    pid = inst.queued_pids()[0]
    tap.ok("at most 30 connections (descriptor limit 128)" in inst.log(),
           "the ceiling follows the descriptor limit", inst.log()[-2000:])
    s, f, replies = session(inst)
    tap.ok(replies[-1].startswith(b"250"), "a session is under way",
           replies)
    conns = flood(inst, 150)
    time.sleep(0.5)
    cpu0 = cpu_seconds(pid)
    time.sleep(2)
    used = cpu_seconds(pid) - cpu0
    tap.ok(used < 0.5, "150 more connections: queued idles (%.2f s of CPU "
           "in 2 s)" % used)
    n = count(inst, "not accepting until a connection closes")
    tap.ok(1 <= n <= 2, "and says so once (%d lines)" % n,
           inst.log()[-2000:])
    out = finish(s, f)
    tap.ok(b"250 2.0.0 Ok: queued as" in out,
           "the session under way still queues its message", out)
    s.close()
    for c in conns:
        c.close()
    conns = []
    tap.ok(banner(inst).startswith(b"250 2.0.0 Pombo queue protocol 1"),
           "once they close, queued accepts again")

    # descriptors run out below the ceiling: accept() fails with EMFILE
    s, f, replies = session(inst)
    pombo.wait_for(lambda: len(os.listdir("/proc/%d/fd" % pid)) < 40, 5)
    nfd = len(os.listdir("/proc/%d/fd" % pid))
    subprocess.run(["prlimit", "--pid", str(pid),
                    "--nofile=%d:128" % (nfd + 4)], check=True)
    inst.log_start = len(inst.log())
    conns = flood(inst, 40)
    time.sleep(0.5)
    cpu0 = cpu_seconds(pid)
    time.sleep(2)
    used = cpu_seconds(pid) - cpu0
    tap.ok(used < 0.5, "out of descriptors: queued idles (%.2f s of CPU in "
           "2 s)" % used)
    n = count(inst, "accept: Too many open files: not accepting")
    tap.ok(1 <= n <= 2, "and logs it once (%d lines)" % n,
           inst.log()[-2000:])
    # descriptors again (the limit back up), and a connection closes
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=128:128"],
                   check=True)
    for c in conns[:4]:
        c.close()
    out = finish(s, f)
    tap.ok(b"250 2.0.0 Ok: queued as" in out,
           "then the session under way queues its message", out)
    s.close()
    for c in conns:
        c.close()
    conns = []
    tap.ok(banner(inst).startswith(b"250 2.0.0 Pombo queue protocol 1"),
           "and queued accepts again")
finally:
    for c in conns:
        c.close()
    inst.check_clean(tap)
    inst.cleanup()

# per user: nobody gets 3, the fourth and fifth a 421; root is not counted
inst = pombo.Instance({"max_uid_connections": "3"}).start()
os.chmod(inst.dir, 0o755)
# (a refused connection may be closed before the client writes to it)
script = ("import socket,sys\ncs=[]\nfor i in range(5):\n"
          " c=socket.socket(socket.AF_UNIX)\n c.connect(sys.argv[1])\n"
          " try: c.sendall(b'POMBO 1\\n')\n except OSError: pass\n"
          " cs.append(c)\n"
          "for c in cs:\n c.settimeout(5)\n"
          " try: print(c.makefile('rb').readline().decode().strip())\n"
          " except OSError as e: print(repr(e))\n")
try:
    r = subprocess.run(["/usr/bin/python3", "-c", script, inst.sock],
                       capture_output=True, text=True, timeout=30,
                       user=nobody.pw_uid, group=nobody.pw_gid)
    lines = r.stdout.splitlines()
    tap.ok([l[:3] for l in lines] == ["250", "250", "250", "421", "421"],
           "a local user gets max_uid_connections, then 421",
           r.stdout + r.stderr)
    tap.ok(any("421 4.7.0 Too many connections from uid %d" % nobody.pw_uid
               in l for l in lines), "which names the uid", r.stdout)
    n = count(inst, "more than 3 connections (max_uid_connections)")
    tap.eq(n, 1, "logged once")
    time.sleep(0.5)     # queued sees the first ones close
    r = subprocess.run(["/usr/bin/python3", "-c", script, inst.sock],
                       capture_output=True, text=True, timeout=30,
                       user=nobody.pw_uid, group=nobody.pw_gid)
    tap.eq([l[:3] for l in r.stdout.splitlines()],
           ["250", "250", "250", "421", "421"],
           "its connections, closed, count no more")
    r = subprocess.run(["/usr/bin/python3", "-c", script, inst.sock],
                       capture_output=True, text=True, timeout=30)
    tap.eq([l[:3] for l in r.stdout.splitlines()], ["250"] * 5,
           "root is not counted")
finally:
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

"""A local user who sends queued commands and never reads the replies:
queued stops reading from that connection once 64 KB of replies wait,
so its memory stays bounded, and goes on where it stopped once they are
read. (It read on: 8 MB of "VRFY x" lines from uid nobody, 79 octets of
reply each, grew queued by 230 MB, and max_uid_connections of them could
each hold 256 MB.) Nor does it answer more lines meanwhile: one EXPN
line can have a long reply. And a local user's connection with a message
under way that sends nothing for smtp_timeout is closed, its
half-written queue file removed (it was kept for ever:
max_uid_connections files of up to max_message_size); one still sending,
or silent between messages, is not."""
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
    tap.skip("a local user's connection", "not running as root")
    tap.done()
nobody = pwd.getpwnam("nobody")

# as nobody: VRFY lines, whole, as long as queued takes them (at most
# 8 MB, 20 s); then every reply read while the rest and a QUIT go
SCRIPT = r"""
import socket, sys, threading, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"POMBO 1\n")
line = b"VRFY x\n"
chunk = line * 1000
s.setblocking(False)
sent, stalled, t0 = 0, None, time.time()
while sent < 8000000 and time.time() - t0 < 20:
    try:
        n = s.send(chunk[sent % len(chunk):])
        sent += n
        stalled = None
    except BlockingIOError:
        stalled = stalled or time.time()
        if time.time() - stalled > 2:
            break
        time.sleep(0.01)
print("sent", sent, flush=True)
s.setblocking(True)
s.settimeout(30)
rest = (len(chunk) - sent % len(chunk)) % len(chunk)
lines = (sent + rest) // len(line)
got = []
def reader():
    f = s.makefile("rb")
    for l in f:
        got.append(l)
        if l.startswith(b"221 "):
            break
t = threading.Thread(target=reader)
t.start()
s.sendall(chunk[sent % len(chunk):][:rest] + b"QUIT\n")
t.join(60)
print("vrfy", lines, "replies", sum(1 for l in got if l.startswith(b"252 ")),
      "last", got[-1].decode().strip() if got else None, flush=True)
"""

inst = pombo.Instance().start()
os.chmod(inst.dir, 0o755)
try:
    r = subprocess.run(["/usr/bin/python3", "-c", SCRIPT, inst.sock],
                       capture_output=True, text=True, timeout=120,
                       user=nobody.pw_uid, group=nobody.pw_gid)
    out = r.stdout.split()
    ok = len(out) == 10 and out[0] == "sent" and out[2] == "vrfy"
    tap.ok(ok, "the client ran", r.stdout + r.stderr)
    if ok:
        sent, lines, replies = int(out[1]), int(out[3]), int(out[5])
        tap.ok(sent < 4000000, "queued stops reading while replies wait "
               "(%d octets taken)" % sent)
        tap.eq(replies, lines, "once read, every command has its reply")
        tap.eq(" ".join(out[7:]), "221 2.0.0 Bye", "and the QUIT its 221")
finally:
    inst.check_clean(tap)
    inst.cleanup()

# as nobody: 60 KB of EXPN lines for an alias of 200, none of its
# replies read for 3 s: queued answers only while less than 64 KB of
# replies wait (each line was answered: 15 MB held), then every one
EXPN = r"""
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
line = b"EXPN huge@example.test\n"
n = 60000 // len(line)
s.sendall(b"POMBO 1\n" + line * n + b"QUIT\n")
print("sent", n, flush=True)
time.sleep(3)
s.settimeout(30)
data = b""
while not data.endswith(b"221 2.0.0 Bye\n"):
    d = s.recv(1 << 20)
    if not d:
        break
    data += d
print("expn", sum(1 for l in data.split(b"\n") if l.startswith(b"250 ")),
      "members", data.count(b"example.test>"), flush=True)
"""


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    return 0


inst = pombo.Instance({"enable_expn": "yes"})
with open(os.path.join(inst.dir, "aliases"), "w") as f:
    f.write("huge: " + ", ".join("r%d@example.test" % i for i in range(200))
            + "\n")
inst.start()
os.chmod(inst.dir, 0o755)
try:
    before = rss_kb(inst.queued.pid)
    p = subprocess.Popen(["/usr/bin/python3", "-c", EXPN, inst.sock],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, user=nobody.pw_uid, group=nobody.pw_gid)
    time.sleep(2)
    grown = rss_kb(inst.queued.pid) - before
    out, err = p.communicate(timeout=60)
    w = out.split()
    if os.environ.get("san_cflags"):
        # ASan's quarantine keeps the freed expansions: 320 MB
        tap.skip("replies not read hold queued's memory when one line "
                 "has many", "RSS says nothing under the sanitizers")
    else:
        tap.ok(grown < 4096, "replies not read hold queued's memory too "
               "when one line has many (grew %d kB)" % grown)
    # one last line more: the greeting's
    tap.ok(len(w) == 6 and int(w[3]) == int(w[1]) + 1 and
           int(w[5]) == 200 * int(w[1]),
           "once read, every EXPN has its whole reply", out + err)
finally:
    inst.check_clean(tap)
    inst.cleanup()

# a local user's message begun: its replies up to DATA's 354 printed
BEGUN = r"""
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
f = s.makefile("rb")
s.sendall(b"POMBO 1\nHELO ESMTP local x.test\nMAIL <a@x.test>\n"
          b"RCPT <bob@example.test>\nDATA\n")
print(" ".join(f.readline().decode()[:3] for _ in range(5)), flush=True)
"""

# as nobody: a message sent slowly, a chunk every 50 ms for 4 s, with
# smtp_timeout = 2s: it is sending, so it is not closed (a read just
# before the sweep came was once taken for hours of silence)
SLOW = BEGUN + r"""
t0 = time.time()
try:
    while time.time() - t0 < 4:
        s.sendall(b"100\n" + b"y" * 99 + b"\n")
        time.sleep(0.05)
    s.sendall(b"0\n")
    print(f.readline().decode()[:3], flush=True)
except OSError as e:
    print("error after %.1f s: %s" % (time.time() - t0, e), flush=True)
"""
# as nobody: between messages, silent for 4 s (sendmail -bs whose
# client only says NOOP): it holds nothing, and is left open
QUIET = r"""
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
f = s.makefile("rb")
s.sendall(b"POMBO 1\nHELO ESMTP local x.test\n")
print(" ".join(f.readline().decode()[:3] for _ in range(2)), flush=True)
time.sleep(4)
s.sendall(b"MAIL <a@x.test>\n")
print(f.readline().decode()[:3] or "eof", flush=True)
"""

# as nobody: lines sent until queued stops taking them (replies wait),
# then replies taken slowly for 9 s: queued reads little or nothing from
# it meanwhile, but it is not idle (it was closed, about 6 s in)
READER = r"""
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"POMBO 1\n")
s.setblocking(False)
sent, stalled, t0 = 0, None, time.time()
while sent < 2000000 and time.time() - t0 < 10:
    try:
        sent += s.send(b"VRFY x\n" * 1000)
        stalled = None
    except BlockingIOError:
        stalled = stalled or time.time()
        if time.time() - stalled > 1:
            break
        time.sleep(0.01)
s.setblocking(True)
s.settimeout(5)
got, t0 = 0, time.time()
try:
    while time.time() - t0 < 9:
        d = s.recv(8000)
        if not d:
            break
        got += len(d)
        time.sleep(0.1)
    print("open" if time.time() - t0 >= 9 else "eof", got, flush=True)
except OSError as e:
    print("error", e, got, flush=True)
"""

# as nobody: a message begun, 1 MB of it sent, then silence; how long
# until queued closes the connection (at most 20 s)
IDLE = BEGUN + r"""
chunk = b"x" * 99999 + b"\n"
for _ in range(10):
    s.sendall(b"100000\n" + chunk)
t0 = time.time()
s.settimeout(20)
try:
    print("eof" if s.recv(100) == b"" else "data", flush=True)
except OSError as e:
    print("error", e, flush=True)
print(round(time.time() - t0), flush=True)
"""
inst = pombo.Instance({"smtp_timeout": "2s"}).start()
os.chmod(inst.dir, 0o755)
try:
    p = subprocess.Popen(["/usr/bin/python3", "-c", IDLE, inst.sock],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, user=nobody.pw_uid, group=nobody.pw_gid)
    pombo.wait_for(lambda: inst.incoming_files() != [], 10)
    tap.eq(len(inst.incoming_files()), 1, "the half message is in "
           "incoming/")
    out, err = p.communicate(timeout=60)
    lines = out.split("\n")
    tap.eq(lines[0], "250 250 250 250 354", "the message was begun",)
    tap.ok(lines[1:2] == ["eof"], "a silent local user's connection is "
           "closed", out + err)
    tap.ok(len(lines) > 2 and lines[2].isdigit() and int(lines[2]) <= 6,
           "after smtp_timeout (2 s), give or take the 1 s sweep", out)
    tap.eq(inst.incoming_files(), [], "and its half message removed")
    tap.ok("nothing sent for 2s with a message under way or replies "
           "unread: connection closed" in inst.log(), "logged",
           inst.log()[-500:])
    for script, want, what in (
            (SLOW, ["250 250 250 250 354", "250"], "one sending a "
             "message slowly for twice smtp_timeout is not closed"),
            (QUIET, ["250 250", "250"], "one silent between messages for "
             "twice smtp_timeout is not closed"),
            (READER, ["open"], "one taking its replies for 9 s, while "
             "queued reads little from it, is not closed")):
        r = subprocess.run(["/usr/bin/python3", "-c", script, inst.sock],
                           capture_output=True, text=True, timeout=60,
                           user=nobody.pw_uid, group=nobody.pw_gid)
        got = [l.split()[0] if script is READER else l
               for l in r.stdout.split("\n")[:len(want)] if l]
        # a close is seen only once what waits in the socket is read:
        # the log says it at once
        closed = inst.log().count("connection closed")
        tap.ok(got == want and closed == 1, what,
               r.stdout + r.stderr + " (%d closed)" % closed)
    # root (pombo-queue, the handlers' own user) keeps its own deadlines
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(inst.sock)
        s.settimeout(10)
        time.sleep(4)
        s.sendall(b"POMBO 1\n")
        tap.ok(s.recv(100).startswith(b"250 "), "root's idle connection "
               "is not closed")
finally:
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

"""A local user who sends queued commands and never reads the replies:
queued stops reading from that connection once 64 KB of replies wait,
so its memory stays bounded, and goes on where it stopped once they are
read. (It read on: 8 MB of "VRFY x" lines from uid nobody, 79 octets of
reply each, grew queued by 230 MB, and max_uid_connections of them could
each hold 256 MB.)"""
import os
import pwd
import subprocess
import sys

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
tap.done()

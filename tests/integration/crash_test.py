"""Spool invariants under SIGKILL: clients submit in a loop while queued
is killed with SIGKILL and restarted; every message a client got 250 for
is in the spool after the restart, and no half-received message appears."""
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance().start()
acked = []           # queue ids the clients heard 250 for
lock = threading.Lock()
stop = threading.Event()


def client(n):
    """A bounded loop of pipe sessions, 2 messages each."""
    for i in range(400):
        if stop.is_set():
            return
        body = b"Subject: crash %d/%d\n\n" % (n, i) + b"x" * 3000 + b"\n"
        session = (b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                   b"RCPT TO:<b@example.test>\nDATA\n" + body + b".\n") * 2 \
            + b"QUIT\n"
        try:
            out = inst.smtpd(session, timeout=20)
        except Exception:
            continue
        for line in out.split(b"\r\n"):
            if line.startswith(b"250 2.0.0 Ok: queued as "):
                with lock:
                    acked.append(line.split()[-1].decode())


threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
kills = 0
try:
    deadline = time.time() + 60
    while kills < 5 and time.time() < deadline:
        time.sleep(0.4)
        inst.kill(signal.SIGKILL)
        kills += 1
        time.sleep(0.1)
        inst.start()
    stop.set()
    for t in threads:
        t.join(60)
    # one more restart so start-up recovery runs on the final state
    inst.kill(signal.SIGKILL)
    inst.start()
    tap.eq(kills, 5, "queued was killed 5 times during submissions")
    tap.ok(len(acked) > 20, "clients got many 250s (%d)" % len(acked))
    files = set(inst.queue_files())
    missing = [q for q in acked if q not in files]
    tap.eq(missing, [], "every acknowledged message survived SIGKILL")
    tap.eq(inst.incoming_files(), [], "no half-received message left")
    bad = []
    for q in files:
        data = inst.queue_file(q)
        if not data.startswith(b"POMBO-QUEUE 1\n") or b"\ndata\n" not in data \
                or not data.endswith(b"x" * 3000 + b"\n"):
            bad.append(q)
    tap.eq(bad, [], "every queued file is whole (%d files)" % len(files))
    # the sum is filled in before the rename: a file that a crash of
    # queued left in queue/ (acknowledged or not) always has its own
    badsum = [q for q in files if not inst.sum_matches(q)[0]]
    tap.eq(badsum, [], "every queued file's sum holds")
    quarantine = os.listdir(os.path.join(inst.spool, "quarantine"))
    tap.eq(quarantine, [], "nothing was quarantined")
    # queued lists exactly what is on disk after the restart
    s = socket.socket(socket.AF_UNIX)
    s.connect(inst.sock)
    s.sendall(b"POMBO 1\nLIST\n")
    data = b""
    while not data.endswith(b"messages\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    listed = {l.split()[1].decode() for l in data.split(b"\n")
              if l.startswith(b"250-msg ")}
    tap.eq(listed, files, "queued loaded every queue file at start")
finally:
    stop.set()
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

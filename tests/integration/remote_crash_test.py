"""Remote delivery under SIGKILL of queued: a batch of messages goes to a
slow peer, queued is killed in the middle of it and restarted. Results are
recorded as the agent reports them and the agent dies with queued, so the
restart sends again at most the message under way (at least once, never a
whole batch twice), and loses nothing."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
N = 30
KILLS = 2



def agents_of(pid):
    """The pombo-remote children of a process."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if comm == "pombo-remote" and int(fields[1]) == pid:
            out.append(int(d))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2:].split()[0] != "Z"


def subjects(msgs):
    out = []
    for m in msgs:
        for line in m["data"].split(b"\r\n"):
            if line.startswith(b"Subject: "):
                out.append(line[9:].decode())
                break
    return out


port = pombo.free_port()
# a slow peer: 0.15 s before each 250, so a batch takes seconds
peer = Peer("127.0.0.1", port, "mx.far.test", end_delay=lambda n: 0.15)
A = pombo.Instance({"relayhost": "[127.0.0.1]:%d" % port,
                    "delay_warning": "0", "retry_interval": "1h"},
                   name="pombo-rcrash").start()
try:
    session = b"EHLO c.test\n"
    for i in range(N):
        session += (b"MAIL FROM:<alice@example.test>\n"
                    b"RCPT TO:<r%d@far.test>\nDATA\nSubject: m%d\n\nhi\n.\n"
                    % (i, i))
    out = A.smtpd(session + b"QUIT\n")
    tap.eq(out.count(b"250 2.0.0 Ok: queued as "), N,
           "%d messages queued while deliveries are held" % N)
    # one batch: every message is loaded at start and due at once
    A.stop()
    A.set_conf(hold_deliveries="no")
    A.start()
    killed_agents = []
    for k in range(KILLS):
        want = (k + 1) * N // (KILLS + 1)
        tap.ok(pombo.wait_for(lambda: len(peer.messages) >= want, 30, 0.02),
               "kill %d: the peer has %d messages of the batch" % (k, want))
        pid = A.queued.pid
        agents = agents_of(pid)
        tap.eq(len(agents), 1, "kill %d: one agent is delivering" % k)
        A.kill(signal.SIGKILL)
        killed_agents += agents
        tap.ok(pombo.wait_for(lambda: not any(alive(a) for a in agents), 5),
               "kill %d: the agent died with queued" % k)
        # the peer may still answer the dot it had (0.15 s), then nothing
        time.sleep(0.4)
        got = len(peer.messages)
        time.sleep(0.8)
        tap.eq(len(peer.messages), got,
               "kill %d: nothing is delivered while queued is down" % k)
        A.start()
    tap.ok(pombo.wait_for(lambda: A.queue_files() == [], 30),
           "the queue empties after the restarts", A.queue_files())
    subj = subjects(peer.messages)
    tap.eq(sorted(set(subj)), sorted("m%d" % i for i in range(N)),
           "every message reached the peer")
    dups = len(subj) - len(set(subj))
    tap.ok(dups <= 2 * KILLS, "at most the message under way again per kill "
           "(%d duplicates for %d kills)"
           % (dups, KILLS), subj)
    A.check_clean(tap)
finally:
    A.cleanup()
    peer.stop()
tap.done()

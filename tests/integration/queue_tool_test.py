"""pombo-queue as an admin uses it: options after the command (the GNU
way); the JSON examples of its manual page, and its real --json output,
parse as JSON; a message deleted while an agent delivers it is marked,
nothing more of it is tried, and it goes, unbounced and logged, when the
agent is done (held on disk meanwhile, so a restart leaves it held);
list shows the notifications owed and not yet queued (a full spool, a
2 MB tmpfs, as in notify_test)."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()


def queue_tool(inst, *args):
    return subprocess.run([pombo.prog("queued/pombo-queue")] + list(args),
                          capture_output=True, text=True, env=inst.env(),
                          timeout=30)


def send(inst, sender, rcpts, body, mail_params=b""):
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<" + sender + b">" +
                     mail_params + b"\n" +
                     b"".join(b"RCPT TO:<" + r + b">\n" for r in rcpts) +
                     b"DATA\n" + body + b"\n.\nQUIT\n")
    m = re.search(rb"queued as (\w+)", out)
    return m.group(1).decode() if m else None


def parse_json(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def listed(inst):
    """pombo-queue --json list, by queue id."""
    r = queue_tool(inst, "list", "--json")
    got = parse_json(r.stdout)
    return {m["id"]: m for m in got} if isinstance(got, list) else {}


# --- the manual page's JSON examples parse, as a reader sees them ------
page = subprocess.run(["groff", "-mandoc", "-Tascii", "-P-c",
                       os.path.join(pombo.TOP_SRCDIR, "man",
                                    "pombo-queue.8")],
                      capture_output=True, text=True, timeout=60).stdout
page = page[page.find("JSON"):]
examples, block = [], None
for line in page.splitlines() + [""]:
    text = line.strip()
    if block is None and text[:1] in ("[", "{"):
        block = []
    if block is not None:
        if text == "":
            examples.append("\n".join(block))
            block = None
        else:
            block.append(text)
tap.ok(len(examples) >= 2, "pombo-queue(8) has JSON examples (%d)" %
       len(examples), page[:3000])
for ex in examples:
    tap.ok(parse_json(ex) is not None, "pombo-queue(8)'s example %s... "
           "is JSON" % ex[:20].replace("\n", " "), ex)

# --- options anywhere; the real output parses -------------------------
A = pombo.Instance(name="pombo-qtool")
A.start()
try:
    qid = send(A, b"alice@example.test", [b"bob@example.test",
                                          b'"p q"@far.test'],
               b"Subject: held back\n\nhi")
    tap.ok(qid is not None, "a message is queued (deliveries held)")
    for args in (["--json", "list"], ["list", "--json"],
                 ["list", "--json", "-c", A.conf_path],
                 ["-c", A.conf_path, "list", "--json"]):
        r = queue_tool(A, *args)
        got = parse_json(r.stdout)
        tap.ok(r.returncode == 0 and isinstance(got, list) and
               [m["id"] for m in got] == [qid],
               "pombo-queue %s: exit 0, JSON listing the message" %
               " ".join(a if a != A.conf_path else "CONF" for a in args),
               "%d %r %r" % (r.returncode, r.stdout, r.stderr))
    r = queue_tool(A, "show", qid, "--json")
    got = parse_json(r.stdout)
    tap.ok(r.returncode == 0 and got and got[0]["sender"] ==
           "alice@example.test" and [x["address"] for x in
                                     got[0]["recipients"]] ==
           ["bob@example.test", '"p q"@far.test'] and
           all(x["notification"] is None for x in got[0]["recipients"]),
           "show ID --json: the message, its recipients, no notification "
           "owed", r.stdout)
    r = queue_tool(A, "hold", qid, "--json")
    got = parse_json(r.stdout)
    tap.ok(r.returncode == 0 and got == {"ok": True, "reply":
                                         "250 2.0.0 Held %s" % qid},
           "hold ID --json: the documented object", r.stdout)
    r = queue_tool(A, "list", "--bogus")
    tap.eq(r.returncode, 64, "an unknown option is still a usage error")
    r = queue_tool(A, "list", "extra")
    tap.eq(r.returncode, 64, "so is an extra argument")
    r = queue_tool(A, "--", "list")
    tap.eq(r.returncode, 0, "-- ends the options")
    A.check_clean(tap)
finally:
    A.cleanup()

# --- delete while an agent delivers it --------------------------------
# The relay peer holds its reply to the first message's dot for 12 s, then
# refuses it (a bounce, were the message not deleted); bob's Maildir is a
# plain file, so his local deliveries fail for now and, every second
# (retry_interval), are tried again.
P = pombo.free_port()
peer = Peer("127.0.0.1", P, "mx.far.test",
            replies={"END": "550 5.7.1 refused after all"},
            end_delay=lambda n: 12 if n == 1 else 20 if n == 2 else 0)
B = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "retry_interval": "1s", "delay_warning": "0"},
                   name="pombo-qtool-del")
os.makedirs(os.path.join(B.mail, "example.test"))
open(os.path.join(B.mail, "example.test", "bob"), "w").close()
B.start()
try:
    qid = send(B, b"alice@example.test", [b"far@far.test",
                                          b"bob@example.test"],
               b"Subject: to delete\n\nhi")
    tap.ok(qid is not None, "the message is accepted")
    tap.ok(pombo.wait_for(lambda: peer.dots >= 1, 15),
           "its remote agent has sent it and waits for the reply",
           B.log()[-2000:])

    def bob_tries():
        return B.log().count("to=<bob@example.test>")
    tap.ok(pombo.wait_for(lambda: bob_tries() >= 2, 5),
           "bob is being tried again and again meanwhile", B.log()[-2000:])
    n0 = bob_tries()
    r = queue_tool(B, "delete", qid)
    tap.ok(r.returncode == 0 and
           "will be deleted when its current delivery ends" in r.stdout,
           "delete answers that it goes when its delivery ends, exit 0",
           "%d %r %r" % (r.returncode, r.stdout, r.stderr))
    tap.eq(listed(B).get(qid, {}).get("state"), "deleting",
           "list shows it as deleting")
    r = queue_tool(B, "delete", qid)
    tap.ok(r.returncode == 0 and "will be deleted" in r.stdout,
           "deleting it again says the same", r.stdout)
    r = queue_tool(B, "release", qid)
    tap.ok(r.returncode == 69 and "is being deleted" in r.stderr and
           "pombo-queue: 5" in r.stderr and r.stdout == "",
           "it cannot be released meanwhile (on stderr, with the code)",
           r.stdout + r.stderr)
    time.sleep(0.5)     # a local attempt under way at the delete ends
    n1 = bob_tries()
    r = queue_tool(B, "flush")
    tap.eq(r.returncode, 0, "a flush of the whole queue meanwhile succeeds")
    tap.ok(pombo.wait_for(lambda: "%s: deleted by the administrator, its "
                          "delivery over" % qid in B.log(), 25),
           "when the agent is done, it is removed and the log says so",
           B.log()[-3000:])
    tap.ok(pombo.wait_for(lambda: qid not in B.queue_files() and
                          not os.path.exists(os.path.join(B.spool, "state",
                                                          qid)), 5),
           "its queue and state files are gone")
    time.sleep(2.5)
    tap.ok(n1 <= n0 + 1 and bob_tries() == n1, "bob was not tried again "
           "after the delete, flush or not (but for an attempt under way)",
           "%d at the delete, %d just after, %d at the end" %
           (n0, n1, bob_tries()))
    tap.ok("%s: from=<alice@example.test>, to=<far@far.test>" % qid in
           B.log() and "status=bounced" in B.log(),
           "the agent's result stands and is logged", B.log()[-3000:])
    tap.ok("%s: sender non-delivery notification" % qid not in B.log() and
           not B.delivered("alice") and B.queue_files() == [],
           "no bounce for the deleted message", B.log()[-3000:])

    # deleted, then queued stops before the agent is done: held at start
    qid = send(B, b"alice@example.test", [b"far2@far.test"],
               b"Subject: to delete, then a restart\n\nhi")
    tap.ok(pombo.wait_for(lambda: peer.dots >= 2, 15),
           "a second message's agent waits for the reply")
    r = queue_tool(B, "delete", qid)
    tap.ok(r.returncode == 0 and "will be deleted" in r.stdout,
           "it is deleted while being delivered", r.stdout)
    B.stop()
    # queued down: the tool says why it cannot reach it
    r = queue_tool(B, "list")
    tap.ok(r.returncode == 75 and re.search(
        r"cannot reach queued at \S+: (No such file or directory|"
        r"Connection refused)", r.stderr),
        "with queued stopped: exit 75, and why", r.stderr)
    B.start()
    tap.eq(listed(B).get(qid, {}).get("state"), "held",
           "after a restart it is held, not delivered again")
    r = queue_tool(B, "delete", qid)
    tap.ok(r.returncode == 0 and "Deleted %s" % qid in r.stdout and
           qid not in B.queue_files(), "and is deleted at once",
           r.stdout + r.stderr)
    B.check_clean(tap)
finally:
    peer.stop()
    B.cleanup()

# --- list shows the notifications owed --------------------------------
P = pombo.free_port()
peer = Peer("127.0.0.1", P, "mx.far.test",
            replies={"RCPT": "550 5.1.1 unknown"}, greeting_delay=3)
C = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "retry_interval": "1h", "delay_warning": "0",
                    "min_free_space": "64k"}, name="pombo-qtool-owed")
os.makedirs(C.spool)
r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
                    C.spool], capture_output=True)
mounted = r.returncode == 0
if not mounted:
    tap.skip("owed notifications listed",
             "cannot mount tmpfs: " + r.stderr.decode().strip())
try:
    if mounted:
        C.start()
        # RET=FULL: the bounce is as big as the message, too big for
        # the room left, while a state file still fits
        body = b"Subject: will bounce\n\n" + (b"x" * 76 + b"\n") * 2700
        qid = send(C, b"alice@example.test", [b"nobody@far.test"], body,
                   b" RET=FULL")
        tap.ok(qid is not None, "a message is accepted")
        filler = os.path.join(C.spool, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        with open(filler, "r+b") as f:
            f.truncate(max(0, os.path.getsize(filler) - 96 * 1024))
        tap.ok(pombo.wait_for(lambda: "not queued" in C.log(), 15),
               "its bounce cannot be queued", C.log()[-2000:])
        r = queue_tool(C, "list")
        tap.ok(re.search(r"failed +<nobody@far.test>.*\n(?: .*\n)*? +"
                         r"notification owed: non-delivery\n", r.stdout),
               "list shows the non-delivery notification owed", r.stdout)
        got = listed(C).get(qid, {}).get("recipients", [{}])
        tap.eq([(x.get("state"), x.get("notification")) for x in got],
               [("failed", "non-delivery")],
               "and so does --json list")
        C.check_clean(tap)
finally:
    peer.stop()
    C.stop()
    if mounted:
        subprocess.run(["umount", C.spool])
    C.cleanup()
tap.done()

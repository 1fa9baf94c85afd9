"""policy_end_of_data = yes (issue 17): the policy servers are asked once
more at the end of each message, protocol_state END-OF-MESSAGE with the
queue id, the recipient count and the size; a refusal there drops the
message (the client gets the reply, nothing is queued), HOLD and DISCARD
work as at RCPT, a PREPEND comes too late and is logged; a server
that does not answer costs the message a 451 4.3.5 and leaves no file."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from fakepolicy import FakePolicy, SILENT  # noqa: E402

tap = pombo.Tap()
NET = {"TCPREMOTEIP": "192.0.2.7"}


def answer(attrs):
    if attrs["protocol_state"] != "END-OF-MESSAGE":
        return "DUNNO"
    return {"rej": "REJECT 5.7.9 content says no", "hold": "HOLD",
            "silent": SILENT,
            "discard": "DISCARD", "prepend": "PREPEND X-Late: yes"}.get(
                attrs["sender"].split("@")[0], "DUNNO")


def session(inst, sender):
    return inst.smtpd(b"EHLO c.test\nMAIL FROM:<%s@far.test>\n"
                      b"RCPT TO:<bob@example.test>\nRCPT TO:<alice@example"
                      b".test>\nDATA\nSubject: t\n\nbody\n.\nQUIT\n" %
                      sender.encode(), env=NET).decode()


def queued_as(out):
    m = re.search(r"250 2.0.0 Ok: queued as (\w+)", out)
    return m.group(1) if m else None


srv = FakePolicy(answer)
inst = pombo.Instance({"policy_services": srv.spec,
                       "policy_end_of_data": "yes",
                       "policy_timeout": "2s"}).start()
try:
    out = session(inst, "plain")
    qid = queued_as(out)
    eom = [r for r in srv.requests if r["protocol_state"] == "END-OF-MESSAGE"]
    tap.ok(qid is not None and len(srv.requests) == 3 and len(eom) == 1,
           "asked at each RCPT and once at the end of data", srv.requests)
    e = eom[0] if eom else {}
    size = len(inst.queue_file(qid).split(b"\ndata\n", 1)[1]) if qid else -1
    tap.ok(e.get("queue_id") == qid and e.get("recipient") == "" and
           e.get("recipient_count") == "2" and e.get("size") == str(size) and
           e.get("sender") == "plain@far.test",
           "END-OF-MESSAGE: queue id, no recipient, the count and the size",
           (e, qid, size))

    before = inst.queue_files()
    out = session(inst, "rej")
    tap.ok("554 5.7.9 <rej@far.test>: Data command rejected: content says no"
           in out and queued_as(out) is None and
           inst.queue_files() == before and inst.incoming_files() == [],
           "a refusal at the end of data: the reply, nothing queued", out)

    out = session(inst, "hold")
    qid = queued_as(out)
    r = subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                        inst.conf_path, "--json", "list"],
                       capture_output=True, text=True, env=inst.env(),
                       timeout=30)
    try:
        listed = {m["id"]: m for m in json.loads(r.stdout)}
    except ValueError:
        listed = {}
    tap.ok(qid in listed and listed[qid]["state"] == "held",
           "HOLD at the end of data: held", r.stdout)

    before = inst.queue_files()
    out = session(inst, "discard")
    tap.ok("250 2.0.0 Ok: queued as" in out and inst.queue_files() == before
           and "discarded by a policy server" in inst.log(),
           "DISCARD at the end of data: 250, nothing queued, logged", out)

    out = session(inst, "prepend")
    qid = queued_as(out)
    tap.ok(qid is not None and b"X-Late" not in inst.queue_file(qid) and
           "PREPEND at the end of data ignored" in inst.log(),
           "a PREPEND at the end of data is logged, not applied", out)
    before = inst.queue_files()
    out = session(inst, "silent")
    tap.ok("451 4.3.5 Server configuration problem" in out and
           inst.queue_files() == before and inst.incoming_files() == [],
           "no answer at the end of data: 451 4.3.5, the file gone", out)
    inst.check_clean(tap)
finally:
    srv.stop()
    inst.cleanup()
tap.done()

"""Policy delegation (issue 17): queued asks the servers of
policy_services at each RCPT of a network client, with the attributes of
Postfix's protocol, over one connection it keeps; every action does what
Postfix does: OK, DUNNO, REJECT (554 5.7.1), DEFER (450 4.7.1),
DEFER_IF_PERMIT, "4xx/5xx text" (an enhanced code added when missing),
PREPEND (the field on top of the message, above smtpd's Received:), HOLD
(held in the queue), DISCARD (250, nothing queued, logged), FILTER taken
as DUNNO; several servers are asked in order (inet: and unix:). Local
mail is not asked."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from fakepolicy import FakePolicy  # noqa: E402

tap = pombo.Tap()
NET = {"TCPREMOTEIP": "192.0.2.7"}

ACTIONS = {
    "ok": "OK", "dunno": "DUNNO", "reject": "REJECT go away",
    "rejectbare": "REJECT", "defer": "DEFER try later",
    "code": "550 5.7.23 custom words", "nodsn": "452 slow down",
    "dip": "DEFER_IF_PERMIT greylisted", "prepend": "PREPEND X-Policy: seen",
    "hold": "HOLD", "discard": "DISCARD", "filter": "FILTER smtp:[::1]:25",
    "bogus": "FROBNICATE",
}


def first(attrs):
    return ACTIONS.get(attrs["recipient"].split("@")[0].split("+")[0],
                       "DUNNO")


def second(attrs):
    local = attrs["recipient"].split("@")[0]
    return {"dunno+rej": "REJECT second says no",
            "dip+rej": "REJECT second says no",
            "dip+ok": "OK", "prepend+ok": "PREPEND X-Second: too"}.get(
                local, "DUNNO")


def session(inst, rcpts, env=NET, body=b"Subject: t\n\nbody\n"):
    cmds = b"EHLO c.test\nMAIL FROM:<x@far.test> SIZE=100\n"
    for r in rcpts:
        cmds += b"RCPT TO:<%s@example.test>\n" % r.encode()
    cmds += b"DATA\n" + body + b".\nQUIT\n"
    return inst.smtpd(cmds, env=env).decode()


def replies(out):
    return [l for l in out.split("\r\n") if l]


def queued_as(out):
    m = re.search(r"250 2.0.0 Ok: queued as (\w+)", out)
    return m.group(1) if m else None


def queue_tool(inst, *args):
    return subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                           inst.conf_path] + list(args), capture_output=True,
                          text=True, env=inst.env(), timeout=30)


p1 = FakePolicy(first)
# the second on a Unix socket, in a folder of its own
sockdir = tempfile.mkdtemp(prefix="pombo-policy-")
p2 = FakePolicy(second, os.path.join(sockdir, "policy.sock"))
inst = pombo.Instance({"policy_services": "%s, %s" % (p1.spec, p2.spec),
                       "policy_timeout": "5s"},
                      users=["%s@example.test" % u for u in ACTIONS]).start()
try:
    out = session(inst, ["ok"])
    qid = queued_as(out)
    tap.ok(qid is not None and "250 2.1.5" in out, "OK: accepted", out)
    req = p1.requests[0] if p1.requests else {}
    want = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
            "protocol_name": "ESMTP", "helo_name": "c.test",
            "sender": "x@far.test", "recipient": "ok@example.test",
            "client_address": "192.0.2.7", "recipient_count": "0",
            "size": "100", "queue_id": "", "client_name": "unknown"}
    tap.ok(all(req.get(k) == v for k, v in want.items()) and
           "instance" in req and "encryption_protocol" in req,
           "the request has Postfix's attributes", req)
    tap.eq(len(p2.requests), 0, "an OK asks no further server")

    for who, want in [
            ("reject", "554 5.7.1 <reject@example.test>: Recipient address "
             "rejected: go away"),
            ("rejectbare", "554 5.7.1 <rejectbare@example.test>: Recipient "
             "address rejected: Access denied"),
            ("defer", "450 4.7.1 <defer@example.test>: Recipient address "
             "rejected: try later"),
            ("code", "550 5.7.23 custom words"),
            ("nodsn", "452 4.7.1 slow down"),
            ("dip", "450 4.7.1 <dip@example.test>: Recipient address "
             "rejected: greylisted"),
            ("bogus", "451 4.3.5 Server configuration error"),
            ("dunno+rej", "554 5.7.1 <dunno+rej@example.test>: Recipient "
             "address rejected: second says no"),
            ("dip+rej", "554 5.7.1 <dip+rej@example.test>: Recipient address "
             "rejected: second says no"),
            ("dip+ok", "450 4.7.1 <dip+ok@example.test>: Recipient address "
             "rejected: greylisted")]:
        out = session(inst, [who])
        tap.ok(want in replies(out) and queued_as(out) is None,
               "%s: %s" % (ACTIONS.get(who, who), want), out)
    tap.ok("bad action \"FROBNICATE\"" in inst.log(),
           "an unknown action is logged", inst.log()[-1500:])

    out = session(inst, ["dunno"])
    tap.ok(queued_as(out) is not None and p2.requests and
           p2.requests[-1]["recipient"] == "dunno@example.test",
           "DUNNO asks the next server, none refusing accepts", out)
    out = session(inst, ["filter"])
    tap.ok(queued_as(out) is not None and
           "action FILTER is not supported, taken as DUNNO" in inst.log(),
           "FILTER is logged and taken as DUNNO", out)

    # one refused recipient of two: the other still gets the message
    n = len(p1.requests)
    out = session(inst, ["reject", "ok"])
    inst_ids = [r["instance"] for r in p1.requests[n - 1:]]
    tap.ok(len(inst_ids) == 3 and inst_ids[1] == inst_ids[2] and
           inst_ids[0] != inst_ids[1], "instance: one per transaction, "
           "another in the next session", inst_ids)
    qid = queued_as(out)
    tap.ok(qid is not None and b"rcpt <ok@example.test>" in
           inst.queue_file(qid) and b"reject@" not in inst.queue_file(qid),
           "a refused recipient is left out, the others kept", out)

    out = session(inst, ["prepend+ok"])
    qid = queued_as(out)
    data = inst.queue_file(qid).split(b"\ndata\n", 1)[1] if qid else b""
    tap.ok(data.startswith(b"X-Policy: seen\nX-Second: too\nReceived: "),
           "PREPEND: the fields on top, in order, above smtpd's Received:",
           data[:200])
    env = inst.queue_file(qid).split(b"\ndata\n", 1)[0] if qid else b""
    m = re.search(rb"length (\d+)", env)
    tap.ok(m is not None and int(m.group(1)) == len(data),
           "the queue file's length counts them", env)
    ok, diag = inst.sum_matches(qid) if qid else (False, out)
    tap.ok(ok, "and so does its sum (CRC-32C)", diag)

    out = session(inst, ["hold"])
    qid = queued_as(out)
    r = queue_tool(inst, "--json", "list")
    try:
        listed = {m["id"]: m for m in json.loads(r.stdout)}
    except ValueError:
        listed = {}
    tap.ok(qid in listed and listed[qid]["state"] == "held",
           "HOLD: queued, and pombo-queue list shows it held", r.stdout)
    tap.eq(p1.connections, 1, "one connection to a server, kept for every "
           "request (%d requests)" % len(p1.requests))
    inst.stop()
    inst.start()
    r = queue_tool(inst, "--json", "list")
    try:
        listed = {m["id"]: m for m in json.loads(r.stdout)}
    except ValueError:
        listed = {}
    tap.ok(qid in listed and listed[qid]["state"] == "held",
           "the hold is recorded: still held after a restart", r.stdout)

    before = inst.queue_files()
    out = session(inst, ["discard"])
    m = re.search(r"250 2.0.0 Ok: queued as (\w+)", out)
    tap.ok(m is not None and inst.queue_files() == before and
           inst.incoming_files() == [],
           "DISCARD: the client gets 250, nothing is queued", out)
    tap.ok(m is not None and "%s: from=<x@far.test>" % m.group(1) in
           inst.log() and "discarded by a policy server" in inst.log(),
           "and the log says so", inst.log()[-1000:])

    # the queue protocol pipelined, as smtpd never does: each RCPT waits
    # for its answer, nothing more is read meanwhile, replies in order
    import socket
    body = b"Subject: p\n\npiped\n"
    q = socket.socket(socket.AF_UNIX)
    q.settimeout(20)
    q.connect(inst.sock)
    q.sendall(b"POMBO 1\nHELO ESMTP 192.0.2.7 c.test\nMAIL <x@far.test>\n"
              b"RCPT <reject@example.test>\nRCPT <ok@example.test>\n"
              b"RCPT <dip@example.test>\nDATA\n%d\n%s0\nQUIT\n" %
              (len(body), body))
    got = b""
    while b"221 " not in got:
        d = q.recv(65536)
        if not d:
            break
        got += d
    q.close()
    codes = [l[:3] for l in got.decode().splitlines()]
    tap.eq(codes, ["250", "250", "250", "554", "250", "450", "354", "250",
                   "221"], "pipelined RCPTs: each answered in turn")

    n = len(p1.requests)
    out = session(inst, ["reject"], env={"TCPREMOTEIP": ""})
    tap.ok(queued_as(out) is not None and len(p1.requests) == n,
           "local mail is not asked about", out)
    inst.check_clean(tap)
finally:
    p1.stop()
    p2.stop()
    inst.cleanup()
    shutil.rmtree(sockdir, ignore_errors=True)
tap.done()

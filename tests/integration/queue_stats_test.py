"""pombo-queue stats, --json stats and --prometheus stats with real mail:
messages deferred at a relayhost where nothing listens (found dead, the
later ones deferred without a try), one of them held, local deliveries
done, a bounce (a mail loop: the message already went through
Delivered-To: carol) and its notice delivered. The numbers are asserted,
and the deliveries, bounces and deferrals of the last hour match the log
lines of each; the Prometheus text parses with python3-prometheus-client
and every line fits a strict pattern of the exposition format; after a
restart the counters are zero again (as pombo-queue(8) says) and the
queue's numbers the same."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()


def queue_tool(inst, *args):
    return subprocess.run([pombo.prog("queued/pombo-queue")] + list(args),
                          capture_output=True, text=True, env=inst.env(),
                          timeout=30)


def send(inst, rcpts, body=b"Subject: hi\n\nhi", sender=b"alice@example.test"):
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<" + sender + b">\n" +
                     b"".join(b"RCPT TO:<" + r + b">\n" for r in rcpts) +
                     b"DATA\n" + body + b"\n.\nQUIT\n")
    m = re.search(rb"queued as (\w+)", out)
    return m.group(1).decode() if m else None


def stats_json(inst):
    r = queue_tool(inst, "stats", "--json")
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stdout + r.stderr}


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9]+(?:\.[0-9]+)?"
                    r"(?:[eE][+-]?[0-9]+)?)$" % (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP (%s) \S.*$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (gauge|counter|untyped)$" % NAME)


def strict_exposition(text):
    """Problems with text as Prometheus's text format (version 0.0.4)
    for node_exporter's textfile collector: every line a HELP, TYPE or
    sample line, HELP then TYPE before a family's samples, each family
    once and its samples together, no timestamps, a final newline."""
    bad = []
    if not text.endswith("\n"):
        bad.append("no final newline")
    seen, current, typed = set(), None, set()
    for line in text.splitlines():
        m = HELP.match(line)
        if m:
            if m.group(1) in seen:
                bad.append("family twice: " + line)
            seen.add(m.group(1))
            current = m.group(1)
            continue
        m = TYPE.match(line)
        if m:
            if m.group(1) != current:
                bad.append("TYPE without its HELP: " + line)
            typed.add(m.group(1))
            continue
        m = SAMPLE.match(line)
        if not m:
            bad.append("not a sample line: " + line)
        elif m.group(1) != current or m.group(1) not in typed:
            bad.append("sample outside its family: " + line)
    return bad


closed = pombo.free_port()
inst = pombo.Instance({"hold_deliveries": "no",
                       "relayhost": "[127.0.0.1]:%d" % closed,
                       "retry_interval": "1h", "delay_warning": "0"},
                      name="pombo-stats")
inst.start()
try:
    s = stats_json(inst)
    tap.ok(s.get("messages") == 0 and s.get("oldest_age") == 0 and
           s.get("destinations") == [] and s.get("last_hour") ==
           {"delivered": 0, "bounced": 0, "deferred": 0},
           "an empty queue: all zero", s)
    t0 = time.time()
    m1 = send(inst, [b"u1@far.test", b"u1b@FAR.test"])
    tap.ok(pombo.wait_for(lambda: "no server answered" in inst.log(), 20),
           "the relayhost is found dead", inst.log()[-2000:])
    m2 = send(inst, [b"u2@other.test"])
    m3 = send(inst, [b"u3@far.test"])
    tap.ok(pombo.wait_for(lambda: stats_json(inst).get("deferred") == 3,
                          10), "three messages deferred", stats_json(inst))
    r = queue_tool(inst, "hold", m3)
    tap.eq(r.returncode, 0, "one of them held")
    m4 = send(inst, [b"bob@example.test"])
    m5 = send(inst, [b"bob@example.test"])
    m6 = send(inst, [b"carol@example.test"],
              b"Delivered-To: carol@example.test\nSubject: loop\n\nhi")
    tap.ok(all((m1, m2, m3, m4, m5, m6)), "six messages accepted")
    tap.ok(pombo.wait_for(lambda: len(inst.delivered("bob")) == 2 and
                          len(inst.delivered("alice")) == 1 and
                          inst.queue_files() == sorted([m1, m2, m3]), 20),
           "bob got two, carol's bounced and alice got its notice",
           inst.log()[-3000:])
    log = inst.log()
    sent = log.count("status=sent")
    bounced = log.count("status=bounced") + log.count("status=expired")
    deferred = log.count("status=deferred")
    tap.ok(sent == 3 and bounced == 1 and 1 <= deferred <= 3,
           "the log: 3 sent, 1 bounced, 1 to 3 deferred (the rest deferred "
           "without a try)", (sent, bounced, deferred))

    s = stats_json(inst)
    age = time.time() - t0
    tap.eq({k: s.get(k) for k in ("messages", "active", "deferred", "held",
                                  "waiting")},
           {"messages": 3, "active": 0, "deferred": 2, "held": 1,
            "waiting": 0}, "--json stats: 3 messages, 2 deferred, 1 held")
    tap.eq(s.get("last_hour"), {"delivered": 3, "bounced": 1,
                                "deferred": deferred},
           "deliveries, bounces and deferrals of the last hour, as logged")
    tap.eq(s.get("destinations"),
           [{"domain": "far.test", "messages": 2, "recipients": 3},
            {"domain": "other.test", "messages": 1, "recipients": 1}],
           "per destination: far.test (any case) 3 recipients in 2 "
           "messages, other.test 1")
    tap.ok(isinstance(s.get("oldest_age"), int) and
           age - 2 <= s["oldest_age"] <= age + 1,
           "the oldest message's age", (s.get("oldest_age"), age))
    tap.ok(isinstance(s.get("counted_since"), int) and
           t0 - 60 <= s["counted_since"] <= t0, "counted since queued's "
           "start", s.get("counted_since"))

    r = queue_tool(inst, "stats")
    tap.ok(r.returncode == 0 and
           re.search(r"(?m)^messages +3$", r.stdout) and
           re.search(r"(?m)^  held +1$", r.stdout) and
           re.search(r"(?m)^  delivered +3$", r.stdout) and
           re.search(r"(?m)^  bounced +1$", r.stdout) and
           re.search(r"(?m)^  far\.test +3 in 2 messages$", r.stdout),
           "stats as text", r.stdout + r.stderr)
    r = queue_tool(inst, "--json", "stats")
    tap.ok(r.returncode == 0 and json.loads(r.stdout) ==
           dict(stats_json(inst), oldest_age=json.loads(r.stdout)
                ["oldest_age"]), "--json before the command too", r.stdout)

    r = queue_tool(inst, "stats", "--prometheus")
    text = r.stdout
    tap.eq(r.returncode, 0, "--prometheus stats exits 0")
    bad = strict_exposition(text)
    tap.ok(not bad, "every line fits the exposition format",
           "\n".join(bad) + "\n" + text)
    try:
        from prometheus_client.parser import text_string_to_metric_families
        got = {}
        for fam in text_string_to_metric_families(text):
            for smp in fam.samples:
                got[(smp.name, tuple(sorted(smp.labels.items())))] = \
                    smp.value
        parsed = True
    except ImportError:
        tap.skip("prometheus_client parses it",
                 "python3-prometheus-client missing")
        parsed = False
    except ValueError as e:
        tap.ok(False, "prometheus_client parses it", "%s\n%s" % (e, text))
        parsed = False
    if parsed:
        def v(name, **labels):
            return got.get((name, tuple(sorted(labels.items()))))
        tap.eq([v("pombo_queue_messages", state=st) for st in
                ("active", "deferred", "held", "waiting")],
               [0, 2, 1, 0], "prometheus_client parses it: messages by "
               "state")
        tap.eq([v("pombo_queue_recipients_last_hour", outcome=o) for o in
                ("delivered", "bounced", "deferred")],
               [3, 1, deferred], "recipients of the last hour by outcome")
        tap.eq([v("pombo_queue_destination_messages", domain=d) for d in
                ("far.test", "other.test")] +
               [v("pombo_queue_destination_recipients", domain=d) for d in
                ("far.test", "other.test")], [2, 1, 3, 1],
               "messages and recipients by destination")
        # an age of 0 is an age (a message of this very second)
        age_p = v("pombo_queue_oldest_message_age_seconds")
        tap.ok(age_p is not None and age_p >= 0 and
               v("pombo_queue_counters_start_time_seconds") ==
               s.get("counted_since"), "oldest age and counting start",
               (age_p, v("pombo_queue_counters_start_time_seconds"),
                s.get("counted_since")))
    r = queue_tool(inst, "list", "--prometheus")
    tap.eq(r.returncode, 64, "--prometheus is for stats only")

    # the counters live in queued's memory: a restart begins at zero
    inst.stop()
    inst.start()
    s = stats_json(inst)
    tap.eq((s.get("messages"), s.get("held"), s.get("last_hour")),
           (3, 1, {"delivered": 0, "bounced": 0, "deferred": 0}),
           "after a restart: the same queue, the counters at zero")
    inst.check_clean(tap)
finally:
    inst.cleanup()
tap.done()

"""pombo-sendmail takes what Postfix's sendmail(1) takes: -bi/-I and the
name newaliases check the aliases file (-oA another one), -bv and -bt say
what becomes of addresses without sending, -bd says whether queued runs,
-bh/-bH and -q<interval> do nothing, -qI<id> and -qR<site> flush, -O, -o,
-A, -e, -h, -p, -L, -G, -c, -x and -n are taken and ignored, a letter's
value may be in the next word, -XV and -qS are refused, and the modes
that take no recipients refuse them."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
SM = pombo.prog("queued/pombo-sendmail")
inst = pombo.Instance({"hold_deliveries": "no"}).start()


def sm(args, data=b"", prog=SM):
    return subprocess.run([prog, "-C", inst.conf_path] + args, input=data,
                          capture_output=True, timeout=30)


def aliases(text):
    with open(os.path.join(inst.dir, "aliases"), "w") as f:
        f.write(text)
    time.sleep(1.1)     # queued looks at the file's time once a second


def out(r):
    return r.stdout.decode(errors="replace")


try:
    aliases("root: carol@example.test\nteam: bob, dave@example.test\n")

    # newaliases: three ways in, one check of the file queued reads
    for args, prog, what in ((["-bi"], SM, "-bi"), (["-I"], SM, "-I")):
        r = sm(args, prog=prog)
        tap.ok(r.returncode == 0, what + ": exit 0", r.stderr)
        tap.ok("aliases: 2 aliases;" in out(r),
               what + ": says what the aliases file has", out(r))
    link = os.path.join(inst.dir, "newaliases")
    os.symlink(SM, link)
    r = sm([], prog=link)
    tap.ok(r.returncode == 0 and "aliases: 2 aliases;" in out(r),
           "the name newaliases does -bi", out(r) + r.stderr.decode())
    bad = os.path.join(inst.dir, "bad-aliases")
    with open(bad, "w") as f:
        f.write("ok: bob\nlog: /var/log/x\n")
    r = sm(["-bi", "-oA" + bad])
    tap.eq(r.returncode, 65, "-oA: another file; a bad one is EX_DATAERR")
    tap.ok(b"bad-aliases:2" in r.stderr, "with its file and line",
           r.stderr)
    r = sm(["-bi", "bob@example.test"])
    tap.eq(r.returncode, 64, "-bi with a recipient: EX_USAGE")

    # -bv: per recipient, what queued would do; nothing is sent
    n_bob, n_carol = len(inst.delivered("bob")), len(inst.delivered("carol"))
    r = sm(["-bv", "bob@example.test", "root", "team@example.test",
            "someone@example.net"])
    tap.ok(r.returncode == 0, "-bv, all deliverable: exit 0", r.stderr)
    lines = out(r).splitlines()
    tap.ok(len(lines) == 4, "one line per recipient", lines)
    tap.ok("bob@example.test: deliverable: <bob@example.test>" in lines,
           "a user", lines)
    tap.ok("root@mx.test: deliverable: <carol@example.test>" in lines,
           "root alone is root of the hostname, through its alias", lines)
    tap.ok(any(l.startswith("team@example.test: deliverable: ") and
               "<bob@example.test>" in l and "<dave@example.test>" in l
               for l in lines), "an alias: the mailboxes it reaches", lines)
    tap.ok(any(l.startswith("someone@example.net: deliverable: not a local")
               for l in lines), "another domain: relayed", lines)
    r = sm(["-bv", "nobody@example.test,bob@example.test"])
    tap.eq(r.returncode, 67, "-bv with an unknown user: EX_NOUSER")
    tap.ok("nobody@example.test: undeliverable: 550 5.1.1" in out(r) and
           "bob@example.test: deliverable" in out(r),
           "a comma list; the unknown one is said", out(r))
    r = sm(["-bv", "a b@@x"])
    tap.eq(r.returncode, 67, "-bv, not an address: EX_NOUSER")
    r = sm(["-bv"])
    tap.eq(r.returncode, 64, "-bv without recipients: EX_USAGE")
    r = sm(["-bv", "-t", "bob@example.test"])
    tap.eq(r.returncode, 64, "-bv -t: EX_USAGE (as Postfix)")
    time.sleep(0.5)
    tap.ok(len(inst.delivered("bob")) == n_bob and
           len(inst.delivered("carol")) == n_carol, "-bv sent nothing")

    # an alias whose expansion is longer than any reply buffer (4 KB):
    # every member said, on one line, none cut off
    many = ["member%03d@far-away-domain.example.net" % i for i in range(300)]
    aliases("root: carol@example.test\nteam: bob, dave@example.test\n"
            "crowd: " + ",\n  ".join(", ".join(many[i:i + 10])
                                     for i in range(0, 300, 10)) + "\n")
    r = sm(["-bv", "crowd@example.test", "bob@example.test"])
    lines = out(r).splitlines()
    tap.ok(r.returncode == 0 and len(lines) == 2 and
           lines[0].startswith("crowd@example.test: deliverable: <member000@")
           and lines[0].count("@far-away-domain") == 300 and
           lines[0].endswith("<member299@far-away-domain.example.net>"),
           "-bv of an alias of 300 (13 KB): all 300 on its line",
           out(r)[:300] + " ... " + out(r)[-200:])
    tap.ok(len(lines) == 2 and lines[1] == "bob@example.test: deliverable: "
           "<bob@example.test>", "and the next address after it", lines[1:])
    aliases("root: carol@example.test\nteam: bob, dave@example.test\n")

    # queued answers VRFY and EXPN as the admin set them (both off here),
    # except to root and its own user: a local user learns no alias's
    # members on the queue socket, where smtpd would say 502
    import pwd
    nobody = pwd.getpwnam("nobody")
    os.chmod(inst.dir, 0o755)
    script = ("import socket,sys\nc=socket.socket(socket.AF_UNIX)\n"
              "c.connect(sys.argv[1])\nf=c.makefile('rwb')\n"
              "f.write(b'POMBO 1\\nEXPN <team@example.test>\\n"
              "VRFY <bob@example.test>\\nQUIT\\n')\nf.flush()\n"
              "print(f.read().decode())\n")
    r = subprocess.run(["/usr/bin/python3", "-c", script, inst.sock],
                       capture_output=True, text=True, timeout=30,
                       user=nobody.pw_uid, group=nobody.pw_gid)
    tap.ok("502 5.5.1 EXPN not available" in r.stdout and
           "252 2.5.2" in r.stdout and "dave@" not in r.stdout,
           "a local user's EXPN and VRFY on the queue socket: 502 and 252 "
           "(enable_expn, enable_vrfy off)", r.stdout + r.stderr)
    r = subprocess.run([SM, "-C", inst.conf_path, "-bv", "team@example.test"],
                       capture_output=True, timeout=30,
                       user=nobody.pw_uid, group=nobody.pw_gid)
    tap.ok(r.returncode == 75 and b"unknown for now: 502" in r.stdout,
           "-bv by a local user then: cannot say (EX_TEMPFAIL)",
           r.stdout + r.stderr)

    # -bt: the same for addresses on stdin; Sendmail's "3,0 addr" too
    r = sm(["-bt"], b"bob@example.test\n\n# a comment\n3,0 root\n"
                    b"/tryflags HS\nnobody@example.test\n")
    lines = out(r).splitlines()
    tap.eq(r.returncode, 67, "-bt with an unknown one: EX_NOUSER")
    tap.ok(len(lines) == 4, "one line per address or command", lines)
    tap.ok(len(lines) == 4 and
           lines[0] == "bob@example.test: deliverable: <bob@example.test>"
           and lines[1] == "root@mx.test: deliverable: "
           "<carol@example.test>" and "not supported" in lines[2] and
           lines[3].startswith("nobody@example.test: undeliverable"),
           "in order, the ruleset skipped", lines)
    r = sm(["-bt"], b"bob@example.test\n")
    tap.eq(r.returncode, 0, "-bt, all deliverable: exit 0")
    r = sm(["-bt"], b"x" * 5000 + b"\nbob@example.test\n")
    tap.ok(r.returncode == 67 and "too long" in out(r) and
           "bob@example.test: deliverable" in out(r),
           "a line too long is refused, the next one read", out(r))

    # -bd/-bl: queued runs from systemd; say whether it is there
    for flag in ("-bd", "-bl"):
        r = sm([flag])
        tap.ok(r.returncode == 0 and "queued is running" in out(r),
               flag + ": queued is running, exit 0", out(r))
    for flag in ("-bh", "-bH", "-q30m", "-q1h"):
        r = sm([flag])
        tap.ok(r.returncode == 0 and r.stdout == b"",
               flag + ": accepted, nothing to do", r.stderr)

    # the options Postfix takes and ignores, alone and with their value
    # in the next word (which must not become a recipient)
    n = len(inst.delivered("bob"))
    r = sm(["-O", "DeliveryMode=b", "-OErrorMode=m", "-o", "m", "-o7",
            "-o8", "-oem", "-odi", "-Am", "-Ac", "-e", "m", "-h", "20",
            "-p", "local", "-L", "cron", "-Lcron", "-G", "-c", "-x", "-n",
            "-U", "-m", "-B", "8BITMIME", "-oi", "bob@example.test"],
           b"Subject: opts\n\n.\nafter\n")
    tap.ok(r.returncode == 0, "ignored options: exit 0", r.stderr)
    tap.ok(pombo.wait_for(lambda: len(inst.delivered("bob")) == n + 1, 5)
           and inst.delivered("bob")[-1].endswith(b"\n.\nafter\n"),
           "sent to bob alone, -oi kept its meaning")
    for v in ("DeliveryMode=b", "m", "20", "local", "cron"):
        tap.ok(os.path.isdir(os.path.join(inst.mail, "mx.test", v)) is False
               and not inst.delivered(v), "%r was no recipient" % v)
    # a letter's value in the same word after grouped flags
    n = len(inst.delivered("bob"))
    r = sm(["-tif", "alice@example.test"],
           b"To: bob@example.test\nSubject: g\n\n.\nx\n")
    tap.ok(r.returncode == 0, "-tif sender: grouped, f takes the next word",
           r.stderr)
    tap.ok(pombo.wait_for(lambda: len(inst.delivered("bob")) == n + 1, 5)
           and b"Return-Path: <alice@example.test>" in
           inst.delivered("bob")[-1], "alice is the sender")

    r = sm(["-XV", "owner-list@example.test", "bob@example.test"], b"x\n")
    tap.ok(r.returncode == 64 and b"VERP" in r.stderr,
           "-XV (VERP) is refused, not ignored", r.stderr)
    r = sm(["-qSexample.net"])
    tap.eq(r.returncode, 64, "-qS: EX_USAGE, as Postfix")
    r = sm(["-bz"])
    tap.ok(r.returncode == 64 and b"-bz" in r.stderr, "-bz: EX_USAGE",
           r.stderr)
    r = sm(["-L"])
    tap.ok(r.returncode == 64 and b"-L needs a value" in r.stderr,
           "a value missing at the end: EX_USAGE", r.stderr)
    r = sm(["-bp", "bob@example.test"])
    tap.eq(r.returncode, 64, "-bp with a recipient: EX_USAGE")
    r = sm(["-bs", "-t"])
    tap.eq(r.returncode, 64, "-t outside delivery mode: EX_USAGE")

    # -qI<id> flushes one message, -qR<site> the queue (which has its mail)
    hold = pombo.Instance({"hold_deliveries": "yes"}, name="pombo-hold")
    hold.start()
    try:
        subprocess.run([SM, "-C", hold.conf_path, "bob@example.test"],
                       input=b"Subject: held\n\nx\n", timeout=30)
        qid = hold.queue_files()[0] if hold.queue_files() else "none"
        r = subprocess.run([SM, "-C", hold.conf_path, "-qI" + qid],
                           capture_output=True, text=True, timeout=30)
        tap.ok(r.returncode == 0 and "Flushed " + qid in r.stdout,
               "-qI<id> flushes that message", r.stdout + r.stderr)
        r = subprocess.run([SM, "-C", hold.conf_path, "-qIZZZZ"],
                           capture_output=True, text=True, timeout=30)
        tap.ok(r.returncode != 0, "-qI with no such id fails", r.stdout)
        r = subprocess.run([SM, "-C", hold.conf_path, "-qRexample.test"],
                           capture_output=True, text=True, timeout=30)
        tap.ok(r.returncode == 0 and "Flushed the queue" in r.stdout,
               "-qR<site> flushes the queue", r.stdout + r.stderr)
        hold.stop()
        r = subprocess.run([SM, "-C", hold.conf_path, "-bd"],
                           capture_output=True, text=True, timeout=30)
        tap.ok(r.returncode == 69 and "systemctl" in r.stderr,
               "-bd with queued down: EX_UNAVAILABLE, says how to start it",
               r.stderr)
        r = subprocess.run([SM, "-C", hold.conf_path, "-bv",
                            "bob@example.test"],
                           capture_output=True, text=True, timeout=30)
        tap.eq(r.returncode, 75, "-bv with queued down: EX_TEMPFAIL")
    finally:
        hold.cleanup()
finally:
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

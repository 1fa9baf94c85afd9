"""pombo-sendmail as local programs call /usr/sbin/sendmail: a message on
stdin to arguments or -t recipients (Bcc removed), Date/Message-ID/From
added when missing, -f/-F, the lone-dot rule and -i, the habitual no-op
options, unknown options refused with EX_USAGE, -bs, -bp (and the name
mailq), -q, and exit codes from sysexits.h."""
import email
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
SM = pombo.prog("queued/pombo-sendmail")
inst = pombo.Instance({"hold_deliveries": "no"}).start()


def sendmail(args, data=b"", env=None, use_conf=True):
    e = dict(os.environ)
    e.update(env or {})
    argv = [SM] + (["-C", inst.conf_path] if use_conf else []) + args
    return subprocess.run(argv, input=data, capture_output=True, env=e,
                          timeout=30)


def mailbox(user):
    return inst.delivered(user)


try:
    r = sendmail(["bob@example.test"], b"Subject: plain\n\nhello\n")
    tap.eq(r.returncode, 0, "a plain message: exit 0")
    tap.ok(pombo.wait_for(lambda: mailbox("bob"), 5), "delivered")
    if mailbox("bob"):
        m = email.message_from_bytes(mailbox("bob")[0])
        tap.ok(m["Date"] is not None, "Date: added")
        tap.ok(m["Message-ID"] is not None and m["Message-ID"].endswith(
            "@mx.test>"), "Message-ID: added", m["Message-ID"])
        tap.ok(m["From"] is not None and "@mx.test>" in m["From"],
               "From: added with the user's address", m["From"])
        tap.ok(m["Received"] is not None and "Pombo sendmail, uid" in
               m["Received"], "a Received: line says who", m["Received"])
        tap.eq(m.get_payload(), "hello\n", "the body")

    r = sendmail(["-t", "-i", "-oi", "-oem", "-odi", "-U", "-f",
                  "alice@example.test", "-F", "Alice A"],
                 b"To: Bob <bob@example.test>\nCc: carol@example.test\n"
                 b"Bcc: dave@example.test\nSubject: t\n\n.\nbody after dot\n")
    tap.eq(r.returncode, 0, "-t -i and the habitual no-ops: exit 0",)
    tap.ok(pombo.wait_for(lambda: len(mailbox("bob")) == 2 and
                          mailbox("carol") and mailbox("dave"), 5),
           "To, Cc and Bcc recipients all got it")
    if mailbox("dave"):
        d = mailbox("dave")[0]
        tap.ok(b"Bcc:" not in d, "Bcc: removed")
        tap.ok(b"\n.\nbody after dot\n" in d, "-i: a lone dot is content")
        tap.ok(b"Return-Path: <alice@example.test>" in d, "-f: the sender")
        tap.ok(b'From: "Alice A" <alice@example.test>' in d,
               "-F: the full name", d[:400])

    r = sendmail(["carol@example.test"], b"Subject: dots\n\nbefore\n.\n"
                 b"never read\n")
    tap.eq(r.returncode, 0, "without -i")
    tap.ok(pombo.wait_for(lambda: len(mailbox("carol")) == 2, 5), "sent")
    if len(mailbox("carol")) == 2:
        tap.ok(mailbox("carol")[1].endswith(b"before\n") and
               b"never read" not in mailbox("carol")[1],
               "a lone dot ends the input")

    # "echo text | sendmail user": no header; the text stays the body
    r = sendmail(["dave@example.test"], b"just text\nTo: not a field\n")
    tap.eq(r.returncode, 0, "a message without a header")
    tap.ok(pombo.wait_for(lambda: len(mailbox("dave")) == 2, 5), "sent")
    if len(mailbox("dave")) == 2:
        # an empty line, not a lenient reader, must end the header
        tap.ok(mailbox("dave")[1].endswith(b"\n\njust text\n"
                                           b"To: not a field\n"),
               "its text is the body, after the completed header",
               mailbox("dave")[1])

    # cron: "sendmail -FCronDaemon -i -B8BITMIME -oem root" and a
    # "To: root" header; a user name alone is a user of this host
    with open(os.path.join(inst.dir, "aliases"), "w") as f:
        f.write("root: carol@example.test\n")
    time.sleep(1.1)     # queued rereads the aliases when they change
    n = len(mailbox("carol"))
    r = sendmail(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
                 b"From: root (Cron Daemon)\nTo: root\nSubject: Cron\n\n"
                 b"output\n")
    tap.ok(r.returncode == 0, "cron's call, to root alone", r.stderr)
    r = sendmail(["-t", "-f", "root"], b"To: root\nSubject: t\n\nx\n")
    tap.ok(r.returncode == 0, "-t with To: root, and -f root", r.stderr)
    tap.ok(pombo.wait_for(lambda: len(mailbox("carol")) == n + 2, 5),
           "both reach root's alias")
    if len(mailbox("carol")) == n + 2:
        tap.ok(b"Return-Path: <root@mx.test>" in mailbox("carol")[-1] or
               b"Return-Path: <root@mx.test>" in mailbox("carol")[-2],
               "-f root is root of the host name")

    # -f with angle brackets, as some scripts quote it (Postfix takes it)
    n = len(mailbox("dave"))
    r = sendmail(["-f", "<alice@example.test>", "dave@example.test"],
                 b"Subject: brackets\n\nx\n")
    tap.ok(r.returncode == 0, "-f <alice@example.test> is taken", r.stderr)
    tap.ok(pombo.wait_for(lambda: len(mailbox("dave")) == n + 1, 5) and
           b"Return-Path: <alice@example.test>" in mailbox("dave")[-1],
           "with alice as the sender")

    # flags grouped the getopt way, as scripts and PHP configs write them
    n = len(mailbox("bob"))
    r = sendmail(["-ti"], b"To: bob@example.test\nSubject: g\n\n.\nend\n")
    tap.ok(r.returncode == 0, "-ti: grouped flags", r.stderr)
    tap.ok(pombo.wait_for(lambda: len(mailbox("bob")) == n + 1, 5) and
           mailbox("bob")[-1].endswith(b"\n.\nend\n"), "as -t -i")
    r = sendmail(["-itj", "bob@example.test"], b"x\n")
    tap.eq(r.returncode, 64, "a group with an unknown letter: EX_USAGE")

    r = sendmail(["-X", "/tmp/log", "bob@example.test"], b"x\n")
    tap.eq(r.returncode, 64, "an unknown option: EX_USAGE")
    tap.ok(b"unsupported option -X/tmp/log" in r.stderr, "and says which",
           r.stderr)
    r = sendmail(["-j", "bob@example.test"], b"x\n")
    tap.ok(r.returncode == 64 and b"unknown option -j" in r.stderr,
           "an unknown letter: EX_USAGE, named", r.stderr)
    r = sendmail(["--help"], b"")
    tap.ok(r.returncode == 64 and b"unknown option --help" in r.stderr,
           "a long option: EX_USAGE, named whole (not '--')", r.stderr)
    r = sendmail([], b"Subject: x\n\nx\n")
    tap.eq(r.returncode, 64, "no recipients: EX_USAGE")
    r = sendmail(["nobody@example.test"], b"Subject: x\n\nx\n")
    tap.eq(r.returncode, 67, "an unknown local user: EX_NOUSER")
    tap.ok(b"550 5.1.1" in r.stderr, "with the reason", r.stderr)
    r = sendmail(["bob@@example.test"], b"x\n")
    tap.eq(r.returncode, 65, "a bad address: EX_DATAERR")

    r = sendmail(["bob@example.test"], b"Subject: env\n\nx\n",
                 env={"POMBO_CONF": inst.conf_path}, use_conf=False)
    tap.eq(r.returncode, 0, "the config from POMBO_CONF")

    r = sendmail(["-bs"], b"EHLO local.test\nMAIL FROM:<u@example.test>\n"
                 b"RCPT TO:<bob@example.test>\nDATA\nSubject: bs\n\nvia -bs\n"
                 b".\nQUIT\n")
    tap.ok(b"250 2.0.0 Ok: queued as" in r.stdout, "-bs: an SMTP session",
           r.stdout)

    # the queue: hold deliveries by holding a message
    hold = pombo.Instance({"hold_deliveries": "yes"}, name="pombo-hold")
    hold.start()
    try:
        r = subprocess.run([SM, "-C", hold.conf_path, "bob@example.test"],
                           input=b"Subject: held\n\nx\n", capture_output=True,
                           timeout=30)
        qid = hold.queue_files()[0] if hold.queue_files() else "none"
        r = subprocess.run([SM, "-C", hold.conf_path, "-bp"],
                           capture_output=True, text=True, timeout=30)
        tap.ok(r.returncode == 0 and qid in r.stdout and
               "<bob@example.test>" in r.stdout, "-bp lists the queue",
               r.stdout)
        link = os.path.join(hold.dir, "mailq")
        os.symlink(SM, link)
        r = subprocess.run([link, "-C", hold.conf_path],
                           capture_output=True, text=True, timeout=30)
        tap.ok(qid in r.stdout, "and so does the name mailq", r.stdout)
        r = subprocess.run([SM, "-C", hold.conf_path, "-q"],
                           capture_output=True, text=True, timeout=30)
        tap.eq(r.returncode, 0, "-q flushes")
        hold.stop()
        r = subprocess.run([SM, "-C", hold.conf_path, "bob@example.test"],
                           input=b"x\n", capture_output=True, timeout=30)
        tap.eq(r.returncode, 75, "queued down: EX_TEMPFAIL")
    finally:
        hold.cleanup()

    # -N, -R and -V go on queue protocol lines: a line end in one added
    # commands of its own (here a whole message to another recipient,
    # queued, and exit 0 while the caller's own message was lost)
    inject = "x\nRCPT <two@example.test>\nDATA\n24\nSubject: injected\n\nspam\n0"
    for opt, value in (("-V", inject), ("-N", "success\nRCPT <two@example."
                        "test>"), ("-R", "hdrs\nRCPT <two@example.test>"),
                       ("-V", "a b"), ("-N", "sometimes"), ("-R", "all")):
        r = sendmail([opt, value, "victim@example.test"],
                     b"Subject: dsn options\n\nhi\n")
        tap.eq(r.returncode, 64, "%s %r: EX_USAGE" % (opt, value))
    r = sendmail(["-N", "success,delay", "-R", "hdrs", "-V", "id+2B1",
                  "victim@example.test"], b"Subject: dsn ok\n\nhi\n")
    tap.eq(r.returncode, 0, "-N, -R and -V as RFC 3461 has them: exit 0")
    tap.ok(pombo.wait_for(lambda: len(mailbox("victim")) == 1, 5),
           "that message is delivered")
    time.sleep(0.5)
    tap.eq(mailbox("two"), [], "and nothing reached the injected "
           "recipient")

    # more recipients than queued takes in one transaction: the rest go
    # in the next ones, none is dropped (it was: 452, then exit 67)
    few = pombo.Instance({"hold_deliveries": "no",
                          "max_recipients": "100"}, name="pombo-few")
    few.start()
    try:
        N = 130
        rcpts = ["r%d@example.test" % i for i in range(N)]
        r = subprocess.run([SM, "-C", few.conf_path] + rcpts,
                           input=b"Subject: many\n\nto many\n",
                           capture_output=True, timeout=30)
        tap.eq(r.returncode, 0, "130 recipients, 100 a transaction: exit 0")
        tap.ok(pombo.wait_for(lambda: all(
            few.delivered("r%d" % i) for i in range(N)), 20),
            "every one of the 130 gets the message",
            [i for i in range(N) if not few.delivered("r%d" % i)])
        tap.eq(sum(len(few.delivered("r%d" % i)) for i in range(N)), N,
               "once each")
    finally:
        few.check_clean(tap)
        few.cleanup()
finally:
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

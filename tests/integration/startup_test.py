"""queued's life cycle: socket activation (sd_listen_fds), readiness
(sd_notify READY=1), a corrupt spool file quarantined without stopping it,
leftovers of a crash removed at start, a clean stop on SIGTERM, and config
errors that name the file and line."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()

# 1. readiness and socket activation
inst = pombo.Instance()
try:
    notify = os.path.join(inst.dir, "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify)
    ns.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=notify)
    p = subprocess.Popen(
        ["systemd-socket-activate", "-l", inst.sock, "-E",
         "NOTIFY_SOCKET=" + notify, pombo.prog("queued/queued"), "-d", "-c",
         inst.conf_path], env=env, stdout=subprocess.DEVNULL,
        stderr=open(inst.log_path, "ab"))
    tap.ok(pombo.wait_for(lambda: os.path.exists(inst.sock), 10),
           "systemd-socket-activate bound the queue socket")
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                     b"RCPT TO:<b@example.test>\nDATA\nx\n.\nQUIT\n")
    tap.ok(b"250 2.0.0 Ok: queued as" in out,
           "the first connection started queued, which took the socket",
           out)
    msgs = []
    try:
        while True:
            msgs.append(ns.recv(4096).decode())
            if any("READY=1" in m for m in msgs):
                break
    except socket.timeout:
        pass
    tap.ok(any("READY=1" in m for m in msgs), "queued sent READY=1", msgs)
    tap.ok("listening on the socket from systemd" in inst.log(),
           "queued used the socket from systemd", inst.log())
    p.terminate()
    p.wait(10)
    ns.close()
finally:
    inst.cleanup()

# 2. corrupt files and crash leftovers at start
inst = pombo.Instance()
try:
    for d in ("incoming", "queue", "state", "quarantine"):
        os.makedirs(os.path.join(inst.spool, d))
    with open(os.path.join(inst.spool, "queue", "01k177h582jc"), "w") as f:
        f.write("POMBO-QUEUE 1\nid 01k177h582jc\nrcpt <broken\n")
    with open(os.path.join(inst.spool, "queue", "01k177h582jd"), "w") as f:
        f.write("POMBO-QUEUE 1\nid 01k177h582jd\ntime 1\n"
                "client SMTP local x.test\nfrom <>\nrcpt <a@example.test>\n"
                "data\nintact\n")
    with open(os.path.join(inst.spool, "incoming", "01k177h582je"), "w") as f:
        f.write("half")
    inst.start()
    tap.eq(os.listdir(os.path.join(inst.spool, "quarantine")),
           ["01k177h582jc"], "the corrupt queue file was quarantined")
    tap.ok("quarantined 01k177h582jc" in inst.log(), "and logged", inst.log())
    tap.eq(inst.queue_files(), ["01k177h582jd"], "the intact one stays")
    tap.eq(inst.incoming_files(), [], "the half-received one is gone")
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                     b"RCPT TO:<b@example.test>\nDATA\nx\n.\nQUIT\n")
    tap.ok(b"250 2.0.0 Ok: queued as" in out, "queued keeps accepting")
    tap.ok(inst.queued.poll() is None, "queued is still running")
    t0 = time.time()
    tap.eq(inst.stop(), 0, "SIGTERM stops queued with status 0")
    tap.ok(time.time() - t0 < 5, "promptly")
    tap.ok(not os.path.exists(inst.sock), "and it removed its socket")
finally:
    inst.cleanup()

# 3. configuration errors name the file and the line
inst = pombo.Instance({"max_recipients": "12"})
try:
    r = subprocess.run([pombo.prog("queued/queued"), "-c", inst.conf_path],
                       capture_output=True, text=True, timeout=10)
    tap.ok(r.returncode != 0, "queued refuses a bad config")
    tap.ok("pombo.conf:" in r.stderr and "max_recipients: '12' is not a "
           "number from 100 to 1000000" in r.stderr,
           "the error names file, line and key", r.stderr)
    r = subprocess.run([pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                       input=b"QUIT\n", capture_output=True, timeout=10)
    tap.eq(r.stdout, b"421 4.3.0 Service not available: configuration "
           b"error\r\n", "smtpd tells its client 421, not a stack trace")
    tap.eq(r.stderr, b"", "and writes nothing to stderr")

    # 4. under systemd, stderr is the journal (JOURNAL_STREAM names it):
    # syslog reaches it already, so queued does not write each line twice
    errpath = os.path.join(inst.dir, "stderr")
    for journal in (False, True):
        with open(errpath, "wb") as err:
            st = os.fstat(err.fileno())
            env = dict(os.environ)
            env.pop("JOURNAL_STREAM", None)
            if journal:
                env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
            r = subprocess.run([pombo.prog("queued/queued"), "-c",
                                inst.conf_path], stderr=err, env=env,
                               timeout=10)
        with open(errpath) as f:
            text = f.read()
        if journal:
            tap.eq(text, "", "stderr is the journal: nothing written twice")
        else:
            tap.ok("max_recipients" in text, "stderr a file: the error "
                   "is written there too", text)
        tap.ok(r.returncode != 0, "and queued still refuses the config")
finally:
    inst.cleanup()
tap.done()

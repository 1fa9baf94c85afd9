"""Real clients over TCP: Python's smtplib and swaks talk to smtpd spawned
per connection by systemd-socket-activate --inetd --accept on 127.0.0.1.
Several messages in one session, and many sessions in parallel."""
import concurrent.futures
import os
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance().start()
sa = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                          inst.env())
try:
    # several messages in one session
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=10) as s:
        code, ehlo = s.ehlo("client.test")
        tap.eq(code, 250, "EHLO answered 250")
        for ext in (b"PIPELINING", b"SIZE 35000000", b"8BITMIME",
                    b"ENHANCEDSTATUSCODES"):
            tap.ok(ext in ehlo, "EHLO advertises " + ext.decode())
        ids = []
        for i in range(3):
            body = "Subject: %d\r\n\r\n.leading dot\r\nline %d\r\n" % (i, i)
            refused = s.sendmail("alice@client.test",
                                 ["bob@example.test", "carol@example.test"],
                                 body)
            tap.eq(refused, {}, "message %d accepted for both" % i)
        code, _ = s.noop()
        tap.eq(code, 250, "session still alive after 3 messages")
    tap.eq(len(inst.queue_files()), 3, "three messages queued")
    msg = inst.message(inst.queue_files()[0])
    tap.eq(msg, b"Subject: 0\n\n.leading dot\nline 0\n",
           "smtplib's message stored with LF and dots unstuffed")
    head = inst.queue_file(inst.queue_files()[0]).split(b"\ndata\n")[0]
    tap.ok(b"client ESMTP 127.0.0.1 client.test" in head,
           "client address is the TCP peer", head)
    recv = inst.queue_file(inst.queue_files()[0]).split(b"\ndata\n")[1]
    tap.ok(recv.startswith(b"Received: from client.test ([127.0.0.1])\n\t"
                           b"by mx.test (Pombo) with ESMTP id "),
           "Received: header with RFC 3848 protocol", recv[:200])

    # relay refusal is a clean SMTPRecipientsRefused with 554
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=10) as s:
        s.ehlo("client.test")
        try:
            s.sendmail("a@client.test", ["x@remote.test"], "x")
            tap.ok(True, "loopback may relay (relay_networks)")
        except smtplib.SMTPException as e:
            tap.ok(False, "loopback may relay", repr(e))

    # many sessions in parallel, bounded: 40 sessions x 2 messages
    def session(n):
        with smtplib.SMTP("127.0.0.1", sa.port, timeout=20) as s:
            s.ehlo("p%d.test" % n)
            for j in range(2):
                s.sendmail("p%d@client.test" % n, ["bob@example.test"],
                           "Subject: parallel %d/%d\r\n\r\nx\r\n" % (n, j))
        return n
    before = len(inst.queue_files())
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        done = list(ex.map(session, range(40), timeout=120))
    tap.eq(len(done), 40, "40 parallel sessions completed")
    tap.eq(len(inst.queue_files()) - before, 80, "80 messages queued")

    # swaks, a second independent client
    out = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % sa.port, "--from",
         "swaks@client.test", "--to", "bob@example.test", "--helo",
         "swaks.test", "--header", "Subject: via swaks", "--body",
         "hello from swaks", "--timeout", "20"],
        capture_output=True, text=True, timeout=60)
    tap.eq(out.returncode, 0, "swaks succeeded")
    tap.ok("250 2.0.0 Ok: queued as" in out.stdout, "swaks saw the 250",
           out.stdout[-2000:])
    out = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % sa.port, "--from",
         "swaks@client.test", "--to", "bob@example.test", "--pipeline",
         "--timeout", "20"], capture_output=True, text=True, timeout=60)
    tap.eq(out.returncode, 0, "swaks with --pipeline succeeded")
finally:
    sa.stop()
    inst.check_clean(tap)
    inst.cleanup()
tap.done()

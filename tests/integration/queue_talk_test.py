"""smtpd's conversation with queued, seen from a scripted queued on the
queue socket (issue 19: what a one-message session costs beyond the
exec). smtpd reads the client's message before it waits for queued's
answer to DATA, so that answer (queued makes the queue file meanwhile)
costs no wait of its own: the scripted queued answers DATA only once
the client's first data line has left the pipe into smtpd, which the
old order (the answer first, then the data) never did. The conversation
ends with the close, no QUIT (queued ends an open transaction at end of
file as at QUIT); a refusal of DATA still comes after the data."""
import os
import socket
import subprocess
import sys
import fcntl
import struct
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

FIONREAD = 0x541B


def pipe_unread(fd):
    """Octets written to a pipe and not yet read by the other end."""
    return struct.unpack("i", fcntl.ioctl(fd, FIONREAD, b"\0\0\0\0"))[0]


class FakeQueued(threading.Thread):
    """One connection: answers POMBO, HELO, MAIL, RCPT; at DATA waits
    (3 s at most) until client_pipe() has been drained by smtpd, then
    answers refuse_data or 354; takes the chunks, answers 0 with 250.
    Records every line and what it saw at DATA."""

    def __init__(self, path, refuse_data=None):
        super().__init__(daemon=True)
        self.ls = socket.socket(socket.AF_UNIX)
        self.ls.bind(path)
        self.ls.listen(4)
        self.ls.settimeout(20)
        self.refuse_data = refuse_data
        self.client_fd = None
        self.lines = []
        self.message = b""
        self.drained_at_data = None
        self.eof = False

    def run(self):
        c, _ = self.ls.accept()
        c.settimeout(20)
        f = c.makefile("rb")
        try:
            self.talk(c, f)
        except (OSError, ValueError):
            pass
        c.close()

    def talk(self, c, f):
        while True:
            line = f.readline()
            if not line:
                self.eof = True
                return
            line = line.rstrip(b"\n")
            self.lines.append(line)
            verb = line.split(b" ")[0]
            if verb != b"DATA":
                c.sendall(b"221 2.0.0 Bye\n" if verb == b"QUIT"
                          else b"250 2.0.0 Ok\n")
                continue
            # the client sends its data only after smtpd's 354: wait
            # until smtpd has read it, or give up after 3 s
            t = time.monotonic() + 3
            while time.monotonic() < t:
                if self.client_fd is not None and \
                        pipe_unread(self.client_fd) == 0 and self.sent:
                    break
                time.sleep(0.01)
            self.drained_at_data = time.monotonic() < t
            if self.refuse_data:
                c.sendall(self.refuse_data)
                continue
            c.sendall(b"354 01k1aaaaaaaa Send the message in chunks\n")
            while True:
                n = int(f.readline())
                if n == 0:
                    break
                self.message += f.read(n)
            self.lines.append(b"<chunks>")
            c.sendall(b"250 2.0.0 Ok: queued as 01k1aaaaaaaa\n")

    sent = False


def session(inst, fake, body=b"Subject: t\n\nhello\n"):
    """A client on pipes that sends its data only once 354 is here."""
    p = subprocess.Popen([pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    fake.client_fd = p.stdin.fileno()
    replies = []

    def reply():
        while True:
            line = p.stdout.readline()
            replies.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return line

    t0 = time.monotonic()
    reply()
    for cmd in (b"EHLO c.test\n", b"MAIL FROM:<a@c.test>\n",
                b"RCPT TO:<b@example.test>\n", b"DATA\n"):
        p.stdin.write(cmd)
        p.stdin.flush()
        reply()
    p.stdin.write(body + b".\n")
    p.stdin.flush()
    fake.sent = True
    reply()
    p.stdin.write(b"QUIT\n")
    p.stdin.flush()
    reply()
    p.stdin.close()
    p.wait(30)
    return replies, time.monotonic() - t0


tap = pombo.Tap()
inst = pombo.Instance(name="pombo-qtalk")
try:
    fake = FakeQueued(inst.sock)
    fake.start()
    replies, took = session(inst, fake)
    fake.join(20)
    codes = [r[:3] for r in replies if r[3:4] != b"-"]
    tap.eq(codes, [b"220", b"250", b"250", b"250", b"354", b"250", b"221"],
           "a message through the scripted queue")
    tap.ok(fake.drained_at_data,
           "smtpd read the client's data before it waited for queued's "
           "answer to DATA (%.2f s)" % took)
    tap.eq(fake.message[:9], b"Received:", "the Received: line first")
    tap.ok(fake.message.endswith(b"Subject: t\n\nhello\n"),
           "then the message", fake.message[-100:])
    tap.ok(fake.eof, "the queue conversation ended at end of file")
    tap.ok(b"QUIT" not in fake.lines, "with no QUIT", fake.lines)

    # queued refuses DATA: the client hears it after its data
    os.unlink(inst.sock)
    fake = FakeQueued(inst.sock, refuse_data=b"452 4.3.1 Insufficient "
                      b"system storage\n")
    fake.start()
    replies, took = session(inst, fake)
    fake.join(20)
    codes = [r[:3] for r in replies if r[3:4] != b"-"]
    tap.eq(codes, [b"220", b"250", b"250", b"250", b"354", b"452", b"221"],
           "a refused DATA: 354, then the refusal after the data")
    tap.ok(fake.drained_at_data, "the data read before the refusal was")
    tap.eq(fake.lines[-1:], [b"RSET"],
           "the refused transaction ended with RSET")
finally:
    inst.cleanup()
tap.done()

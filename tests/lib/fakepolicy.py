"""A policy server (Postfix's SMTPD_POLICY_README protocol) on 127.0.0.1
for the tests: each request's attributes are kept, and answer(attrs)
says what to do: an action string, or one of the hostile behaviours
below. A connection serves requests until the client closes it."""
import socket
import threading
import time

CLOSE = object()     # close the connection without a word
SILENT = object()    # never answer (hold the connection open)


class FakePolicy:
    def __init__(self, answer, path=None):
        """On 127.0.0.1, or on the Unix socket path."""
        self.answer = answer
        self.requests = []
        self.connections = 0
        self.stopping = False
        if path:
            self.ls = socket.socket(socket.AF_UNIX)
            self.ls.bind(path)
            self.spec = "unix:" + path
        else:
            self.ls = socket.socket()
            self.ls.bind(("127.0.0.1", 0))
            self.port = self.ls.getsockname()[1]
            self.spec = "inet:127.0.0.1:%d" % self.port
        self.ls.listen(64)
        self.ls.settimeout(0.2)
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        c.settimeout(0.5)
        buf = b""
        deadline = time.time() + 120
        try:
            while not self.stopping and time.time() < deadline:
                while b"\n\n" not in buf:
                    try:
                        d = c.recv(65536)
                    except socket.timeout:
                        if self.stopping or time.time() > deadline:
                            return
                        continue
                    if not d:
                        return
                    buf += d
                req, buf = buf.split(b"\n\n", 1)
                attrs = dict(l.split(b"=", 1) for l in req.split(b"\n"))
                attrs = {k.decode(): v.decode("utf-8", "replace")
                         for k, v in attrs.items()}
                self.requests.append(attrs)
                r = self.answer(attrs)
                if r is CLOSE:
                    return
                if r is SILENT:
                    while not self.stopping and time.time() < deadline:
                        try:
                            if not c.recv(65536):
                                return
                        except socket.timeout:
                            pass
                    return
                c.sendall(r if isinstance(r, bytes) else
                          ("action=%s\n\n" % r).encode())
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.stopping = True
        self.t.join(5)
        self.ls.close()

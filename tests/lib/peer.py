"""A scriptable SMTP server for the remote-delivery tests: it binds one
loopback address, records every connection and transaction, and can be
told to answer 4xx/5xx at any step, drop the connection inside DATA,
answer 354 to a DATA without valid recipients (RFC 2920 3.1 lets it), or
leave out extensions (8BITMIME, SMTPUTF8, PIPELINING, DSN). It is the
misbehaving peer; aiosmtpd and Pombo itself are the well-behaved ones.
end_delay(n) and drop_after_dot(n) take the ordinal (from 1) of a
message's final dot: seconds to wait before the reply to it (end_delay is
called once, before the reply: a test may act there), and whether
to drop the connection instead of replying (the message then goes to
dropped, not messages). tls (an ssl.SSLContext for the server side)
offers STARTTLS; tls_sessions counts the handshakes that worked."""
import socket
import threading


class Peer:
    def __init__(self, addr, port, name="peer.test", ext=None, replies=None,
                 drop_in_data=False, greeting_delay=0, data_always=False,
                 end_delay=None, drop_after_dot=None, tls=None):
        self.addr, self.port, self.name = addr, port, name
        self.ext = ["PIPELINING", "8BITMIME", "SMTPUTF8", "DSN",
                    "SIZE 10000000"] if ext is None else ext
        self.replies = dict(replies or {})   # "RCPT": "550 5.1.1 no"
        self.drop_in_data = drop_in_data
        self.data_always = data_always  # 354 even without recipients
        self.greeting_delay = greeting_delay
        self.end_delay = end_delay
        self.drop_after_dot = drop_after_dot
        self.tls = tls
        self.tls_sessions = 0
        self.dots = 0         # final dots received
        self.dropped = []     # messages whose dot got no reply
        self.connections = 0
        self.messages = []    # dicts: mail, rcpts, data (bytes)
        self.commands = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET6 if ":" in addr else
                                  socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(50)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._session, args=(conn,),
                             daemon=True).start()

    def _reply(self, f, verb, default):
        line = self.replies.get(verb, default)
        f.write(line.encode() + b"\r\n")
        f.flush()
        return line

    def _session(self, conn):
        conn.settimeout(30)
        f = conn.makefile("rwb")
        try:
            if self.greeting_delay:
                import time
                time.sleep(self.greeting_delay)
            if self._reply(f, "GREETING", "220 %s ESMTP peer" % self.name) \
                    [0] != "2":
                return
            mail, rcpts = None, []
            in_tls = False
            while True:
                line = f.readline(4096)
                if not line:
                    return
                cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
                with self.lock:
                    self.commands.append(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    if self.replies.get("EHLO", "250")[0] != "2":
                        self._reply(f, "EHLO", "")
                        continue
                    lines = [self.name] + self.ext + (
                        ["STARTTLS"] if self.tls and not in_tls else [])
                    for i, l in enumerate(lines):
                        sep = " " if i == len(lines) - 1 else "-"
                        f.write(("250%s%s\r\n" % (sep, l)).encode())
                    f.flush()
                elif verb == "STARTTLS" and self.tls and not in_tls:
                    f.write(b"220 2.0.0 go ahead\r\n")
                    f.flush()
                    f.close()
                    try:
                        conn = self.tls.wrap_socket(conn, server_side=True)
                    except (OSError, ValueError):
                        return      # the client refused the certificate
                    f = conn.makefile("rwb")
                    in_tls = True
                    mail, rcpts = None, []
                    with self.lock:
                        self.tls_sessions += 1
                elif verb == "HELO":
                    self._reply(f, "HELO", "250 %s" % self.name)
                elif verb == "MAIL":
                    r = self._reply(f, "MAIL", "250 2.1.0 ok")
                    if r[0] == "2":
                        mail, rcpts = cmd[10:], []
                elif verb == "RCPT":
                    key = "RCPT " + cmd[8:].split(">")[0].strip("<")
                    r = self._reply(f, key if key in self.replies else
                                    "RCPT", "250 2.1.5 ok")
                    if r[0] == "2":
                        rcpts.append(cmd[8:])
                elif verb == "DATA":
                    if (mail is None or not rcpts) and not self.data_always:
                        f.write(b"554 5.5.1 no valid recipients\r\n")
                        f.flush()
                        continue
                    if self._reply(f, "DATA", "354 go on")[0] != "3":
                        continue
                    data = b""
                    while True:
                        l = f.readline(1 << 20)
                        if not l:
                            return
                        if self.drop_in_data and len(data) > 10:
                            conn.shutdown(socket.SHUT_RDWR)
                            return
                        if l == b".\r\n":
                            break
                        data += l[1:] if l.startswith(b".") else l
                    with self.lock:
                        self.dots += 1
                        n = self.dots
                    delay = self.end_delay(n) if self.end_delay else 0
                    if delay:
                        import time
                        time.sleep(delay)
                    if self.drop_after_dot and self.drop_after_dot(n):
                        with self.lock:
                            self.dropped.append({"mail": mail,
                                                 "rcpts": list(rcpts),
                                                 "data": data})
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    if mail is None or not rcpts:
                        r = "554 5.5.1 no valid recipients"
                        f.write(r.encode() + b"\r\n")
                        f.flush()
                    else:
                        r = self.replies.get("END", "250 2.0.0 queued")
                        # recorded before the reply: a client that has
                        # its 250 may be checked at once
                        if r[0] == "2":
                            with self.lock:
                                self.messages.append({"mail": mail,
                                                      "rcpts": list(rcpts),
                                                      "data": data})
                        self._reply(f, "END", r)
                    mail, rcpts = None, []
                elif verb == "RSET":
                    mail, rcpts = None, []
                    f.write(b"250 2.0.0 ok\r\n")
                    f.flush()
                elif verb == "QUIT":
                    f.write(b"221 2.0.0 bye\r\n")
                    f.flush()
                    return
                else:
                    f.write(b"500 5.5.2 what\r\n")
                    f.flush()
        except OSError:
            return
        finally:
            try:
                f.close()
                conn.close()
            except OSError:
                pass

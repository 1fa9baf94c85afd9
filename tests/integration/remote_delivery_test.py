"""Remote delivery through DNS on a local dnsmasq: MX preference and
fallback, implicit MX, null MX and NXDOMAIN, 4xx deferral and flush, 5xx
bounces with RFC 3464 fields, a connection dropped inside DATA, a 354
to a pipelined DATA with no recipient accepted, 8-bit to
quoted-printable for a peer without 8BITMIME, SMTPUTF8 refusal, loops
(also through an MX of this host's own preference), dead-host memory,
several messages over one connection, delivery into a second Pombo
instance and into Python's aiosmtpd (an independent implementation),
address literals ([127.0.0.2], [IPv6:::1]) without MX lookup.
Every server binds a 127.0.0.x address or ::1."""
import email
import email.policy
import os
import re
import smtplib
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
P = pombo.free_port()
dns_dir = __import__("tempfile").mkdtemp(prefix="pombo-dns-")
MX = {  # domain: (mx name, address)
    "good.test": ("mx.good.test", "127.0.0.2"),
    "temp.test": ("mx.temp.test", "127.0.0.6"),
    "hard.test": ("mx.hard.test", "127.0.0.7"),
    "drop.test": ("mx.drop.test", "127.0.0.8"),
    "seven.test": ("mx.seven.test", "127.0.0.9"),
    "dead.test": ("mx.dead.test", "127.0.0.10"),
    "aio.test": ("mx.aio.test", "127.0.0.11"),
    "b.test": ("mx.b.test", "127.0.0.12"),
    "dot.test": ("mx.dot.test", "127.0.0.14"),
    "plain.test": ("mx.plain.test", "127.0.0.15"),
    "nomail.test": ("mx.nomail.test", "127.0.0.16"),
}
servfail = pombo.ServfailDNS()
opts = []
for dom, (mx, ip) in MX.items():
    opts += ["--mx-host=%s,%s,10" % (dom, mx), "--host-record=%s,%s" % (mx, ip)]
opts += ["--mx-host=backup.test,mx1.backup.test,10",
         "--mx-host=backup.test,mx2.backup.test,20",
         "--host-record=mx1.backup.test,127.0.0.3",
         "--host-record=mx2.backup.test,127.0.0.4",
         "--host-record=amx.test,127.0.0.5",
         "--dns-rr=nullmx.test,15,000000",
         "--mx-host=loop.test,mx.test,10",
         # this host (mx.test) among three peers of the same preference
         "--mx-host=eqloop.test,mx.test,10",
         "--mx-host=eqloop.test,mx1.eqloop.test,10",
         "--mx-host=eqloop.test,mx2.eqloop.test,10",
         "--mx-host=eqloop.test,mx3.eqloop.test,10",
         "--host-record=mx1.eqloop.test,127.0.0.13",
         "--host-record=mx2.eqloop.test,127.0.0.13",
         "--host-record=mx3.eqloop.test,127.0.0.13",
         "--server=/servfail.test/127.0.0.1#%d" % servfail.port]
dns = pombo.Dnsmasq(opts, dns_dir)

sni = []
tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls_ctx.load_cert_chain(*pombo.make_certs(dns_dir, ("tls.lit.test",))[1:])
tls_ctx.sni_callback = lambda sock, name, ctx: sni.append(name)
peers = {
    "good": Peer("127.0.0.2", P, "mx.good.test"),
    "backup": Peer("127.0.0.4", P, "mx2.backup.test"),
    "amx": Peer("127.0.0.5", P, "amx.test"),
    "temp": Peer("127.0.0.6", P, "mx.temp.test",
                 replies={"RCPT": "451 4.7.1 greylisted, try later"}),
    "hard": Peer("127.0.0.7", P, "mx.hard.test",
                 replies={"RCPT": "550 5.1.1 no such user here"}),
    "drop": Peer("127.0.0.8", P, "mx.drop.test", drop_in_data=True),
    "seven": Peer("127.0.0.9", P, "mx.seven.test",
                  ext=["PIPELINING", "SIZE 10000000"]),
    "eq": Peer("127.0.0.13", P, "mx1.eqloop.test"),
    "dot": Peer("127.0.0.14", P, "mx.dot.test", data_always=True,
                replies={"RCPT": "451 4.7.1 greylisted, try later"}),
    # no PIPELINING: a reply after each command
    "plain": Peer("127.0.0.15", P, "mx.plain.test", ext=["8BITMIME"],
                  replies={"RCPT no@plain.test": "550 5.1.1 no such user"}),
    "nomail": Peer("127.0.0.16", P, "mx.nomail.test", ext=["8BITMIME"],
                   replies={"MAIL": "550 5.7.1 sender refused here"}),
    "v6": Peer("::1", P, "v6.test"),
    # STARTTLS, the server name the client asks for noted
    "tlslit": Peer("127.0.0.17", P, "tls.lit.test", tls=tls_ctx),
    "dead": Peer("127.0.0.10", P, "mx.dead.test",
                 replies={"GREETING": "421 4.3.2 closing, go away"}),
}

from aiosmtpd.controller import Controller  # noqa: E402


class Handler:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 2.0.0 Message accepted"


aio = Handler()
aio_ctl = Controller(aio, hostname="127.0.0.11", port=P)
aio_ctl.start()

conf = {"hold_deliveries": "no", "dns_servers": "127.0.0.1:%d" % dns.port,
        "remote_port": str(P), "retry_interval": "1h",
        "delay_warning": "0", "remote_timeout": "10s",
        "remote_connect_timeout": "2s"}
A = pombo.Instance(conf, name="pombo-a").start()
B = pombo.Instance({"hostname": "mx.b.test", "local_domains": "b.test",
                    "hold_deliveries": "no"}, name="pombo-b",
                   users=["carol@b.test"]).start()
sa_a = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                              A.conf_path], A.env())
sa_b = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                              B.conf_path], B.env(), port=P,
                             addr="127.0.0.12")


def send(rcpts, body=b"Subject: test\r\n\r\nhello\r\n",
         sender="alice@example.test", mail_options=(), rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", sa_a.port, timeout=20) as s:
        s.ehlo("client.test")
        return s.sendmail(sender, rcpts, body, mail_options=list(mail_options),
                          rcpt_options=list(rcpt_options))


def maildir(inst, domain, user):
    d = os.path.join(inst.mail, domain, user, "new")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def bounces():
    """DSNs in alice's Maildir, parsed, oldest first."""
    out = []
    for n in maildir(A, "example.test", "alice"):
        with open(os.path.join(A.mail, "example.test", "alice", "new", n),
                  "rb") as f:
            out.append(f.read().decode("utf-8", "replace"))
    return out


def flush():
    return subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                           A.conf_path, "flush"], capture_output=True,
                          text=True, timeout=30)


def queued_for(addr):
    r = subprocess.run([pombo.prog("queued/pombo-queue"), "-c", A.conf_path,
                        "list"], capture_output=True, text=True, timeout=30)
    return r.stdout if "<%s>" % addr in r.stdout else ""


try:
    # into a second Pombo instance, through its MX
    send(["carol@b.test"], b"Subject: to b\r\n\r\n.dots stay\r\n")
    tap.ok(pombo.wait_for(lambda: maildir(B, "b.test", "carol"), 10),
           "mail from one Pombo reaches the other's Maildir")
    if maildir(B, "b.test", "carol"):
        data = open(os.path.join(B.mail, "b.test", "carol", "new",
                                 maildir(B, "b.test", "carol")[0]), "rb").read()
        tap.ok(data.endswith(b"Subject: to b\n\n.dots stay\n"),
               "its content, dot-stuffing undone once", data[-200:])
        tap.ok(b"by mx.b.test (Pombo) with ESMTP" in data and
               b"by mx.test (Pombo)" in data, "both hops in Received:")
    # a batch that ended with its QUIT lost no connection
    tap.ok(pombo.wait_for(lambda: "status=sent" in A.log(), 10) and
           "connection lost" not in A.log(),
           "a finished batch logs no lost connection", A.log()[-800:])

    # MX preference: the primary refuses connections, the secondary takes it
    send(["x@backup.test"])
    tap.ok(pombo.wait_for(lambda: peers["backup"].messages, 10),
           "a refusing primary MX: delivered through the secondary")
    # the agent's report (and queued's line) follows the peer's 250
    tap.ok(pombo.wait_for(lambda: re.search(
        r"to=<x@backup.test>, relay=mx2.backup.test, .*status=sent",
        A.log()), 10), "logged with the secondary as relay")

    # no MX: the domain's own address
    send(["y@amx.test"])
    tap.ok(pombo.wait_for(lambda: peers["amx"].messages, 10),
           "no MX: delivered to the domain's A record (RFC 5321 5.1)")

    # null MX and NXDOMAIN bounce at once
    nb = len(bounces())
    send(["z@nullmx.test"])
    tap.ok(pombo.wait_for(lambda: len(bounces()) > nb, 10),
           "a null MX bounces at once")
    tap.ok(bounces() and "Status: 5.1.10" in bounces()[-1] and
           "null MX" in bounces()[-1], "with 5.1.10 (RFC 7505)",
           bounces()[-1][-1500:] if bounces() else "")
    nb = len(bounces())
    send(["z@nowhere.test"])
    tap.ok(pombo.wait_for(lambda: len(bounces()) > nb, 10),
           "NXDOMAIN bounces at once")
    tap.ok(bounces() and "Status: 5.1.2" in bounces()[-1], "with 5.1.2")
    # a permanent answer does not make the domain "dead": the next
    # message to it bounces at once too, it is not deferred
    nb = len(bounces())
    send(["z2@nowhere.test"])
    tap.ok(pombo.wait_for(lambda: len(bounces()) > nb, 10),
           "the next message to it bounces at once as well",
           queued_for("z2@nowhere.test"))

    # SERVFAIL is temporary
    send(["z@servfail.test"])
    tap.ok(pombo.wait_for(lambda: "4.4.3" in queued_for("z@servfail.test"),
                          30), "a DNS failure defers (4.4.3)",
           queued_for("z@servfail.test"))

    # 4xx: deferred; then three messages over one connection after a flush
    for i in range(3):
        send(["t%d@temp.test" % i], b"Subject: temp %d\r\n\r\nx\r\n" % i)
    tap.ok(pombo.wait_for(lambda: queued_for("t2@temp.test").count(
        "451 4.7.1 greylisted") == 3, 10),
        "a 451 at RCPT defers the recipient")
    peers["temp"].replies = {}
    conns = peers["temp"].connections
    flush()
    tap.ok(pombo.wait_for(lambda: len(peers["temp"].messages) == 3, 10),
           "after a flush all three are delivered",
           "\n".join(A.log().splitlines()[-30:]))
    tap.eq(peers["temp"].connections - conns, 1,
           "over one connection")
    tap.ok(peers["temp"].commands.count("RSET") >= 2,
           "with RSET between transactions")

    # RFC 2920 3.1: a 354 to a pipelined DATA after every RCPT failed
    # still opens a message, which only a lone dot ends; without it the
    # next transaction's commands would be read as its text
    send(["nobody@dot.test"], b"Subject: refused\r\n\r\nx\r\n")
    send(["t@dot.test"], b"Subject: next\r\n\r\ny\r\n")
    tap.ok(pombo.wait_for(lambda: queued_for("nobody@dot.test") and
                          queued_for("t@dot.test").count("greylisted") >= 2,
                          10), "two messages for dot.test deferred")
    peers["dot"].replies = {"RCPT nobody@dot.test": "550 5.1.1 no such user"}
    conns = peers["dot"].connections
    t0 = time.time()
    flush()
    tap.ok(pombo.wait_for(lambda: peers["dot"].messages, 8),
           "a 354 with no recipient accepted: the next message is delivered",
           "\n".join(peers["dot"].commands))
    tap.ok(time.time() - t0 < 8, "without waiting for a timeout")
    tap.eq(peers["dot"].connections - conns, 1, "over the same connection")
    tap.ok("QUIT" in peers["dot"].commands, "and QUIT is read as a command")
    # its bounce, before the next test counts bounces
    tap.ok(pombo.wait_for(lambda: any("nobody@dot.test" in b
                                      for b in bounces()), 10),
           "the refused recipient bounces")

    # an address literal is that address, no MX lookup (RFC 5321 5.1),
    # IPv4 and IPv6 alike
    for lit, peer in (("[127.0.0.2]", "good"), ("[IPv6:::1]", "v6")):
        n = len(peers[peer].messages)
        send(["lit@" + lit], b"Subject: literal\r\n\r\nhi\r\n")
        tap.ok(pombo.wait_for(lambda: len(peers[peer].messages) > n, 10),
               "to lit@%s: delivered to that address" % lit,
               queued_for("lit@" + lit) or A.log()[-1500:])
        tap.ok(peers[peer].messages[n:] and
               peers[peer].messages[-1]["rcpts"] == ["<lit@%s>" % lit],
               "with the literal as its recipient",
               peers[peer].messages[-1:])
    # over TLS it names no server (RFC 6066 3: SNI is a name, never an
    # address)
    n = len(peers["tlslit"].messages)
    send(["lit@[127.0.0.17]"])
    tap.ok(pombo.wait_for(lambda: len(peers["tlslit"].messages) > n, 10) and
           peers["tlslit"].tls_sessions > 0 and sni == [None],
           "to an address literal over STARTTLS: no SNI",
           (peers["tlslit"].tls_sessions, sni))
    # one that is no address is refused at RCPT, never queued
    try:
        send(["lit@[IPv6:127.0.0.1]"])
        tap.ok(False, "an IPv6 literal holding an IPv4 address: refused")
    except smtplib.SMTPRecipientsRefused as e:
        tap.eq(list(e.recipients.values())[0][0], 501,
               "an IPv6 literal holding an IPv4 address: refused, 501")

    # RFC 1870: SIZE= is the message as sent, CRLF line ends counted
    n = len(peers["good"].messages)
    send(["size@good.test"], b"Subject: size\r\n\r\n" +
         b"a line\r\n" * 500)
    tap.ok(pombo.wait_for(lambda: len(peers["good"].messages) > n, 10),
           "a message of 500 lines to a server with SIZE")
    if len(peers["good"].messages) > n:
        m = peers["good"].messages[-1]
        tap.ok(" SIZE=%d" % len(m["data"]) in m["mail"],
               "declares its size as sent, CRLF counted (RFC 1870)",
               "%s, %d octets" % (m["mail"], len(m["data"])))

    # without PIPELINING: each recipient's own answer; after a refused
    # MAIL no RCPT is sent, and every recipient has MAIL's answer
    nb = len(bounces())
    send(["yes@plain.test", "no@plain.test", "also@plain.test"],
         b"Subject: plain\r\n\r\nbody\r\n")
    tap.ok(pombo.wait_for(lambda: len(peers["plain"].messages) == 1 and
                          len(bounces()) > nb, 10),
           "a server without PIPELINING takes the accepted recipients")
    if peers["plain"].messages:
        tap.eq(sorted(peers["plain"].messages[0]["rcpts"]),
               ["<also@plain.test>", "<yes@plain.test>"],
               "its refused recipient is not among them")
    tap.ok(len(bounces()) > nb and "Final-Recipient: rfc822; no@plain.test"
           in bounces()[-1] and "yes@plain.test" not in
           bounces()[-1].split("text/rfc822-headers")[0],
           "and bounces alone", bounces()[-1][-1500:] if bounces() else "")
    nb = len(bounces())
    send(["a@nomail.test", "b@nomail.test"],
         b"Subject: nomail\r\n\r\nbody\r\n")
    tap.ok(pombo.wait_for(lambda: len(bounces()) > nb, 10),
           "a refused MAIL without PIPELINING bounces")
    tap.ok(len(bounces()) > nb and all(
        "<%s@nomail.test>: mx.nomail.test said: 550 5.7.1 sender refused "
        "here" % u in bounces()[-1] for u in "ab"),
        "each recipient with MAIL's answer",
        bounces()[-1][-1500:] if bounces() else "")
    tap.eq([c for c in peers["nomail"].commands if c.startswith("RCPT")], [],
           "and no RCPT follows the refused MAIL")

    # 5xx: a bounce with the DSN fields
    nb = len(bounces())
    send(["u@hard.test"], b"Subject: will bounce\r\n\r\nbody\r\n",
         mail_options=["ENVID=env+2B42"])
    tap.ok(pombo.wait_for(lambda: len(bounces()) > nb, 10),
           "a 550 bounces to the sender's mailbox")
    if len(bounces()) > nb:
        raw = bounces()[-1]
        msg = email.message_from_string(raw)
        tap.eq(msg.get_content_type(), "multipart/report", "multipart/report")
        for field in ("Reporting-MTA: dns; mx.test",
                      "Original-Envelope-Id: env+42",
                      "Final-Recipient: rfc822; u@hard.test",
                      "Action: failed", "Status: 5.1.1",
                      "Remote-MTA: dns; mx.hard.test",
                      "Diagnostic-Code: smtp; 550 5.1.1 no such user here",
                      "Content-Type: text/rfc822-headers",
                      "Subject: will bounce", "Return-Path: <>",
                      "From: Mail Delivery System <MAILER-DAEMON@mx.test>"):
            tap.ok(field in raw, "the bounce has " + field, raw[-2500:])

    # a connection dropped inside DATA: deferred, then delivered once
    send(["v@drop.test"], b"Subject: dropped\r\n\r\n" + b"z" * 5000 + b"\r\n")
    tap.ok(pombo.wait_for(lambda: "4.4.2" in queued_for("v@drop.test"), 10),
           "a connection lost in DATA defers",
           queued_for("v@drop.test"))
    tap.eq(peers["drop"].messages, [], "the peer kept nothing")
    peers["drop"].drop_in_data = False
    flush()
    tap.ok(pombo.wait_for(lambda: len(peers["drop"].messages) == 1, 10),
           "after a flush it is delivered")
    time.sleep(0.5)
    tap.eq(len(peers["drop"].messages), 1, "exactly once")
    tap.ok(pombo.wait_for(lambda: not queued_for("v@drop.test"), 5),
           "and leaves the queue")

    # 8-bit to a peer without 8BITMIME: quoted-printable
    body8 = ("Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: 8bit\r\n\r\n"
             "caf\u00e9 = cr\u00e8me\r\n.dot line\r\ntrailing space \r\n"
             ).encode()
    send(["w@seven.test"], body8, mail_options=["BODY=8BITMIME"])
    tap.ok(pombo.wait_for(lambda: peers["seven"].messages, 10),
           "delivered to the peer without 8BITMIME")
    if peers["seven"].messages:
        m = peers["seven"].messages[0]
        tap.ok(all(b < 0x80 for b in m["data"]), "it got 7-bit data only",
               m["data"])
        tap.ok(b"Content-Transfer-Encoding: quoted-printable" in m["data"]
               and b"Encoding: 8bit" not in m["data"],
               "marked quoted-printable")
        tap.ok("BODY=8BITMIME" not in m["mail"], "no BODY= to it", m["mail"])
        parsed = email.message_from_bytes(m["data"].replace(b"\r\n", b"\n"))
        tap.eq(parsed.get_payload(decode=True).decode("utf-8"),
               "caf\u00e9 = cr\u00e8me\n.dot line\ntrailing space \n",
               "the text decodes back exactly")
    nb = len(bounces())
    with smtplib.SMTP("127.0.0.1", sa_a.port, timeout=20) as s:
        s.ehlo("client.test")
        s.sendmail("alice@example.test", ["\u00fc@seven.test"],
                   b"Subject: utf8\r\n\r\nx\r\n",
                   mail_options=["SMTPUTF8"])
    tap.ok(pombo.wait_for(lambda: len(bounces()) > nb, 10),
           "SMTPUTF8 mail to a peer without it bounces")
    tap.ok(bounces() and "Status: 5.6.7" in bounces()[-1], "with 5.6.7")

    # an MX that is this host: an error, not a retry
    nb = len(bounces())
    send(["q@loop.test"])
    tap.ok(pombo.wait_for(lambda: len(bounces()) > nb, 10),
           "mail for a domain whose MX is this host bounces")
    tap.ok(bounces() and "loops back to myself" in bounces()[-1] and
           "Status: 5.4.6" in bounces()[-1], "as a loop (5.4.6)")

    # RFC 5321 5.1: an MX of this host's own preference is discarded
    # with it; one of them first in the shuffle must not get the mail
    # (equal-preference peers would pass it back and forth)
    for i in range(3):
        nb = len(bounces())
        send(["e%d@eqloop.test" % i])
        pombo.wait_for(lambda: len(bounces()) > nb, 10)
    tap.eq(peers["eq"].connections, 0,
           "no mail to an MX of the same preference as this host")
    tap.ok(any("e0@eqloop.test" in b and "loops back to myself" in b
               for b in bounces()), "it bounces as a loop")

    # a dead host: one attempt, not one per message
    for i in range(5):
        send(["d%d@dead.test" % i])
    tap.ok(pombo.wait_for(lambda: "421 4.3.2" in queued_for("d4@dead.test"),
                          10), "a 421 greeting defers")
    c1 = peers["dead"].connections
    for i in range(5, 10):
        send(["d%d@dead.test" % i])
    time.sleep(1)
    tap.eq(c1, 1, "the first messages cost one connection")
    tap.eq(peers["dead"].connections, c1,
           "later ones for the dead host cost none")
    tap.ok("421 4.3.2" in queued_for("d9@dead.test"),
           "they are deferred with its last error")

    # an independent implementation receives: aiosmtpd
    send(["r1@aio.test", "r2@aio.test"], body8,
         mail_options=["BODY=8BITMIME"])
    tap.ok(pombo.wait_for(lambda: aio.envelopes, 10), "aiosmtpd got it")
    if aio.envelopes:
        env = aio.envelopes[0]
        tap.eq(env.mail_from, "alice@example.test", "envelope sender")
        tap.eq(sorted(env.rcpt_tos), ["r1@aio.test", "r2@aio.test"],
               "both recipients in one transaction")
        tap.ok(env.original_content.endswith(
            ("caf\u00e9 = cr\u00e8me\r\n.dot line\r\ntrailing space \r\n"
             ).encode()), "8-bit content unchanged, dots unstuffed",
            env.original_content[-200:])
        tap.ok(b"Received: from client.test" in env.original_content,
               "with our Received: line")
finally:
    for p in peers.values():
        p.stop()
    aio_ctl.stop()
    sa_a.stop()
    sa_b.stop()
    A.check_clean(tap)
    B.check_clean(tap)
    A.cleanup()
    B.cleanup()
    dns.stop()
    servfail.stop()
tap.done()

"""DANE (RFC 7672) in the remote agent, against DNSSEC-signed zones that
nsd serves on loopback (signed with ldns-signzone at test time; the
instance's dns_trust_anchor is the zone key's DS record): a TLSA match
(DANE-EE 3 1 1 of the peer's key, DANE-TA 2 0 1 of its CA, through a
CNAME) delivers; a mismatching certificate, a certificate without the
host's name under DANE-TA, a peer that offers no STARTTLS and a bogus
signature defer; TLSA records that are all unusable (wrong digest
lengths, unknown or PKIX usages) make TLS a must without
authentication; an unsigned zone (a delegation without DS) delivers in
the clear as without DANE; an insecure MX naming a secure host with
TLSA records still gets DANE; a domain with its own tls_policy is not
subject to DANE. Peers: a second Pombo with STARTTLS, and a plain
server without it, on 127.0.3.x."""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import dnssec  # noqa: E402
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
work = tempfile.mkdtemp(prefix="pombo-dane-")
P = pombo.free_port()
TLS_IP, PLAIN_IP = "127.0.3.1", "127.0.3.2"

# B's certificate, from a CA of its own, names mx-ok and mx-ta but not
# mx-taname; its chain file carries the CA (DANE-TA: RFC 7672 3.1.2)
ca, cert, key = pombo.make_certs(work, ("mx-ok.dane.test",
                                        "mx-ta.dane.test"), "DANE test CA")
chain = os.path.join(work, "chain.pem")
with open(chain, "w") as f:
    f.write(open(cert).read() + open(ca).read())


def der(*args):
    return subprocess.run(["openssl"] + list(args) + ["-outform", "DER"],
                          check=True, capture_output=True).stdout


spki = hashlib.sha256(der("pkey", "-in", key, "-pubout")).hexdigest()
ca_digest = hashlib.sha256(der("x509", "-in", ca)).hexdigest()
_, other_der = pombo.openssl_keypair(work, "other", "-algorithm", "ec",
                                     "-pkeyopt", "ec_paramgen_curve:P-256")
other = hashlib.sha256(other_der).hexdigest()


def tlsa(host, rdata):
    return "_%d._tcp.%s TLSA %s" % (P, host, rdata)


zkey = dnssec.make_key(work, "dane.test")
bogus_ds = dnssec.make_key(work, "bogus.dane.test")   # in the parent
bogus_signer = dnssec.make_key(work, "bogus.dane.test")   # signs it
records = [
    "ok MX 10 mx-ok", "mx-ok A " + TLS_IP, tlsa("mx-ok", "3 1 1 " + spki),
    # DANE-EE binds the key alone: the certificate need not name the host
    # (RFC 7672 3.1.1)
    "eename MX 10 mx-eename", "mx-eename A " + TLS_IP,
    tlsa("mx-eename", "3 1 1 " + spki),
    "bad MX 10 mx-bad", "mx-bad A " + TLS_IP, tlsa("mx-bad", "3 1 1 " + other),
    "nostls MX 10 mx-nostls", "mx-nostls A " + PLAIN_IP,
    tlsa("mx-nostls", "3 1 1 " + spki),
    "ta MX 10 mx-ta", "mx-ta A " + TLS_IP, tlsa("mx-ta", "2 0 1 " + ca_digest),
    "taname MX 10 mx-taname", "mx-taname A " + TLS_IP,
    tlsa("mx-taname", "2 0 1 " + ca_digest),
    # RFC 7672 2.2.3: the records at the CNAME's target count
    "cname MX 10 mx-cname", "mx-cname CNAME mx-ok",
    # all unusable: a SHA2-256 digest of 31 octets, a SHA2-512 one of
    # 32, usage 4 (none such), PKIX-EE(1) of the right key
    "mal MX 10 mx-mal", "mx-mal A " + TLS_IP,
    tlsa("mx-mal", "3 1 1 " + spki[:62]), tlsa("mx-mal", "3 1 2 " + spki),
    tlsa("mx-mal", "4 1 1 " + spki), tlsa("mx-mal", "1 1 1 " + spki),
    # a big RRset: 200 PKIX-EE(1) records, unusable, and one DANE-EE(3)
    # record that matches nothing (the resolver rotates the order). The
    # usable one counts however many come before it: TLS must be
    # authenticated, and fails
    "many MX 10 mx-many", "mx-many A " + TLS_IP] + [
    tlsa("mx-many", "1 1 1 %064x" % i) for i in range(200)] + [
    tlsa("mx-many", "3 1 1 " + other),
    # a DANE-EE(3) full certificate longer than the agent keeps: a
    # usable record it cannot compare, so never unauthenticated TLS
    "long MX 10 mx-long", "mx-long A " + TLS_IP,
    tlsa("mx-long", "3 0 0 " + "ab" * 5000),
    "malplain MX 10 mx-malplain", "mx-malplain A " + PLAIN_IP,
    tlsa("mx-malplain", "3 1 1 " + spki[:62]),
    # TLSA records whose signature is tampered with below (bogus)
    "tamper MX 10 mx-tamper", "mx-tamper A " + TLS_IP,
    tlsa("mx-tamper", "3 1 1 " + spki),
    # its AAAA RRset's signature is tampered with, its A RRset is fine:
    # half its addresses bogus, the other half must not go without DANE
    "half MX 10 mx-half", "mx-half A " + PLAIN_IP, "mx-half AAAA ::1",
    tlsa("mx-half", "3 1 1 " + spki),
    # a domain whose tls_policy names it: no DANE
    "override MX 10 mx-bad",
    # TLS reports (RFC 8460) wanted by ok and bad: DANE's results are
    # counted as the "tlsa" policy
    '_smtp._tls.ok TXT "v=TLSRPTv1; rua=mailto:bob@example.test"',
    '_smtp._tls.bad TXT "v=TLSRPTv1; rua=mailto:bob@example.test"',
    # delegations: one without DS (insecure), one whose DS matches no
    # key the child is signed with (bogus)
    "unsigned NS ns", "bogus NS ns",
    dnssec.ds_record(bogus_ds).replace("bogus.dane.test.", "bogus"),
]
signed = dnssec.zone_file(work, "dane.test", records, zkey)
dnssec.tamper_rrsig(signed, "_%d._tcp.mx-tamper.dane.test." % P, "TLSA")
dnssec.tamper_rrsig(signed, "mx-half.dane.test.", "AAAA")
zones = {
    "dane.test": signed,
    "unsigned.dane.test": dnssec.zone_file(work, "unsigned.dane.test", [
        "@ MX 10 mx", "mx A " + PLAIN_IP,
        # unsigned TLSA records count for nothing
        tlsa("mx", "3 1 1 " + other),
        # an insecure MX naming a secure host: its TLSA records count
        "insec MX 10 mx-bad.dane.test."]),
    "bogus.dane.test": dnssec.zone_file(work, "bogus.dane.test", [
        "@ MX 10 mx", "mx A " + TLS_IP, tlsa("mx", "3 1 1 " + spki)],
        bogus_signer),
}
anchor = os.path.join(work, "anchor.ds")
with open(anchor, "w") as f:
    f.write(dnssec.ds_record(zkey) + "\n")
nsd = dnssec.Nsd(work, zones)

b_domains = ["ok", "eename", "ta", "taname", "cname", "mal", "bad",
             "override", "bogus", "tamper", "many", "long"]
B = pombo.Instance({"hostname": "mx-b.test",
                    "local_domains": ", ".join(d + ".dane.test"
                                               for d in b_domains),
                    "hold_deliveries": "no", "tls_cert": chain,
                    "tls_key": key}, name="pombo-b",
                   users=["u@%s.dane.test" % d for d in b_domains]).start()
sa_b = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", B.conf_path],
                             B.env(), port=P, addr=TLS_IP)
plain = Peer(PLAIN_IP, P, "mx-plain.test", ext=["PIPELINING", "8BITMIME"])
A = pombo.Instance({"hold_deliveries": "no",
                    "dns_servers": "127.0.0.1:%d" % nsd.port,
                    "dns_trust_anchor": anchor, "remote_port": str(P),
                    "retry_interval": "1h", "delay_warning": "0",
                    "remote_timeout": "10s", "remote_connect_timeout": "2s",
                    "tls_policy": "override.dane.test:may"},
                   name="pombo-a").start()


def inbox(dom):
    d = os.path.join(B.mail, dom + ".dane.test", "u", "new")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def status(rcpt):
    """queued's last status line for rcpt: (status, reason) or None."""
    found = None
    for m in re.finditer(r"to=<%s>.*status=(\w+) \((.*)\)$" %
                         re.escape(rcpt), A.log(), re.M):
        found = (m.group(1), m.group(2))
    return found


try:
    rcpts = ["u@%s.dane.test" % d for d in
             ["ok", "eename", "bad", "nostls", "ta", "taname", "cname", "mal",
              "malplain", "override", "bogus", "many", "long", "tamper", "half",
              "unsigned", "insec.unsigned"]]
    msg = b"EHLO c.test\n"
    for r in rcpts:
        msg += (b"MAIL FROM:<bob@example.test>\nRCPT TO:<%s>\nDATA\n"
                b"Subject: to %s\n\nx\n.\n" % (r.encode(), r.encode()))
    out = A.smtpd(msg + b"QUIT\n")
    tap.eq(out.count(b"250 2.0.0 Ok"), len(rcpts), "all accepted")
    tap.ok(pombo.wait_for(lambda: all(status(r) for r in rcpts), 60),
           "every recipient has a result within the timeouts",
           [r for r in rcpts if not status(r)])

    def delivered(dom, name):
        tap.ok(pombo.wait_for(lambda: inbox(dom), 10), name,
               status("u@%s.dane.test" % dom))

    def deferred(rcpt, name, why):
        s = status(rcpt)
        tap.ok(s is not None and s[0] == "deferred", name, s)
        tap.ok(s is not None and re.search(why, s[1]) is not None,
               "... saying why (%s)" % why, s)

    delivered("ok", "DANE-EE 3 1 1 of the peer's key: delivered")
    tap.ok(re.search(r"mx-ok\.dane\.test: dane=pass: TLSA DANE-EE\(3\) 1 1 "
                     r"matched", A.log()) is not None,
           "and the DANE result is logged", A.log()[-3000:])
    delivered("eename", "DANE-EE: a certificate that does not name the "
              "host is no matter")
    delivered("ta", "DANE-TA 2 0 1 of its CA, naming the host: delivered")
    delivered("cname", "an MX host that is a CNAME: the target's TLSA "
              "records match: delivered")
    deferred("u@bad.dane.test", "a certificate matching no TLSA record "
             "defers", r"matches none of its TLSA records")
    tap.eq(inbox("bad"), [], "and nothing went to the server")
    deferred("u@many.dane.test", "a usable TLSA record among 200 unusable "
             "ones still counts: no match, deferred",
             r"matches none of its TLSA records")
    tap.eq(inbox("many"), [], "and nothing went to the server")
    deferred("u@long.dane.test", "a usable TLSA record too long to keep: "
             "the host is not used, never unauthenticated",
             r"4\.7\.5 DANE: mx-long\.dane\.test: .*too long")
    tap.eq(inbox("long"), [], "and nothing went to the server")
    deferred("u@taname.dane.test", "DANE-TA with a certificate not naming "
             "the host defers", r"TLSA|hostname|DANE")
    tap.eq(inbox("taname"), [], "and nothing went to the server")
    deferred("u@nostls.dane.test", "a server with TLSA records offering no "
             "STARTTLS defers", r"offers no STARTTLS but has TLSA records")
    deferred("u@malplain.dane.test", "only unusable TLSA records, no "
             "STARTTLS: deferred (TLS is still a must)",
             r"offers no STARTTLS")
    tap.ok(not any(m["rcpts"] and ("nostls" in m["rcpts"][0] or
                                   "malplain" in m["rcpts"][0] or
                                   "half" in m["rcpts"][0])
                   for m in plain.messages),
           "nothing sent in the clear to them", plain.messages)
    delivered("mal", "only unusable TLSA records (bad digest lengths, usage "
              "4, PKIX-EE): delivered over TLS, unauthenticated")
    tap.ok("mx-mal.dane.test: dane=unauthenticated" in A.log(),
           "logged as unauthenticated", A.log()[-3000:])
    deferred("u@bogus.dane.test", "a bogus signature defers",
             r"4\.4\.3 MX lookup of bogus\.dane\.test failed temporarily: "
             r"DNSSEC validation failed")
    tap.eq(inbox("bogus"), [], "nothing delivered")
    deferred("u@tamper.dane.test", "a TLSA RRset with a tampered signature: "
             "the host is not used, the mail waits",
             r"4\.7\.5 DANE: mx-tamper\.dane\.test: the TLSA records at "
             r"\S+ are bogus")
    tap.eq(inbox("tamper"), [], "nothing delivered")
    deferred("u@half.dane.test", "a host whose AAAA records are bogus and "
             "A records secure: not used", r"4\.7\.5 DANE: mx-half\.dane\."
             r"test: its address records are bogus")
    tap.ok(pombo.wait_for(lambda: any(
        m["rcpts"] == ["<u@unsigned.dane.test>"] for m in plain.messages), 10),
        "an unsigned zone: delivered in the clear as without DANE",
        plain.messages)
    deferred("u@insec.unsigned.dane.test", "an insecure MX naming a secure "
             "host with TLSA records: DANE for that host all the same",
             r"matches none of its TLSA records")
    delivered("override", "a domain with its own tls_policy: not subject "
              "to DANE")

    # the TLS reports of ok and bad: the tlsa policy's sessions
    r = A.tls_reports_now()
    tap.ok(r.returncode == 0 and "2 TLS reports queued" in r.stdout,
           "pombo-queue tls-reports: one report for ok, one for bad",
           r.stdout + r.stderr)
    tap.ok(pombo.wait_for(lambda: len(A.delivered("bob")) >= 2, 20),
           "both delivered to the rua address", A.log()[-1500:])
    reports = {m["TLS-Report-Domain"]: rep
               for m, _, rep in A.tls_reports("bob")}

    def tlsa_policy(dom):
        for p in reports.get(dom, {}).get("policies", []):
            if p["policy"].get("policy-type") == "tlsa":
                return p
        return {}
    ok = tlsa_policy("ok.dane.test")
    tap.eq(ok.get("summary"), {"total-successful-session-count": 1,
                               "total-failure-session-count": 0},
           "ok.dane.test: one DANE session, successful (policy-type tlsa)")
    bad = tlsa_policy("bad.dane.test")
    tap.eq([(f["result-type"], f.get("receiving-mx-hostname"))
            for f in bad.get("failure-details", [])],
           [("tlsa-invalid", "mx-bad.dane.test")],
           "bad.dane.test: the mismatch reported as tlsa-invalid")
finally:
    sa_b.stop()
    plain.stop()
    A.check_clean(tap)
    B.check_clean(tap)
    A.cleanup()
    B.cleanup()
    nsd.stop()

# a DNS server that never answers (it reads and drops every query, UDP
# and TCP): each lookup ends by its own deadline, the mail is deferred
# and queued keeps serving
hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hole.bind(("127.0.0.1", 0))
hole_tcp = socket.socket()
hole_tcp.bind(("127.0.0.1", hole.getsockname()[1]))
hole_tcp.listen(50)
C = pombo.Instance({"hold_deliveries": "no", "dns_servers": "127.0.0.1:%d" %
                    hole.getsockname()[1], "dns_trust_anchor": anchor,
                    "retry_interval": "1h", "delay_warning": "0"},
                   name="pombo-c").start()
try:
    t0 = time.monotonic()
    out = C.smtpd(b"EHLO c.test\nMAIL FROM:<bob@example.test>\n"
                  b"RCPT TO:<u@ok.dane.test>\nDATA\nx\n.\nQUIT\n")
    tap.ok(b"250 2.0.0 Ok" in out, "accepted with no DNS answering")
    tap.ok(pombo.wait_for(lambda: "to=<u@ok.dane.test>" in C.log() and
                          "status=deferred" in C.log(), 40),
           "deferred within the DNS deadline (%.0f s)" %
           (time.monotonic() - t0), C.log()[-1500:])
    tap.ok("MX lookup of ok.dane.test failed temporarily" in C.log(),
           "saying the lookup failed", C.log()[-1500:])
    out = C.smtpd(b"EHLO c.test\nMAIL FROM:<bob@example.test>\n"
                  b"RCPT TO:<bob@example.test>\nDATA\nx\n.\nQUIT\n")
    tap.ok(b"250 2.0.0 Ok" in out, "and queued keeps serving")
finally:
    C.check_clean(tap)
    C.cleanup()
    hole.close()
    hole_tcp.close()
    shutil.rmtree(work, ignore_errors=True)
tap.done()

"""MTA-STS (RFC 8461) in pombo-remote: policies served over HTTPS by a
local server (Python's http.server with a test CA, which the instance
trusts through tls_ca_file), found through _mta-sts TXT records on the
test's dnsmasq, and TLS SMTP peers on 127.0.8.x. The policy hosts all
resolve to 127.0.0.1, where the HTTPS server listens on a port of its
own: mta_sts_port points the fetches there (443 needs root, and
another test could hold it).

enforce with a matching MX delivers over verified TLS; enforce with a
non-matching MX, or with a certificate from an untrusted CA, defers;
testing delivers and logs what enforce would have refused; a domain
named in tls_policy is not looked up; a policy of 10 MB and a server
that never answers end within the timeout (queued delivers other mail
meanwhile), delivery then goes on without a policy; the policy is cached
in the spool's mta-sts/: a fetch that fails leaves it in force, a new
TXT id fetches again.

TLS reporting (RFC 8460): enf.test and big.test publish _smtp._tls
records naming bob@example.test, a local user; pombo-queue tls-reports
mails the day's reports now, and each arrives as a multipart/report
whose application/tlsrpt+gzip part (RFC 8460 5.3) holds the sessions
counted."""
import base64
import http.server
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
certdir = tempfile.mkdtemp(prefix="pombo-sts-")
DOMAINS = ["enf.test", "nomatch.test", "rogue.test", "tst.test", "big.test",
           "hang.test", "ovr.test", "esc.test"]
ca, cert, key = pombo.make_certs(
    certdir, ["mx.%s" % d for d in DOMAINS] + ["mx2.enf.test"] +
    ["mta-sts.%s" % d for d in DOMAINS])
# a certificate for the right name, from a CA the instance does not trust
rogue_dir = os.path.join(certdir, "rogue")
os.mkdir(rogue_dir)
_, rogue_cert, rogue_key = pombo.make_certs(rogue_dir, ("mx.rogue.test",
                                                        "mx.tst.test"),
                                            "Rogue CA")


def server_ctx(c, k):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(c, k)
    return ctx


def policy(mode, *mx, max_age=86400):
    return ("version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n" % (
        mode, "".join("mx: %s\r\n" % m for m in mx), max_age)).encode()


# what the HTTPS server answers, by policy host: (status, type, body),
# or "big" (10 MB of text/plain, no Content-Length) or "hang"
POLICIES = {
    "enf.test": (200, "text/plain", policy("enforce", "mx.enf.test")),
    "nomatch.test": (200, "text/plain", policy("enforce",
                                                "mx.elsewhere.test")),
    "rogue.test": (200, "text/plain", policy("enforce", "*.rogue.test")),
    "tst.test": (200, "text/plain; charset=utf-8",
                 policy("testing", "mx.other.test")),
    "big.test": "big",
    "hang.test": "hang",
    "ovr.test": (200, "text/plain", policy("enforce", "mx.elsewhere.test")),
    # terminal escapes (clear the screen, red) and a bell in a header
    # that the log names: they must not reach a log line as they came
    "esc.test": (200, "\x1b[2J\x1b[31mtext/html\x07",
                 policy("enforce", "mx.elsewhere.test")),
}
FETCHES = {}
stopping = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        host = self.headers.get("Host", "").split(":")[0]
        domain = host[len("mta-sts."):]
        FETCHES[domain] = FETCHES.get(domain, 0) + 1
        what = POLICIES.get(domain, (404, "text/plain", b"no\n"))
        if self.path != "/.well-known/mta-sts.txt":
            what = (404, "text/plain", b"no\n")
        if what == "hang":
            stopping.wait(60)       # never answers (bounded by the test)
            return
        if what == "big":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            line = b"x-padding: " + b"y" * 1000 + b"\r\n"
            try:
                for _ in range(10 * 1024):      # 10 MB
                    self.wfile.write(line)
            except OSError:
                pass
            return
        status, ctype, body = what
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        # the handshake in the handler's thread, not the accepting one
        return HTTPS_CTX.wrap_socket(sock, server_side=True,
                                     do_handshake_on_connect=False), addr


HTTPS_CTX = server_ctx(cert, key)
https = TLSServer(("127.0.0.1", 0), Handler)
https_port = https.server_address[1]
threading.Thread(target=https.serve_forever, daemon=True).start()

P = pombo.free_port()
ADDR = {"enf.test": "127.0.8.1", "nomatch.test": "127.0.8.2",
        "rogue.test": "127.0.8.3", "tst.test": "127.0.8.4",
        "big.test": "127.0.8.5", "hang.test": "127.0.8.6",
        "ovr.test": "127.0.8.7", "mx2.enf.test": "127.0.8.8",
        "esc.test": "127.0.8.9"}
good = server_ctx(cert, key)
peers = {d: Peer(a, P, "mx." + d, tls=server_ctx(rogue_cert, rogue_key)
                 if d in ("rogue.test", "tst.test") else good)
         for d, a in ADDR.items()}


def dns_options(txt, mx_enf="mx.enf.test"):
    opts = []
    for d in DOMAINS:
        mx = mx_enf if d == "enf.test" else "mx." + d
        opts += ["--mx-host=%s,%s,10" % (d, mx),
                 "--host-record=mx.%s,%s" % (d, ADDR[d]),
                 "--host-record=mta-sts.%s,127.0.0.1" % d,
                 "--txt-record=_mta-sts.%s,v=STSv1; id=%s" % (
                     d, txt.get(d, "1"))]
    opts.append("--host-record=mx2.enf.test,%s" % ADDR["mx2.enf.test"])
    for d in ("enf.test", "big.test"):
        opts.append("--txt-record=_smtp._tls.%s,v=TLSRPTv1; "
                    "rua=mailto:bob@example.test" % d)
    return opts


dns = pombo.Dnsmasq(dns_options({}), certdir)
A = pombo.Instance({"hold_deliveries": "no",
                    "dns_servers": "127.0.0.1:%d" % dns.port,
                    "remote_port": str(P), "retry_interval": "1h",
                    "tls_ca_file": ca, "mta_sts_port": str(https_port),
                    "mta_sts_timeout": "3s",
                    "tls_policy": "ovr.test:may"}, name="pombo-sts").start()


def send(*rcpts):
    s = b"EHLO c.test\n"
    for r in rcpts:
        s += (b"MAIL FROM:<bob@example.test>\nRCPT TO:<%s>\nDATA\n"
              b"Subject: to %s\n\nx\n.\n" % (r.encode(), r.encode()))
    out = A.smtpd(s + b"QUIT\n")
    tap.eq(out.count(b"250 2.0.0 Ok"), len(rcpts), "accepted: %s" %
           ", ".join(rcpts))


def got(domain):
    return len(peers[domain].messages)


def outcome(rcpt):
    """The log line of rcpt's delivery attempt, once there is one."""
    for line in A.log().splitlines():
        if "to=<%s>" % rcpt in line and "status=" in line:
            return line
    return None


try:
    # enforce, matching MX, certificate from the trusted CA: delivered
    send("a@enf.test")
    tap.ok(pombo.wait_for(lambda: got("enf.test") == 1, 20),
           "enforce, matching MX: delivered", A.log()[-2000:])
    tap.eq(peers["enf.test"].tls_sessions, 1, "over TLS")
    tap.ok("policy of enf.test fetched: id 1, mode enforce" in A.log(),
           "the fetch is logged")
    cached = os.path.join(A.spool, "mta-sts", "enf.test")
    tap.ok(os.path.exists(cached) and
           b"mx: mx.enf.test" in open(cached, "rb").read(),
           "the policy is cached in the spool's mta-sts/")

    # enforce, the MX is not in the policy: deferred, never connected
    send("a@nomatch.test")
    tap.ok(pombo.wait_for(lambda: outcome("a@nomatch.test"), 20),
           "enforce, MX not in the policy: an outcome")
    line = outcome("a@nomatch.test") or ""
    tap.ok("status=deferred" in line and "4.7.5" in line and
           "matches its MTA-STS policy" in line,
           "deferred with the reason", line)
    tap.eq(peers["nomatch.test"].connections, 0, "the MX never connected")

    # enforce, a certificate from an untrusted CA: deferred, no mail sent
    send("a@rogue.test")
    tap.ok(pombo.wait_for(lambda: outcome("a@rogue.test"), 20),
           "enforce, untrusted certificate: an outcome")
    line = outcome("a@rogue.test") or ""
    tap.ok("status=deferred" in line and "certificate of mx.rogue.test" in
           line and "MTA-STS policy of rogue.test is enforce" in line,
           "deferred, saying why", line)
    tap.eq(got("rogue.test"), 0, "nothing was sent to it")
    tap.ok(not any(c.startswith("MAIL") for c in
                   peers["rogue.test"].commands), "not even MAIL")

    # testing: delivered, with what enforce would have refused logged
    send("a@tst.test")
    tap.ok(pombo.wait_for(lambda: got("tst.test") == 1, 20),
           "testing: delivered", A.log()[-2000:])
    log = A.log()
    tap.ok("MTA-STS testing: mx.tst.test is no MX host of the policy of "
           "tst.test" in log, "the MX mismatch is logged")
    tap.ok("MTA-STS testing: certificate of mx.tst.test" in log,
           "the untrusted certificate is logged")

    # a domain in tls_policy: its own policy, no MTA-STS lookup
    send("a@ovr.test")
    tap.ok(pombo.wait_for(lambda: got("ovr.test") == 1, 20),
           "a domain named in tls_policy ignores MTA-STS")
    tap.ok("ovr.test" not in FETCHES, "and its policy is not fetched")

    # a content type with control characters: refused, and logged
    # without them (a log file shown on a terminal would run them)
    send("a@esc.test")
    tap.ok(pombo.wait_for(lambda: got("esc.test") == 1, 20),
           "a policy that is not text/plain: the mail goes without one",
           A.log()[-2000:])
    log = A.log()
    tap.ok("content type ?[2J?[31mtext/html?, not text/plain" in log,
           "the content type is logged, its control characters as '?'",
           log[-2000:])
    tap.ok("\x1b" not in log and "\x07" not in log,
           "no control character reaches the log", [
               ln for ln in log.splitlines() if "\x1b" in ln or "\x07" in ln])

    # hostile servers: 10 MB, and one that never answers (3 s timeout);
    # queued delivers other mail meanwhile
    t0 = time.monotonic()
    send("a@hang.test", "a@big.test")
    tap.ok(pombo.wait_for(lambda: got("big.test") == 1, 20),
           "a 10 MB policy is refused, the mail goes without one",
           A.log()[-2000:])
    t_big = time.monotonic() - t0
    tap.ok(t_big < 3, "quickly (%.1f s), while the other fetch hangs" %
           t_big)
    tap.ok("policy longer than 65536 octets" in A.log(),
           "the size is named")
    send("b@enf.test")
    tap.ok(pombo.wait_for(lambda: got("enf.test") == 2, 20),
           "other mail is delivered meanwhile (cached policy)")
    tap.eq(FETCHES.get("enf.test"), 1, "the cached policy is used: the "
           "TXT id is the same")
    tap.ok(got("hang.test") == 0, "the hanging fetch is still waiting")
    tap.ok(pombo.wait_for(lambda: got("hang.test") == 1, 20),
           "a policy server that never answers: the mail goes after the "
           "timeout", A.log()[-2000:])
    t_hang = time.monotonic() - t0
    tap.ok(2.5 < t_hang < 15, "after about mta_sts_timeout (%.1f s)" %
           t_hang)
    tap.ok("policy of hang.test cannot be fetched" in A.log(),
           "the failed fetch is logged")

    # the MX of enf.test changes, its TXT id too, and its policy server
    # fails: the cached policy stays in force, and defers the mail
    POLICIES["enf.test"] = (500, "text/plain", b"down\n")
    A.stop()
    dns.stop()
    dns = pombo.Dnsmasq(dns_options({"enf.test": "2"}, "mx2.enf.test"),
                        certdir)
    A.set_conf(dns_servers="127.0.0.1:%d" % dns.port)
    A.start()
    send("c@enf.test")
    tap.ok(pombo.wait_for(lambda: outcome("c@enf.test"), 20),
           "policy server down: an outcome")
    line = outcome("c@enf.test") or ""
    tap.ok("status=deferred" in line and "matches its MTA-STS policy" in
           line, "the cached policy (mx.enf.test only) is in force", line)
    tap.ok("the cached one stays in force" in A.log(), "and says so")
    tap.eq(FETCHES.get("enf.test"), 2, "the new id was tried")
    tap.eq(got("mx2.enf.test"), 0, "mx2 got nothing")

    # a new policy with a new id: fetched, mail goes to the new MX
    POLICIES["enf.test"] = (200, "text/plain",
                            policy("enforce", "mx2.enf.test"))
    A.stop()
    dns.stop()
    dns = pombo.Dnsmasq(dns_options({"enf.test": "3"}, "mx2.enf.test"),
                        certdir)
    A.set_conf(dns_servers="127.0.0.1:%d" % dns.port)
    A.start()
    subprocess.run([pombo.prog("queued/pombo-queue"), "-c", A.conf_path,
                    "flush"], capture_output=True, timeout=30)
    tap.ok(pombo.wait_for(lambda: got("mx2.enf.test") == 1, 20),
           "a new TXT id: the new policy is fetched and used",
           A.log()[-2000:])
    tap.eq(FETCHES.get("enf.test"), 3, "fetched again")
    tap.ok(b"id 3\n" in open(cached, "rb").read(), "and cached with its id")

    # TLS reports (RFC 8460), sent now rather than after midnight
    r = A.tls_reports_now()
    tap.ok(r.returncode == 0 and "2 TLS reports queued" in r.stdout,
           "pombo-queue tls-reports queues one report per domain",
           r.stdout + r.stderr)
    tap.ok(pombo.wait_for(lambda: len(A.delivered("bob")) == 2, 20),
           "both reach the rua address", A.log()[-1500:])
    reports = {}
    for msg, part, report in A.tls_reports("bob"):
        tap.ok(msg.get_content_type() == "multipart/report" and
               msg.get_param("report-type") == "tlsrpt" and
               msg["Subject"].startswith("Report Domain: %s Submitter: "
                                         "mx.test Report-ID: " %
                                         msg["TLS-Report-Domain"]),
               "%s: a multipart/report of type tlsrpt (RFC 8460 5.3)" %
               msg["TLS-Report-Domain"], str(msg)[:600])
        tap.ok(part.get_filename().startswith(
            "mx.test!%s!" % msg["TLS-Report-Domain"]) and
            part.get_filename().endswith(".json.gz"),
            "its file name (RFC 8460 5.1)", part.get_filename())
        reports[msg["TLS-Report-Domain"]] = report
    enf = reports.get("enf.test", {})
    pols = {p["policy"]["policy-type"]: p for p in enf.get("policies", [])}
    sts = pols.get("sts", {})
    tap.eq(sorted(pols), ["sts"], "enf.test: one policy, sts")
    tap.eq(sts.get("policy", {}).get("mx-host"), ["mx2.enf.test"],
           "with the policy's mx")
    tap.ok("mode: enforce" in sts.get("policy", {}).get("policy-string",
                                                         []),
           "and its text")
    tap.eq(sts.get("summary"), {"total-successful-session-count": 3,
                                "total-failure-session-count": 2},
           "three sessions worked, two failed")
    tap.eq(sorted((f["result-type"], f.get("receiving-mx-hostname"),
                   f["failed-session-count"])
                  for f in sts.get("failure-details", [])),
           [("sts-policy-fetch-error", None, 1),
            ("validation-failure", "mx2.enf.test", 1)],
           "the failures: the fetch, the MX outside the policy")
    tap.ok(enf.get("organization-name") == "mx.test" and
           enf.get("date-range", {}).get("start-datetime", "").endswith(
               "T00:00:00Z") and enf.get("report-id"),
           "organization, date range, report id")
    big = reports.get("big.test", {})
    pols = {p["policy"]["policy-type"]: p["summary"]
            for p in big.get("policies", [])}
    tap.eq(pols, {"sts": {"total-successful-session-count": 0,
                          "total-failure-session-count": 1},
                  "no-policy-found": {"total-successful-session-count": 1,
                                      "total-failure-session-count": 0}},
           "big.test: the failed fetch, then a session without a policy")
    tap.eq(os.listdir(os.path.join(A.spool, "tlsrpt")), [],
           "the day's counts are gone once sent")
finally:
    stopping.set()
    https.shutdown()
    for p in peers.values():
        p.stop()
    A.check_clean(tap)
    A.cleanup()
    dns.stop()
    shutil.rmtree(certdir, ignore_errors=True)
tap.done()

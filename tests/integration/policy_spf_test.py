"""postfix-policyd-spf-python, Debian's SPF policy server, as a policy
service (issue 17), with SPF records on a local dnsmasq: a sender whose
domain's SPF fails for the client is refused with policyd-spf's own
reply; one that passes is queued with the Received-SPF: field it
PREPENDs on top. policyd-spf speaks on stdin/stdout (Postfix's spawn):
systemd-socket-activate gives it the connections. It resolves through
dnspython's default resolver, which reads /etc/resolv.conf: a small
wrapper points that resolver at the test's dnsmasq before it starts, so
neither the system's resolver nor its configuration are touched."""
import os
import re
import shutil
import smtplib
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
# Debian's python3 holds its modules; the build's python may not
SYSPY = "/usr/bin/python3"
if not os.path.exists("/usr/bin/policyd-spf") or \
        not os.path.exists("/usr/lib/python3/dist-packages/spf_engine"):
    tap.skip("policyd-spf", "postfix-policyd-spf-python is not installed")
    tap.done()
if shutil.which("dnsmasq") is None:
    tap.skip("policyd-spf", "dnsmasq is not installed")
    tap.done()

work = tempfile.mkdtemp(prefix="pombo-spf-")
dns = pombo.Dnsmasq(
    ["--txt-record=fail.test,v=spf1 ip4:198.51.100.0/24 -all",
     "--txt-record=pass.test,v=spf1 ip4:192.0.2.0/24 -all"], work)
conf = os.path.join(work, "policyd-spf.conf")
with open(conf, "w") as f:
    f.write("debugLevel = 1\nTestOnly = 1\nHELO_reject = Fail\n"
            "Mail_From_reject = Fail\nPermError_reject = False\n"
            "TempError_Defer = False\nskip_addresses = 127.0.0.0/8\n"
            "Lookup_Time = 10\n")
wrapper = os.path.join(work, "policyd-spf-test")
with open(wrapper, "w") as f:
    f.write("""import sys
import dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = %d
dns.resolver.default_resolver = r
from spf_engine.policyd_spf import main
sys.argv = ["policyd-spf", %r]
sys.exit(main())
""" % (dns.port, conf))
spf = pombo.SocketActivated([SYSPY, wrapper], dict(os.environ))
inst = pombo.Instance({"policy_services": "inet:127.0.0.1:%d" % spf.port,
                       "policy_timeout": "20s"})
remote = None
try:
    inst.start()
    remote = pombo.SocketActivated(
        ["-E", "TCPREMOTEIP=192.0.2.7", pombo.prog("smtpd/smtpd"), "-c",
         inst.conf_path], inst.env())

    def attempt(sender):
        with smtplib.SMTP("127.0.0.1", remote.port, timeout=60) as s:
            s.ehlo("client.unknown.test")
            s.mail(sender)
            code, msg = s.rcpt("bob@example.test")
            if code != 250:
                return code, msg.decode()
            code, msg = s.data(b"Subject: spf\r\n\r\nhello\r\n")
            return code, msg.decode()

    code, msg = attempt("alice@fail.test")
    tap.ok(code == 550 and msg.startswith("5.7.23 Message rejected due to: "
                                          "SPF fail - not authorized"),
           "a sender whose SPF fails is refused with policyd-spf's text",
           (code, msg))
    code, msg = attempt("alice@pass.test")
    m = re.search(r"queued as (\w+)", msg)
    data = inst.queue_file(m.group(1)).split(b"\ndata\n", 1)[1] if m \
        else b""
    tap.ok(code == 250 and data.startswith(b"Received-SPF: Pass ") and
           b"client-ip=192.0.2.7" in data.split(b"\nReceived: ", 1)[0],
           "a sender that passes is queued, policyd-spf's Received-SPF: on "
           "top", (code, msg, data[:400]))
    inst.check_clean(tap)
finally:
    if remote:
        remote.stop()
    spf.stop()
    dns.stop()
    inst.cleanup()
    shutil.rmtree(work, ignore_errors=True)
tap.done()

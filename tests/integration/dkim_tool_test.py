"""pombo-dkim: keygen writes an Ed25519 and an RSA-2048 key (mode 0640,
never over an existing file) and prints the DNS records and the
dkim_keys line; a dnsmasq serving exactly the printed records makes
`pombo-dkim check` say every key matches (and queued start with the
printed dkim_keys line), and the keys sign mail that python3-dkim
verifies against the printed records. A record of another key, or
none, makes check fail and say why."""
import base64
import os
import re
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

import dkim  # noqa: E402

tap = pombo.Tap()
TOOL = pombo.prog("queued/pombo-dkim")
work = tempfile.mkdtemp(prefix="pombo-dkimtool-")
keydir = os.path.join(work, "keys")
os.mkdir(keydir)
conf = os.path.join(work, "pombo.conf")


def write_conf(extra=""):
    with open(conf, "w") as f:
        f.write("hostname = mx.example.test\n" + extra)


def tool(*args):
    return subprocess.run([TOOL, "-c", conf] + list(args),
                          capture_output=True, text=True, timeout=60)


def records(text):
    """name -> joined text of each 'name. IN TXT "..." "..."' line."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(\S+)\. IN TXT((?: "[^"]*")+)$', line)
        if m:
            out[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return out


def dnsmasq(recs):
    opts = []
    for name, text in recs.items():
        parts = [text[i:i + 250] for i in range(0, len(text), 250)]
        # dnsmasq's command line takes the strings bare, comma-separated
        opts.append("--txt-record=%s,%s" % (name, ",".join(parts)))
    d = tempfile.mkdtemp(prefix="dns-", dir=work)
    return pombo.Dnsmasq(opts, d)


servers = []
try:
    write_conf()
    r = tool("-d", keydir, "keygen", "example.test")
    tap.eq(r.returncode, 0, "keygen: exit 0")
    recs = records(r.stdout)
    tap.ok(sorted(recs) == ["_dmarc.example.test", "example.test",
                            "pombo-ed25519._domainkey.example.test",
                            "pombo-rsa._domainkey.example.test"],
           "keygen prints the two DKIM records, SPF and DMARC", r.stdout)
    tap.ok(recs.get("example.test", "").startswith("v=spf1 ") and
           recs.get("_dmarc.example.test", "").startswith("v=DMARC1; p="),
           "the SPF and DMARC records are well formed", recs)
    m = re.search(r"^dkim_keys = (.*)$", r.stdout, re.M)
    keyline = m.group(1) if m else ""
    files = [os.path.join(keydir, "example.test.pombo-%s.pem" % t)
             for t in ("ed25519", "rsa")]
    tap.eq(keyline, "example.test:pombo-ed25519:%s, "
           "example.test:pombo-rsa:%s" % tuple(files),
           "keygen prints the dkim_keys line")
    tap.ok(all(os.path.exists(f) and
               stat.S_IMODE(os.stat(f).st_mode) == 0o640 for f in files),
           "the key files are written with mode 0640")
    types = [subprocess.run(["openssl", "pkey", "-in", f, "-noout",
                             "-text"], capture_output=True,
                            text=True).stdout.split("\n")[0]
             for f in files]
    tap.ok("ED25519" in types[0] and "2048 bit" in types[1],
           "an Ed25519 key and an RSA-2048 key", types)
    before = open(files[0], "rb").read()
    r2 = tool("-d", keydir, "keygen", "example.test")
    tap.ok(r2.returncode != 0 and "File exists" in r2.stderr and
           open(files[0], "rb").read() == before,
           "keygen never replaces a key file", r2.stderr)
    # nothing printed: no records of keys that were not made
    tap.eq(r2.stdout, "", "keygen over an existing key prints no records")
    r3 = tool("-d", os.path.join(work, "no-such-folder"), "keygen",
              "example.test")
    tap.ok(r3.returncode == 73 and r3.stdout == "" and
           "no-such-folder: No such file or directory" in r3.stderr,
           "keygen into a missing folder: 73, says so, prints no records",
           (r3.returncode, r3.stdout, r3.stderr))

    # the printed records, published: check finds every key matches
    dns = dnsmasq(recs)
    servers.append(dns)
    write_conf("dns_servers = 127.0.0.1:%d\ndkim_keys = %s\n" %
               (dns.port, keyline))
    r = tool("check", "example.test")
    tap.eq(r.returncode, 0, "check against the printed records: exit 0")
    tap.ok(len(re.findall(r": ok \(", r.stdout)) == 2,
           "check: both DKIM keys match their records", r.stdout)
    tap.ok("spf: example.test: v=spf1" in r.stdout and
           "dmarc: _dmarc.example.test: v=DMARC1" in r.stdout,
           "check shows the SPF and DMARC records", r.stdout)

    # python3-dkim agrees: the keys sign, the printed records verify
    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return recs.get(n.rstrip("."), "").encode()
    msg = (b"From: a@example.test\r\nTo: b@far.test\r\nSubject: t\r\n\r\n"
           b"hi\r\n")
    rsa_sig = dkim.sign(msg, b"pombo-rsa", b"example.test",
                        open(files[1], "rb").read(),
                        include_headers=[b"from", b"to", b"subject"])
    tap.ok(dkim.verify(rsa_sig + msg, dnsfunc=dnsfunc),
           "python3-dkim: the RSA key verifies against its printed record")
    # dkimpy takes an Ed25519 key as base64 of its 32 raw octets
    der = subprocess.run(["openssl", "pkey", "-in", files[0], "-outform",
                          "DER"], capture_output=True).stdout
    ed_sig = dkim.sign(msg, b"pombo-ed25519", b"example.test",
                       base64.b64encode(der[-32:]),
                       signature_algorithm=b"ed25519-sha256",
                       include_headers=[b"from", b"to", b"subject"])
    tap.ok(dkim.verify(ed_sig + msg, dnsfunc=dnsfunc),
           "python3-dkim: the Ed25519 key verifies against its record")

    # queued starts with the printed line
    inst = pombo.Instance({"dkim_keys": keyline}, name="pombo-dkimtool")
    try:
        inst.start()
        tap.ok(True, "queued starts with the printed dkim_keys line")
    except RuntimeError as e:
        tap.ok(False, "queued starts with the printed dkim_keys line",
               str(e))
    finally:
        inst.cleanup()

    # another key's record, and no record: check says so
    other = os.path.join(work, "other")
    os.mkdir(other)
    r = tool("-d", other, "keygen", "example.test")
    wrong = dict(records(r.stdout))
    del wrong["pombo-ed25519._domainkey.example.test"]
    dns2 = dnsmasq(wrong)
    servers.append(dns2)
    write_conf("dns_servers = 127.0.0.1:%d\ndkim_keys = %s\n" %
               (dns2.port, keyline))
    r = tool("check", "example.test")
    tap.ok(r.returncode == 1 and
           "p= is not the public half of " + files[1] in r.stdout and
           "pombo-ed25519: no DKIM record" in r.stdout,
           "check: a record of another key, and a missing one, fail",
           r.stdout)
    # a DNS server that does not answer: check says the lookups failed,
    # not that the records are missing
    with __import__("socket").socket() as s_:
        s_.bind(("127.0.0.1", 0))
        dead = s_.getsockname()[1]
    write_conf("dns_servers = 127.0.0.1:%d\ndkim_keys = %s\n" %
               (dead, keyline))
    r = tool("check", "example.test")
    tap.ok(r.returncode == 1 and
           "spf: example.test: cannot be looked up" in r.stdout and
           "dmarc: _dmarc.example.test: cannot be looked up" in r.stdout and
           "pombo-rsa._domainkey.example.test cannot be looked up"
           in r.stdout and "no SPF record" not in r.stdout and
           "no DKIM record" not in r.stdout,
           "check: a DNS failure is no missing record", r.stdout)
    write_conf("dns_servers = 127.0.0.1:%d\ndkim_keys = %s\n" %
               (dns2.port, keyline))
    r = tool("check", "nokeys.test")
    tap.ok(r.returncode == 1 and "no dkim_keys entry" in r.stdout,
           "check: a domain without keys fails", r.stdout)
finally:
    for s in servers:
        s.stop()
tap.done()

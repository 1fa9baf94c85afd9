#!/usr/bin/env python3
"""Pombo's benchmark (`make bench`): Pombo against Postfix (SMTP) and
Dovecot (POP3) on the same machine in the same run, on 127.0.0.1 only.

Figures (see tests/bench/README.md for the method and the choices):
  limits    fsyncs/s on the spool's disk, spawns/s of /bin/true
  accept    SMTP acceptance, messages/s that got 250 and are durable
  e2e       250 -> file in Maildir/new, under a concurrency-50 load
  outbound  queue drained to smtp-sink through MX on a local dnsmasq
  milter    acceptance with one accept-all milter, and without
  tls       STARTTLS sessions (tests/bench/tlsload), without and with resumption
  pop3      login+STAT+LIST+UIDL and RETR of all on 10,000 messages
  cost      RSS of smtpd, pop3d; queued with 100,000 messages: RSS, start

Writes results.json and results.md in --out. Every load loop is bounded
in count and time; everything started is stopped in finally blocks.
"""
import argparse
import base64
import json
import math
import os
import platform
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import peers  # noqa: E402
from benchlib import log, summary  # noqa: E402

PACKAGES = ["postfix", "dovecot-pop3d", "dnsmasq-base", "systemd",
            "openssl", "musl-tools", "ucspi-tcp"]
DOMAIN = peers.DOMAIN


# ---------------------------------------------------------------- load

def smtp_source(port, conc, count, per_session=1, size=4096,
                to="load@" + DOMAIN, extra=(), timeout=300):
    """Postfix's smtp-source: count messages over conc parallel sessions,
    per_session messages a connection (-d keeps a session for the next
    message, so one run of -s c -m per*c gives each session ~per).
    Returns the seconds it took."""
    if per_session == 1:
        runs = [count]
    else:
        batch = per_session * conc
        runs = [batch] * max(1, math.ceil(count / batch))
    t0 = time.monotonic()
    for m in runs:
        argv = ["smtp-source", "-s", str(conc), "-m", str(m), "-l",
                str(size), "-t", to, "-f", "sender@client.test", "-M",
                "client.test"] + list(extra)
        if per_session > 1:
            argv.append("-d")
        argv.append("127.0.0.1:%d" % port)
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("smtp-source failed: %s %s" % (
                r.stdout[-500:], r.stderr[-500:]))
    return time.monotonic() - t0


# ---------------------------------------------------------------- figures

ACCEPT_CONFIGS = [
    # (name, concurrency, messages per session, size, messages a round)
    ("4 KB, c=1, 1 msg/session", 1, 1, 4096, 400),
    ("4 KB, c=1, 100 msg/session", 1, 100, 4096, 1000),
    ("4 KB, c=10, 1 msg/session", 10, 1, 4096, 2000),
    ("4 KB, c=10, 100 msg/session", 10, 100, 4096, 2000),
    ("4 KB, c=50, 1 msg/session", 50, 1, 4096, 3000),
    ("4 KB, c=50, 100 msg/session", 50, 100, 4096, 5000),
    ("100 KB, c=10, 1 msg/session", 10, 1, 102400, 500),
]


def fig_accept(ctx, rnd, out):
    """Both systems up at once (idle when not measured); each config is
    measured on Pombo, then on Postfix. Pombo: hold_deliveries = yes.
    Postfix: smtpd_recipient_restrictions = check_client_access
    static:HOLD, so cleanup fsyncs the queue file, puts it in hold/ and
    nothing is delivered (the analogue of hold_deliveries).

    With one message a session, more runs measure the ceiling:
    tests/bench/nullsmtpd, which answers and stores nothing, under the
    same spawner, linked as smtpd is (statically with musl when
    configure found musl-gcc: the ceiling of the ratio) and then the
    other way (what the C library's start costs); its count file has
    one octet per message it took. Pombo and nullsmtpd are measured under two
    spawners: systemd-socket-activate and ucspi-tcp's tcpserver."""
    P = peers.Pombo(ctx.procs, ctx.base, "accept-pombo-%d" % rnd)
    F = peers.Postfix(ctx.procs, ctx.base, "accept-postfix-%d" % rnd, {
        "smtpd_recipient_restrictions":
            "check_client_access static:HOLD"},
        resolv_conf=ctx.dns.resolv_conf)
    try:
        P.start_queued()
        pport, _ = P.listen("smtpd/smtpd")
        tport, _ = P.listen("smtpd/smtpd", spawner="tcpserver")
        # runs of one message a session only
        ceilings = [("pombo_tcpserver", tport, P.queue_count)]
        # "ceiling" is the null handler linked as smtpd is; the row of
        # the other C library says what its start costs
        glibc_null = "tests/bench/nullsmtpd"
        if smtpd_static() and ctx.nullsmtpd_musl:
            same, other, other_key = ctx.nullsmtpd_musl, glibc_null, \
                "ceiling_glibc"
        else:
            same, other, other_key = glibc_null, ctx.nullsmtpd_musl, \
                "ceiling_musl"
        for who, prog, spawner in (
                ("ceiling", same, "ssa"),
                (other_key, other, "ssa"),
                ("ceiling_tcpserver", same, "tcpserver")):
            if prog:
                count_file = os.path.join(P.dir, who + ".count")
                open(count_file, "w").close()
                port, _ = P.listen(prog, [count_file], spawner)
                ceilings.append((who, port, lambda f=count_file:
                                 os.path.getsize(f)))
        F.start()
        # warm-up: first execs, Postfix's first smtpd/cleanup processes
        smtp_source(pport, 5, 50)
        smtp_source(F.port, 5, 50)
        for _, port, _ in ceilings:
            smtp_source(port, 5, 50)
        for name, conc, per, size, count in ACCEPT_CONFIGS:
            count = ctx.scale(count, conc * per)
            runs = [("pombo", pport, P.queue_count),
                    ("peer", F.port, lambda: F.queued_count(
                        ["incoming", "hold"]))]
            if per == 1:
                runs += ceilings
            for who, port, counter in runs:
                n0 = counter()
                secs = smtp_source(port, conc, count, per, size)
                n = counter() - n0
                rate = n / secs
                out.setdefault(name, {}).setdefault(who, []).append(rate)
                log("accept %-30s %-12s %6d msgs %6.2fs %8.1f/s" % (
                    name, who, n, secs, rate))
    finally:
        P.cleanup()
        F.cleanup()


def probe_message(pid):
    return ("From: <probe@client.test>\r\nTo: <probe@%s>\r\n"
            "Subject: probe\r\nX-Bench-Probe: %s\r\n\r\n%s\r\n" % (
                DOMAIN, pid, "x" * 1000)).encode()


def e2e_run(port, maildir, load_secs, counter):
    """smtp-source at c=50 (1 msg/session) for load_secs while one client
    sends probes one after the other, each in its own session, noting
    when its 250 came; then the probes' files in maildir/new are matched
    by their X-Bench-Probe header and their ctime (set when the file
    was linked or renamed into new/) gives the delivery time."""
    sent = {}
    stop = threading.Event()
    errors = []

    def probes():
        while not stop.is_set() and len(sent) < 2000:
            pid = uuid.uuid4().hex
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                    s.ehlo("probe.test")
                    s.mail("probe@client.test")
                    s.rcpt("probe@" + DOMAIN)
                    code, _ = s.data(probe_message(pid))
                    t = time.time_ns()
                    if code == 250:
                        sent[pid] = t
            except (OSError, smtplib.SMTPException) as e:
                errors.append(str(e))
            stop.wait(0.02)

    load = subprocess.Popen(
        ["smtp-source", "-s", "50", "-m", "100000", "-l", "4096", "-t",
         "load@" + DOMAIN, "-f", "sender@client.test", "-M", "client.test",
         "127.0.0.1:%d" % port], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    n0 = counter()
    th = threading.Thread(target=probes, daemon=True)
    t0 = time.monotonic()
    th.start()
    try:
        load.wait(load_secs)
    except subprocess.TimeoutExpired:
        pass
    finally:
        stop.set()
        if load.poll() is None:
            load.terminate()
        load.wait(10)
    secs = time.monotonic() - t0
    th.join(60)
    accepted = counter() - n0
    # wait (bounded) for every probe's file
    found = {}
    newdir = os.path.join(maildir, "new")
    seen = set()
    end = time.monotonic() + 180
    while len(found) < len(sent) and time.monotonic() < end:
        try:
            names = os.listdir(newdir)
        except OSError:
            names = []
        for n in names:
            if n in seen:
                continue
            path = os.path.join(newdir, n)
            try:
                st = os.stat(path)
                with open(path, "rb") as f:
                    head = f.read(4096)
            except OSError:
                continue
            seen.add(n)
            i = head.find(b"X-Bench-Probe: ")
            if i >= 0:
                pid = head[i + 15:i + 47].decode()
                found[pid] = st.st_ctime_ns
        time.sleep(0.05)
    lat = [(found[p] - t) / 1e9 for p, t in sent.items() if p in found]
    return {"probes": len(sent), "delivered": len(lat),
            "missing": len(sent) - len(lat), "errors": errors[:5],
            "median": benchlib.median(lat),
            "p99": benchlib.percentile(lat, 99),
            "max": max(lat) if lat else None,
            "load_rate": accepted / secs if secs else None,
            "load_secs": secs}


def fig_e2e(ctx, rnd, out):
    """Pombo delivering into a local Maildir user; Postfix delivering
    with virtual(8) into a virtual Maildir. Each is measured alone."""
    secs = ctx.e2e_secs
    P = peers.Pombo(ctx.procs, ctx.base, "e2e-pombo-%d" % rnd,
                    conf={"hold_deliveries": "no"})
    try:
        P.start_queued()
        port, _ = P.listen("smtpd/smtpd")

        def pcount():
            return len(P.log().split("from=<sender@client.test>")) - 1
        r = e2e_run(port, os.path.join(P.mail, DOMAIN, "probe"), secs,
                    pcount)
        r["backlog_at_end"] = P.queue_count()
        out.setdefault("pombo", []).append(r)
        log("e2e pombo: %r" % r)
    finally:
        P.cleanup()
    F = peers.Postfix(ctx.procs, ctx.base, "e2e-postfix-%d" % rnd,
                      resolv_conf=ctx.dns.resolv_conf)
    try:
        F.start()
        load_dir = os.path.join(F.mail, DOMAIN, "load", "new")

        def fcount():
            return F.queued_count() + (len(os.listdir(load_dir))
                                       if os.path.isdir(load_dir) else 0)
        r = e2e_run(F.port, os.path.join(F.mail, DOMAIN, "probe"), secs,
                    fcount)
        r["backlog_at_end"] = F.queued_count()
        out.setdefault("peer", []).append(r)
        log("e2e postfix: %r" % r)
    finally:
        F.cleanup()


def pombo_outbound(ctx, rnd, sink, n, key, out, conf=None, name="pombo"):
    """Pombo's half of the outbound figure: n messages queued held, then
    released by restarting queued with hold_deliveries = no (the clock
    starts at the exec, so it includes loading the queue); the rate into
    out[key]."""
    P = peers.Pombo(ctx.procs, ctx.base, "out-%s-%d" % (name, rnd),
                    conf=dict({"dns_servers": "%s:53" % ctx.dns.ip,
                               "remote_port": str(sink.port)}, **(conf or {})))
    try:
        P.start_queued()
        port, _ = P.listen("smtpd/smtpd")
        smtp_source(port, 10, n, to="r@sink.test", extra=["-N"])
        if P.queue_count() != n:
            raise RuntimeError("pombo queued %d of %d" % (
                P.queue_count(), n))
        P.stop_queued()
        P.write_conf(hold_deliveries="no")
        c0 = sink.count()
        t0 = P.start_queued()
        drained(sink, n, name, key, P.queue_count, c0, t0, out)
    finally:
        P.cleanup()


def drained(sink, n, who, key, queue_count, c0, t0, out):
    """Wait for an empty queue and all n at the sink; note the rate."""
    ok = benchlib.wait_for(lambda: queue_count() == 0 and
                           sink.count() - c0 >= n, 300, 0.005)
    secs = time.monotonic() - t0
    got = sink.count() - c0
    log("outbound %s: %d msgs in %.2fs (%d at the sink) %s" % (
        who, n, secs, got, "" if ok else "TIMEOUT"))
    out.setdefault(key, []).append(got / secs if ok else None)


def fig_outbound(ctx, rnd, out):
    """N messages to N recipients at sink.test (MX -> smtp-sink) are
    queued held, then released; the time until the queue is empty and
    smtp-sink has them all. Pombo: pombo_outbound. Postfix: filled
    through HOLD, released by postsuper -H ALL + postqueue -f."""
    n = ctx.scale(2000, 100)
    sink = peers.Sink(ctx.procs, os.path.join(ctx.base))
    try:
        pombo_outbound(ctx, rnd, sink, n, "pombo", out)
        F = peers.Postfix(ctx.procs, ctx.base, "out-postfix-%d" % rnd, {
            "smtpd_recipient_restrictions":
                "check_client_access static:HOLD",
            "smtp_tcp_port": str(sink.port)},
            resolv_conf=ctx.dns.resolv_conf)
        try:
            F.start()
            smtp_source(F.port, 10, n, to="r@sink.test", extra=["-N"])
            if F.queued_count(["hold"]) != n:
                raise RuntimeError("postfix held %d of %d" % (
                    F.queued_count(["hold"]), n))
            c0 = sink.count()
            t0 = time.monotonic()
            F.cmd("postsuper", "-H", "ALL")
            F.cmd("postqueue", "-f")
            drained(sink, n, "postfix", "peer", F.queued_count, c0, t0, out)
        finally:
            F.cleanup()
    finally:
        sink.stop()


# ---------------------------------------------------------------- auth

AUTH_CONFIGS = [
    # (name, concurrency, messages per session, size, messages a round)
    ("4 KB, c=10, 1 msg/session", 10, 1, 4096, 1000),
    ("4 KB, c=10, 100 msg/session", 10, 100, 4096, 2000),
]


def auth_records(base):
    """DKIM keys for client.test (smtp-source's From: domain) and the
    records the checks of arriving mail look up: dnsmasq options, and
    the dkim_keys value."""
    d = peers.mkdir(os.path.join(base, "dkim"))
    opts, keys = [], []
    for sel, args in (("ed", ["-algorithm", "ed25519"]),
                      ("rsa", ["-algorithm", "rsa", "-pkeyopt",
                               "rsa_keygen_bits:2048"])):
        path = os.path.join(d, sel + ".pem")
        subprocess.run(["openssl", "genpkey", "-out", path] + args,
                       check=True, capture_output=True)
        os.chmod(path, 0o644)   # read by the bench's queued users
        der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout",
                              "-outform", "DER"], check=True,
                             capture_output=True).stdout
        p = base64.b64encode(der[-32:] if sel == "ed" else der).decode()
        rec = "v=DKIM1; k=%s; p=%s" % ("ed25519" if sel == "ed" else "rsa",
                                        p)
        opts.append("--txt-record=%s._domainkey.client.test,%s" % (
            sel, ",".join(rec[i:i + 250] for i in range(0, len(rec), 250))))
        keys.append("client.test:%s:%s" % (sel, path))
    opts += ["--txt-record=client.test,v=spf1 ip4:127.0.0.0/8 -all",
             "--txt-record=_dmarc.client.test,v=DMARC1; p=none"]
    return opts, ", ".join(keys)


def fig_auth(ctx, rnd, out):
    """Issue 16's costs. Acceptance with the checks of arriving mail
    (pombo-verify: SPF of MAIL FROM and HELO, DKIM, DMARC, against the
    bench's dnsmasq) against the same load without them; 127.0.0.1 is
    the Internet for both (relay_networks elsewhere). Outbound with DKIM
    signing (Ed25519 and RSA on every message) against unsigned."""
    conf = {"relay_networks": "10.255.255.0/24",
            "dns_servers": "%s:53" % ctx.dns.ip}
    runs = []
    try:
        for who, on in (("checks", "yes"), ("plain", "no")):
            P = peers.Pombo(ctx.procs, ctx.base, "auth-%s-%d" % (who, rnd),
                            conf=dict(conf, inbound_auth=on))
            runs.append((who, P))
            P.start_queued()
            port, _ = P.listen("smtpd/smtpd")
            runs[-1] = (who, P, port)
            smtp_source(port, 5, 50)    # warm-up
        for name, conc, per, size, count in AUTH_CONFIGS:
            count = ctx.scale(count, conc * per)
            for who, P, port in runs:
                n0 = P.queue_count()
                secs = smtp_source(port, conc, count, per, size)
                rate = (P.queue_count() - n0) / secs
                out.setdefault(name, {}).setdefault(who, []).append(rate)
                log("auth accept %-28s %-7s %6.2fs %8.1f/s" % (
                    name, who, secs, rate))
    finally:
        for r in runs:
            r[1].cleanup()
    n = ctx.scale(2000, 100)
    sink = peers.Sink(ctx.procs, os.path.join(ctx.base))
    try:
        o = out.setdefault("outbound", {})
        pombo_outbound(ctx, rnd, sink, n, "signed", o,
                       {"dkim_keys": ctx.dkim_keys}, "signed")
        pombo_outbound(ctx, rnd, sink, n, "plain", o, None, "unsigned")
    finally:
        sink.stop()


# ---------------------------------------------------------------- milter

MILTER_CONFIGS = [
    # (name, concurrency, messages per session, size, messages a round)
    ("4 KB, c=10, 1 msg/session", 10, 1, 4096, 2000),
    ("4 KB, c=10, 100 msg/session", 10, 100, 4096, 2000),
]


def fig_milter(ctx, rnd, out):
    """Issue 17's cost: acceptance with one accept-all milter
    (tests/bench/nullmilter, which asks for every step) on Pombo (queued
    runs it on each message at the end of its data) and on Postfix
    (smtpd_milters: smtpd runs it along the session), and both without
    it, same run. Both hold as in fig_accept and count what is queued;
    a milter that failed would show as tempfails, not as a rate."""
    milter = peers.NullMilter(ctx.procs, ctx.base)
    where = "inet:127.0.0.1:%d" % milter.port
    hold = {"smtpd_recipient_restrictions":
            "check_client_access static:HOLD"}
    with_milter = dict(hold, smtpd_milters=where,
                       milter_default_action="tempfail")
    runs, started = [], []
    try:
        for who, conf in (("pombo_milter", {"milters": where}),
                          ("pombo", {})):
            P = peers.Pombo(ctx.procs, ctx.base, "milter-%s-%d" % (who, rnd),
                            conf=conf)
            started.append(P)
            P.start_queued()
            port, _ = P.listen("smtpd/smtpd")
            runs.append((who, port, P.queue_count))
        for who, conf in (("peer_milter", with_milter), ("peer", hold)):
            F = peers.Postfix(ctx.procs, ctx.base, "milter-%s-%d" % (
                who, rnd), conf, resolv_conf=ctx.dns.resolv_conf)
            started.append(F)
            F.start()
            runs.append((who, F.port, lambda F=F: F.queued_count(
                ["incoming", "hold"])))
        for _, port, _ in runs:
            smtp_source(port, 5, 50)    # warm-up
        for name, conc, per, size, count in MILTER_CONFIGS:
            count = ctx.scale(count, conc * per)
            for who, port, counter in runs:
                n0 = counter()
                secs = smtp_source(port, conc, count, per, size)
                n = counter() - n0
                out.setdefault(name, {}).setdefault(who, []).append(n / secs)
                log("milter accept %-28s %-12s %6d msgs %6.2fs %8.1f/s" % (
                    name, who, n, secs, n / secs))
    finally:
        for x in started:
            x.cleanup()
        milter.stop()


# ---------------------------------------------------------------- TLS

TLS_CONFIGS = [
    # (name, concurrency, sessions a round)
    ("c=1", 1, 200),
    ("c=10", 10, 600),
    ("c=50", 50, 1000),
]


def tls_cert(base):
    """One P-256 certificate and key for both servers (self-signed: the
    client verifies nothing, as opportunistic STARTTLS between MTAs)."""
    d = peers.mkdir(os.path.join(base, "tls"))
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        benchlib.run(["openssl", "req", "-x509", "-newkey", "ec",
                      "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", key, "-out", cert, "-days", "30",
                      "-subj", "/CN=mx." + DOMAIN])
    return cert, key


def proc_cpu(pid):
    """CPU seconds of a process and of its children: its own, what it
    reaped (cutime, cstime) and its live children's, recursively."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = sum(int(x) for x in st[11:15]) / tick   # utime stime cutime cstime
    return own + sum(proc_cpu(c) for c in benchlib.children(pid))


def tlsload(port, conc, n, mode):
    """tests/bench/tlsload: n STARTTLS sessions (4 KB, one message each)
    over conc workers, mode "plain" (no STARTTLS), "full" or "resumed";
    returns (sessions that got their 250, seconds, sessions resumed)."""
    argv = [benchlib.pombo.prog("tests/bench/tlsload"), "-c", str(conc),
            "-n", str(n), "-s", "4096", "-R", "load@" + DOMAIN]
    if mode != "full":
        argv.append("-p" if mode == "plain" else "-r")
    r = subprocess.run(argv + ["127.0.0.1", str(port)], capture_output=True,
                       text=True, timeout=600)
    kv = dict(x.split("=", 1) for x in r.stdout.split())
    if r.returncode != 0 or "ok" not in kv:
        raise RuntimeError("tlsload: %s %s" % (r.stdout[-300:],
                                                r.stderr[-300:]))
    return int(kv["ok"]), float(kv["secs"]), int(kv["resumed"])


def fig_tls(ctx, rnd, out):
    """Issue 19's STARTTLS sessions: tests/bench/tlsload against Pombo
    and Postfix with the same P-256 certificate, TLS 1.2 at least, one
    4 KB message a session (held and counted as in fig_accept), without
    and with resumption (each worker offers the session its last one got:
    a TLS 1.3 ticket). Pombo as it runs: pombo-tlsd (one worker a CPU)
    does the handlers' TLS (tls_proxy). Beside the rates, each server's
    CPU per session: Pombo's handlers (reaped by systemd-socket-activate),
    queued and pombo-tlsd with its workers, Postfix's master and every
    process under it."""
    cert, key = tls_cert(ctx.base)
    P = peers.Pombo(ctx.procs, ctx.base, "tls-pombo-%d" % rnd,
                    conf={"tls_cert": cert, "tls_key": key})
    # BENCH_TLSD=0: each handler does its own TLS, as before pombo-tlsd
    use_tlsd = os.environ.get("BENCH_TLSD", "1") != "0"
    tlsd_sock = os.path.join(P.dir, "tlsd.sock")
    if use_tlsd:
        P.write_conf(tls_proxy=tlsd_sock)
    tlsd = None
    F = peers.Postfix(ctx.procs, ctx.base, "tls-postfix-%d" % rnd, {
        "smtpd_recipient_restrictions": "check_client_access static:HOLD",
        "smtpd_tls_security_level": "may",
        "smtpd_tls_chain_files": "%s, %s" % (key, cert),
        "smtpd_tls_protocols": ">=TLSv1.2",
        "smtpd_tls_loglevel": "0"}, resolv_conf=ctx.dns.resolv_conf)
    try:
        if use_tlsd:
            # as deployed: never root (it refuses), the key its user's
            # (root, which Postfix reads it as, still may)
            os.chown(key, pwd.getpwnam("nobody").pw_uid, -1)
            tlsd = ctx.procs.popen([benchlib.pombo.prog("tlsd/pombo-tlsd"),
                                    "-s", tlsd_sock, "-w", "0",
                                    "-U", "nobody"])
            if not benchlib.wait_for(
                    lambda: benchlib.pombo.accepts(tlsd_sock), 10):
                raise RuntimeError("pombo-tlsd did not start")
        P.start_queued()
        pport, ssa = P.listen("smtpd/smtpd")
        F.start()

        def pombo_cpu():
            # tlsd's workers are its live children: counted
            return proc_cpu(ssa.pid) + proc_cpu(P.queued.pid) + \
                (proc_cpu(tlsd.pid) if tlsd else 0.0)

        def postfix_cpu():
            try:
                with open(os.path.join(F.queue, "pid", "master.pid")) as f:
                    return proc_cpu(int(f.read().strip()))
            except (OSError, ValueError):
                return 0.0
        runs = [("pombo", pport, P.queue_count, pombo_cpu),
                ("peer", F.port, lambda: F.queued_count(["incoming",
                                                         "hold"]),
                 postfix_cpu)]
        for _, port, _, _ in runs:
            tlsload(port, 5, 50, "full")    # warm-up
        for name, conc, n in TLS_CONFIGS:
            n = ctx.scale(n, conc)
            # the same sessions without TLS at c=10: what TLS adds
            for mode in (("full", "resumed", "plain") if conc == 10 else
                         ("full", "resumed")):
                key_ = name + ("" if mode == "full" else ", " + mode)
                for who, port, counter, cpu in runs:
                    n0, c0 = counter(), cpu()
                    got, secs, resumed = tlsload(port, conc, n, mode)
                    stored = counter() - n0
                    c = cpu() - c0
                    d = out.setdefault(key_, {})
                    d.setdefault(who, []).append(got / secs)
                    d.setdefault(who + "_cpu_ms", []).append(
                        1000 * c / max(1, got))
                    d.setdefault(who + "_resumed", []).append(
                        resumed / max(1, got))
                    log("tls %-14s %-6s %5d sessions (%d stored, %d "
                        "resumed) %6.2fs %7.1f/s, server CPU %.2f ms/"
                        "session" % (key_, who, got, stored, resumed, secs,
                                     got / secs, 1000 * c / max(1, got)))
    finally:
        P.cleanup()
        F.cleanup()
        if tlsd is not None:
            ctx.procs.stop(tlsd)
    # where a handler's TLS goes: the steps of shared/tls.c, each round in
    # a fresh process (tests/bench/tlsprof), CPU ms
    r = benchlib.run([benchlib.pombo.prog("tests/bench/tlsprof"), "-n",
                      str(max(10, ctx.scale(50, 10))), cert, key],
                     timeout=600)
    b = out.setdefault("breakdown", {})
    for line in r.stdout.splitlines():
        k, v = line.split()
        b.setdefault(k, []).append(float(v))
    log("tls breakdown %r" % {k: v[-1] for k, v in b.items()})


TLS_STEPS = [
    ("dlopen", "dlopen of libssl.so.3 and libcrypto.so.3"),
    ("init", "OPENSSL_init_ssl (openssl.cnf, default provider)"),
    ("ctx_new", "SSL_CTX_new (OpenSSL 3 fetches its algorithms)"),
    ("ctx_settings", "cipher list, options"),
    ("cert", "certificate chain (PEM)"),
    ("key", "private key (PEM) and its check"),
    ("ssl_new", "SSL_new"),
    ("handshake", "the handshake (TLS 1.3, X25519, ECDSA P-256)"),
    ("process", "whole process, fork to exit"),
]


def tls_rows(F, add, rows):
    """The TLS figure's rows for results.md (build_report)."""
    t = F["tls"]
    for name, *_ in TLS_CONFIGS:
        for mode in ("full", "resumed", "plain"):
            k = name + ("" if mode == "full" else ", " + mode)
            d = t.get(k)
            if not d:
                continue
            target, check = None, None
            if name in ("c=10", "c=50") and mode != "plain":
                target = ">= 0.85x Postfix"
                check = lambda p, q, r: r is not None and r >= 0.85  # noqa
            add("%s sessions, 4 KB, %s%s (sessions/s)" % (
                "Plain SMTP" if mode == "plain" else "STARTTLS", name,
                ", resumption offered" if mode == "resumed" else ""),
                s_of(d.get("pombo")), s_of(d.get("peer")), "", target,
                check)
            add("  server CPU per session (ms)", s_of(d.get("pombo_cpu_ms")),
                s_of(d.get("peer_cpu_ms")), " ms", higher=False)
            if mode == "resumed":
                add("  sessions resumed (fraction)",
                    s_of(d.get("pombo_resumed")),
                    s_of(d.get("peer_resumed")), "")
    b = t.get("breakdown", {})
    for k, label in TLS_STEPS:
        if b.get(k):
            add("STARTTLS CPU in a fresh process: %s (ms)" % label,
                s_of(b[k]), None, " ms")


# ---------------------------------------------------------------- POP3

POP_MESSAGES = 10000


def make_maildir(path, n, uid=None):
    """n messages of about 4 KB in path/new, named as Pombo's local agent
    names them (size S= and RFC 1939 size W= in the name)."""
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    now = int(time.time()) - n
    body = "\n".join(["%04d" % i + "y" * 75 for i in range(50)]) + "\n"
    for i in range(n):
        msg = ("Return-Path: <sender@client.test>\n"
               "Delivered-To: pop@%s\n"
               "From: <sender@client.test>\nTo: <pop@%s>\n"
               "Subject: message %d\nMessage-Id: <%d@client.test>\n\n%s" % (
                   DOMAIN, DOMAIN, i, i, body)).encode()
        wsize = len(msg) + msg.count(b"\n")
        name = "%d.m%011d_%016x.mx.%s,S=%d,W=%d" % (
            now + i, i, i * 2654435761 % (1 << 64), DOMAIN, len(msg), wsize)
        with open(os.path.join(path, "new", name), "wb") as f:
            f.write(msg)
    if uid is not None:
        for root, dirs, files in os.walk(path):
            os.chown(root, uid, uid)
            for x in files:
                os.chown(os.path.join(root, x), uid, uid)


class Pop3Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 30)
        self.s.settimeout(60)
        self.buf = bytearray()

    def fill(self):
        chunk = self.s.recv(1 << 18)
        if not chunk:
            raise RuntimeError("POP3 server closed the connection")
        self.buf += chunk

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self.fill()

    def multi(self):
        """A +OK line and a multi-line body up to CRLF.CRLF: its size."""
        start = 0
        while True:
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                if not self.buf.startswith(b"+OK"):
                    raise RuntimeError("POP3: %r" % bytes(self.buf[:80]))
                size = i + 5
                del self.buf[:size]
                return size
            start = max(0, len(self.buf) - 4)
            self.fill()

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        r = self.line()
        if not r.startswith(b"+OK"):
            raise RuntimeError("POP3 %s: %r" % (c.split()[0], r))
        return r

    def send(self, c):
        self.s.sendall(c.encode() + b"\r\n")


def pop3_session(port, user, pid_finder=None, window=8):
    """Times: connect .. greeting, USER/PASS, STAT, LIST, UIDL (ms); then
    RETR of every message, pipelined `window` deep (both servers offer
    PIPELINING). Peak RSS (VmHWM) of the server process before QUIT."""
    t0 = time.perf_counter()
    c = Pop3Client(port)
    g = c.line()
    if not g.startswith(b"+OK"):
        raise RuntimeError("POP3 greeting %r" % g)
    c.cmd("USER %s@%s" % (user, DOMAIN))
    c.cmd("PASS " + peers.PASSWORD)
    n = int(c.cmd("STAT").split()[1])
    c.send("LIST")
    c.multi()
    c.send("UIDL")
    c.multi()
    t1 = time.perf_counter()
    total = 0
    i = 1
    inflight = 0
    while i <= n or inflight:
        while i <= n and inflight < window:
            c.send("RETR %d" % i)
            i += 1
            inflight += 1
        total += c.multi()
        inflight -= 1
    t2 = time.perf_counter()
    mem = {}
    if pid_finder:
        pid = pid_finder()
        mem = benchlib.memory(pid) if pid else {}
    c.cmd("QUIT")
    c.s.close()
    return {"messages": n, "login_list_ms": (t1 - t0) * 1000,
            "retr_s": t2 - t1, "retr_rate": n / (t2 - t1),
            "retr_mb_s": total / (t2 - t1) / 1e6, "hwm_kb": mem.get("hwm"),
            "private_kb": mem.get("private"), "pss_kb": mem.get("pss")}


def child_named(parent, suffix):
    for pid in benchlib.children(parent):
        try:
            if os.readlink("/proc/%d/exe" % pid).endswith(suffix):
                return pid
        except OSError:
            pass
    return None


def fig_pop3(ctx, rnd, out, state):
    if "template" not in state:
        tpl = os.path.join(ctx.base, "pop-template")
        t = time.monotonic()
        make_maildir(tpl, ctx.pop_messages)
        log("made %d messages in %.1fs" % (ctx.pop_messages,
                                           time.monotonic() - t))
        P = peers.Pombo(ctx.procs, ctx.base, "pop-pombo", users=("pop",))
        shutil.copytree(tpl, os.path.join(P.mail, DOMAIN, "pop"))
        pport, pssa = P.listen("pop3d/pop3d")
        D = peers.Dovecot(ctx.procs, ctx.base, "pop-dovecot").start()
        dst = os.path.join(D.mail, DOMAIN, "pop")
        shutil.copytree(tpl, dst)
        for root, dirs, files in os.walk(os.path.join(D.mail, DOMAIN)):
            os.chown(root, 65534, 65534)
            for x in files:
                os.chown(os.path.join(root, x), 65534, 65534)
        # Dovecot's first session builds its index (not a round)
        state["dovecot_first"] = pop3_session(D.port, "pop")
        log("dovecot first session: %r" % state["dovecot_first"])
        state.update(template=tpl, P=P, D=D, pport=pport, pssa=pssa)
    P, D = state["P"], state["D"]

    def pombo_pid():
        return child_named(state["pssa"].pid, "/pop3d")

    def dovecot_pid():
        for pid in benchlib.children(D.p.pid):
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "pop3":
                        return pid
            except OSError:
                pass
        return None
    # each cold session right after a drop of the page cache, each warm
    # one right after its own cold one
    state["cold_ok"] = benchlib.drop_caches()
    r = pop3_session(state["pport"], "pop", pombo_pid)
    out.setdefault("pombo_cold", []).append(r)
    r3 = pop3_session(state["pport"], "pop", pombo_pid)
    out.setdefault("pombo_warm", []).append(r3)
    benchlib.drop_caches()
    r2 = pop3_session(D.port, "pop", dovecot_pid)
    out.setdefault("dovecot_cold", []).append(r2)
    r4 = pop3_session(D.port, "pop", dovecot_pid)
    out.setdefault("dovecot_warm", []).append(r4)
    log("pop3 pombo cold %r\n     pombo warm %r\n     dovecot cold %r\n"
        "     dovecot warm %r" % (r, r3, r2, r4))


# ---------------------------------------------------------------- cost

def qid(us):
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    out = []
    for _ in range(12):
        out.append(alphabet[us & 31])
        us >>= 5
    return "".join(reversed(out))


def fill_spool(spool, n, size=4096):
    """n committed messages written straight into spool/queue/ in the
    format of queued/SPOOL.md (queued must have made the spool once)."""
    qdir = os.path.join(spool, "queue")
    now = int(time.time())
    base_us = now * 1000000 - n * 10
    body = ("x" * 79 + "\n") * (size // 80)
    for i in range(n):
        q = qid(base_us + i * 10)
        data = ("POMBO-QUEUE 1\nid %s\ntime %d\nclient ESMTP 127.0.0.1 "
                "client.test\nfrom <sender@client.test> SIZE=%d\n"
                "rcpt <load@%s>\ndata\n"
                "Received: from client.test ([127.0.0.1])\n"
                "\tby mx.%s (Pombo) with ESMTP id %s\n"
                "\tfor <load@%s>; Fri, 27 Nov 2026 04:40:38 +0000\n"
                "From: <sender@client.test>\nTo: <load@%s>\n"
                "Subject: queued %d\n\n%s" % (
                    q, now, size, DOMAIN, DOMAIN, q, DOMAIN, DOMAIN, i,
                    body))
        with open(os.path.join(qdir, q), "w") as f:
            f.write(data)
    os.sync()


def smtpd_session_hwm(port, pid_finder, size):
    """One SMTP session with one message; VmHWM of the server process
    after the 250, before QUIT."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    try:
        s.ehlo("client.test")
        s.mail("sender@client.test")
        s.rcpt("load@" + DOMAIN)
        body = ("x" * 78 + "\r\n") * (size // 80)
        code, _ = s.data(("Subject: rss\r\n\r\n" + body).encode())
        if code != 250:
            raise RuntimeError("smtpd said %d" % code)
        pid = pid_finder()
        return benchlib.memory(pid) if pid else {}
    finally:
        s.quit()


def fig_cost(ctx, rnd, out, state):
    # one smtpd process (4 KB and 100 KB messages); Postfix's smtpd
    if "P" not in state:
        P = peers.Pombo(ctx.procs, ctx.base, "cost-pombo")
        P.start_queued()
        port, ssa = P.listen("smtpd/smtpd")
        F = peers.Postfix(ctx.procs, ctx.base, "cost-postfix", {
            "smtpd_recipient_restrictions":
                "check_client_access static:HOLD"},
            resolv_conf=ctx.dns.resolv_conf).start()
        state.update(P=P, F=F, port=port, ssa=ssa)
    P, F = state["P"], state["F"]

    def pombo_smtpd():
        return child_named(state["ssa"].pid, "/smtpd")

    def postfix_smtpd():
        # the master's smtpd children (MAIL_CONFIG, not argv, names the
        # instance); the one that served us is the youngest that is busy
        try:
            with open(os.path.join(F.queue, "pid", "master.pid")) as f:
                master = int(f.read().strip())
        except (OSError, ValueError):
            return None
        best = None
        for pid in benchlib.children(master):
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "smtpd":
                        best = pid if best is None else max(best, pid)
            except OSError:
                pass
        return best

    for size in (4096, 102400):
        m = smtpd_session_hwm(state["port"], pombo_smtpd, size)
        out.setdefault("smtpd_kb_%d" % size, []).append(m.get("hwm"))
        out.setdefault("smtpd_private_kb_%d" % size, []).append(
            m.get("private"))
        out.setdefault("smtpd_pss_kb_%d" % size, []).append(m.get("pss"))
        m = smtpd_session_hwm(F.port, postfix_smtpd, size)
        out.setdefault("postfix_smtpd_kb_%d" % size, []).append(m.get("hwm"))
        out.setdefault("postfix_smtpd_private_kb_%d" % size, []).append(
            m.get("private"))
        out.setdefault("postfix_smtpd_pss_kb_%d" % size, []).append(
            m.get("pss"))

    # queued with 100,000 messages: RSS, time to READY=1 / accepting
    if "Q" not in state:
        Q = peers.Pombo(ctx.procs, ctx.base, "cost-queued")
        Q.start_queued()
        Q.stop_queued()
        t = time.monotonic()
        fill_spool(Q.spool, ctx.queue_messages)
        log("wrote %d queue files in %.1fs" % (ctx.queue_messages,
                                                time.monotonic() - t))
        state["Q"] = Q
    Q = state["Q"]
    for cold in (False, True):
        if cold and not benchlib.drop_caches():
            continue
        nsock = os.path.join(ctx.base, "notify.sock")
        if os.path.exists(nsock):
            os.unlink(nsock)
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(nsock)
        ns.settimeout(120)
        try:
            logged = len(Q.log())
            t0 = time.monotonic()
            Q.start_queued(notify_socket=nsock, timeout=120)
            t_accept = time.monotonic() - t0
            t_ready = None
            end = time.monotonic() + 120
            while time.monotonic() < end:
                msg = ns.recv(4096).decode(errors="replace")
                if "READY=1" in msg:
                    t_ready = time.monotonic() - t0
                    break
            # queued is ready before it has read the whole queue (it
            # loads it in steps meanwhile): the memory counts once all
            # of it is in, which its log says
            t_loaded = None
            if benchlib.wait_for(lambda: "queue loaded:" in Q.log()[logged:], 120,
                        0.005):
                t_loaded = time.monotonic() - t0
            mem = benchlib.memory(Q.queued.pid)
            hwm, rss = mem.get("hwm"), mem.get("rss")
            n = Q.queue_count()
            Q.stop_queued()
        finally:
            ns.close()
        k = "cold" if cold else "warm"
        out.setdefault("queued_ready_s_" + k, []).append(t_ready)
        out.setdefault("queued_accept_s_" + k, []).append(t_accept)
        out.setdefault("queued_loaded_s_" + k, []).append(t_loaded)
        out.setdefault("queued_hwm_kb", []).append(hwm)
        out.setdefault("queued_rss_kb", []).append(rss)
        out.setdefault("queued_private_kb", []).append(mem.get("private"))
        out.setdefault("queued_pss_kb", []).append(mem.get("pss"))
        log("queued %s start with %d messages: READY=1 %.3fs, accepting "
            "%.3fs, loaded %.3fs, VmHWM %s kB, VmRSS %s kB" % (
                k, n, t_ready or -1, t_accept, t_loaded or -1, hwm, rss))


# ---------------------------------------------------------------- report

def s_of(xs):
    return summary(xs)


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if v == int(v) and abs(v) < 1e6:
        return "%d%s" % (v, unit)
    if abs(v) >= 100:
        return "%.0f%s" % (v, unit)
    if abs(v) >= 10:
        return "%.1f%s" % (v, unit)
    return "%.2f%s" % (v, unit) if abs(v) >= 0.1 else "%.3f%s" % (v, unit)


def cell(s, unit=""):
    if not s or s["median"] is None:
        return "n/a"
    return "%s (%s–%s)" % (fmt(s["median"], unit), fmt(s["min"], unit),
                           fmt(s["max"], unit))


def ms(s):
    """a summary of seconds in milliseconds"""
    if not s or s.get("median") is None:
        return s
    return {k: s[k] * 1000 for k in ("median", "min", "max")}


def cost(on, off):
    """ms a message costs more with a feature than without: the
    difference of the inverse rates (medians of msg/s lists)"""
    on, off = s_of(on), s_of(off)
    if not on or not off or not on["median"] or not off["median"]:
        return "—"
    return "%.2f ms" % (1000 / on["median"] - 1000 / off["median"])


def spawner_rows(add, name, d, R):
    """Issue 19: Pombo against the null handler under the same spawner
    (systemd-socket-activate, then tcpserver); at c=1 also against the
    null handler's session plus one fdatasync, the least a durable
    message can cost there (the latency measured in the same run)."""
    fds = (R.get("limits", {}).get("fdatasync_s") or {}).get("median")
    for label, pk, ck in (("systemd-socket-activate", "pombo", "ceiling"),
                          ("tcpserver", "pombo_tcpserver",
                           "ceiling_tcpserver")):
        if not d.get(pk) or not d.get(ck):
            continue
        if pk != "pombo":
            add("  %s: Pombo (msg/s; peer: Postfix)" % label,
                s_of(d[pk]), s_of(d["peer"]), "")
            add("  %s: ceiling, nullsmtpd (msg/s; peer: Postfix)" % label,
                s_of(d[ck]), s_of(d["peer"]), "")
        target, check = None, None
        if "4 KB, c=50" in name:
            target = ">= 0.85 of null"
            check = lambda p, q, r: r is not None and r >= 0.85  # noqa
        add("  %s: Pombo against the null handler (msg/s; peer: "
            "nullsmtpd)" % label, s_of(d[pk]), s_of(d[ck]), "", target,
            check)
        if "c=1," in name and fds:
            add("  %s: Pombo against null + one fdatasync (%.2f ms) "
                "(msg/s; peer: that ceiling)" % (label, fds * 1000),
                s_of(d[pk]), s_of([1 / (1 / r + fds) for r in d[ck]]), "",
                ">= 0.85 of it", lambda p, q, r: r is not None and
                r >= 0.85)


def build_report(R):
    """results.md from the results dict."""
    rows = []   # figure, pombo, peer, ratio, target, met

    def add(fig, ps, qs, unit, target=None, check=None, higher=True):
        ratio = None
        if ps and qs and ps["median"] and qs["median"]:
            ratio = ps["median"] / qs["median"]
        met = ""
        if check is not None and ps and ps["median"] is not None:
            met = "yes" if check(ps, qs, ratio) else "**no**"
        rows.append((fig, cell(ps, unit), cell(qs, unit) if qs else "—",
                     ("%.2f" % ratio) if ratio else "—", target or "", met))
    F = R["figures"]
    if "accept" in F:
        for name, *_ in ACCEPT_CONFIGS:
            d = F["accept"].get(name)
            if not d:
                continue
            target, check = None, None
            if "4 KB, c=50" in name:
                # issue 7: "acceptance at concurrency 50", either kind
                target = ">= 2x Postfix"
                check = lambda p, q, r: r is not None and r >= 2  # noqa
            elif "c=1, 1 msg" in name:
                target = ">= 1.2x Postfix"
                check = lambda p, q, r: r is not None and r >= 1.2  # noqa
            add("SMTP accept " + name + " (msg/s)", s_of(d["pombo"]),
                s_of(d["peer"]), "", target, check)
            if d.get("ceiling"):
                add("  ceiling: nullsmtpd, stores nothing, same spawner, "
                    "linked as smtpd is (msg/s)", s_of(d["ceiling"]),
                    s_of(d["peer"]), "")
            if d.get("ceiling_musl"):
                add("  ceiling: same, linked statically with musl (msg/s)",
                    s_of(d["ceiling_musl"]), s_of(d["peer"]), "")
            if d.get("ceiling_glibc"):
                add("  ceiling: same, linked with glibc (msg/s)",
                    s_of(d["ceiling_glibc"]), s_of(d["peer"]), "")
            spawner_rows(add, name, d, R)
    if "e2e" in F:
        e = F["e2e"]
        for key, label in (("median", "median"), ("p99", "p99")):
            add("End to end 250 → Maildir/new, %s, under c=50 (s)" % label,
                s_of([r[key] for r in e.get("pombo", [])]),
                s_of([r[key] for r in e.get("peer", [])]), " s",
                "< 0.1 s", lambda p, q, r: p["median"] < 0.1, higher=False)
        add("  load accepted meanwhile (msg/s)",
            s_of([r["load_rate"] for r in e.get("pombo", [])]),
            s_of([r["load_rate"] for r in e.get("peer", [])]), "")
        add("  backlog in queue when the load stopped (msgs)",
            s_of([r["backlog_at_end"] for r in e.get("pombo", [])]),
            s_of([r["backlog_at_end"] for r in e.get("peer", [])]), "")
    if "outbound" in F:
        o = F["outbound"]
        add("Outbound to smtp-sink via MX (msg/s)", s_of(o.get("pombo")),
            s_of(o.get("peer")), "", ">= 1.5x Postfix",
            lambda p, q, r: r is not None and r >= 1.5)
    if "auth" in F:
        a = F["auth"]
        for name, *_ in AUTH_CONFIGS:
            d = a.get(name, {})
            add("SMTP accept %s, inbound checks on (msg/s; peer: the same "
                "Pombo without them)" % name, s_of(d.get("checks")),
                s_of(d.get("plain")), "")
            rows.append(("  cost of the checks per message", cost(
                d.get("checks"), d.get("plain")), "", "", "", ""))
        o = a.get("outbound", {})
        add("Outbound, DKIM-signed Ed25519 + RSA (msg/s; peer: the same "
            "unsigned)", s_of(o.get("signed")), s_of(o.get("plain")), "")
        rows.append(("  cost of signing per message", cost(
            o.get("signed"), o.get("plain")), "", "", "", ""))
    if "milter" in F:
        m = F["milter"]
        for name, *_ in MILTER_CONFIGS:
            d = m.get(name, {})
            add("SMTP accept %s, one accept-all milter (msg/s)" % name,
                s_of(d.get("pombo_milter")), s_of(d.get("peer_milter")), "")
            add("  same without the milter (msg/s)", s_of(d.get("pombo")),
                s_of(d.get("peer")), "")
            rows.append(("  cost of the milter per message (peer: "
                         "Postfix's)", cost(d.get("pombo_milter"),
                                            d.get("pombo")),
                         cost(d.get("peer_milter"), d.get("peer")), "", "",
                         ""))
    if "tls" in F:
        tls_rows(F, add, rows)
    if "pop3" in F:
        p = F["pop3"]
        g = lambda k, f: s_of([r[f] for r in p.get(k, [])])  # noqa
        add("POP3 login+STAT+LIST+UIDL, 10k msgs, Pombo cold vs Dovecot "
            "warm (ms)", g("pombo_cold", "login_list_ms"),
            g("dovecot_warm", "login_list_ms"), " ms",
            "<= Dovecot warm", lambda a, b, r: r is not None and r <= 1)
        add("  same, Pombo warm vs Dovecot warm (ms)",
            g("pombo_warm", "login_list_ms"),
            g("dovecot_warm", "login_list_ms"), " ms")
        add("  same, Pombo cold vs Dovecot cold (ms)",
            g("pombo_cold", "login_list_ms"),
            g("dovecot_cold", "login_list_ms"), " ms")
        # RETR reads every message file: compared in the same state of
        # the page cache (the cold one is the disk's figure as much as
        # the server's)
        add("POP3 RETR of all, both warm (msg/s)",
            g("pombo_warm", "retr_rate"), g("dovecot_warm", "retr_rate"),
            "", ">= Dovecot", lambda a, b, r: r is not None and r >= 1)
        add("  same, both cold (msg/s)",
            g("pombo_cold", "retr_rate"), g("dovecot_cold", "retr_rate"),
            "", ">= Dovecot", lambda a, b, r: r is not None and r >= 1)
        add("  same, Pombo cold vs Dovecot warm (msg/s)",
            g("pombo_cold", "retr_rate"), g("dovecot_warm", "retr_rate"), "")
        add("  same (MB/s), both warm",
            g("pombo_warm", "retr_mb_s"), g("dovecot_warm", "retr_mb_s"), "")
        add("pop3d peak RSS, Pombo vs Dovecot's pop3 (kB)",
            s_of([r["hwm_kb"] for r in p.get("pombo_cold", []) +
                  p.get("pombo_warm", [])]),
            s_of([r["hwm_kb"] for r in p.get("dovecot_warm", [])]), " kB",
            "< 2 MB", lambda a, b, r: a["max"] < 2048)
        add("  pop3d proportional memory (PSS) at the end (kB)",
            s_of([r.get("pss_kb") for r in p.get("pombo_cold", []) +
                  p.get("pombo_warm", [])]),
            s_of([r.get("pss_kb") for r in p.get("dovecot_warm", [])]),
            " kB")
        add("  pop3d private memory (USS) at the end (kB)",
            s_of([r["private_kb"] for r in p.get("pombo_cold", []) +
                  p.get("pombo_warm", [])]),
            s_of([r["private_kb"] for r in p.get("dovecot_warm", [])]),
            " kB", "< 1.5 MB", lambda a, b, r: a["max"] < 1536)
    if "cost" in F:
        c = F["cost"]
        under_2s = lambda a, b, r: a["median"] is not None and \
            a["median"] < 2  # noqa
        for size in (4096, 102400):
            add("one smtpd peak RSS, %d KB message (kB)" % (size // 1024),
                s_of(c.get("smtpd_kb_%d" % size)),
                s_of(c.get("postfix_smtpd_kb_%d" % size)), " kB",
                "< 2 MB", lambda a, b, r: a["max"] < 2048)
            add("  smtpd proportional memory (PSS), %d KB message (kB)" % (
                size // 1024), s_of(c.get("smtpd_pss_kb_%d" % size)),
                s_of(c.get("postfix_smtpd_pss_kb_%d" % size)), " kB")
            add("  smtpd private memory (USS), %d KB message (kB)" % (
                size // 1024), s_of(c.get("smtpd_private_kb_%d" % size)),
                s_of(c.get("postfix_smtpd_private_kb_%d" % size)), " kB",
                "< 1.5 MB", lambda a, b, r: a["max"] < 1536)
        add("queued peak RSS with %d messages, all loaded (kB)" %
            R["queue_messages"],
            s_of(c.get("queued_hwm_kb")), None, " kB", "< 64 MB",
            lambda a, b, r: a["max"] < 65536)
        add("  queued proportional memory (PSS) with them (kB)",
            s_of(c.get("queued_pss_kb")), None, " kB")
        add("  queued private memory (USS) with them (kB)",
            s_of(c.get("queued_private_kb")), None, " kB")
        for k in ("warm", "cold"):
            add("queued start to READY=1, %d messages, %s cache (s)" % (
                R["queue_messages"], k), s_of(c.get("queued_ready_s_" + k)),
                None, " s", "< 2 s", under_2s)
            add("queued start to socket accepting, %s cache (s)" % k,
                s_of(c.get("queued_accept_s_" + k)), None, " s")
            add("queued start to whole queue loaded, %s cache (s)" % k,
                s_of(c.get("queued_loaded_s_" + k)), None, " s", "< 2 s",
                under_2s)
    md = ["# Pombo benchmark results", "",
          "Run %s on %s (%s, %d cores, kernel %s); %d rounds; "
          "Pombo at %s." % (R["date"], R["host"], R["cpu"], R["cores"],
                            R["kernel"], R["rounds"], R["commit"]), "",
          "Values: median (min–max) over the rounds; ratio = Pombo "
          "median / peer median (the peer is Postfix %s for SMTP, Dovecot "
          "%s for POP3)." % (R.get("postfix_version", "?"),
                             R.get("dovecot_version", "?")), "",
          "| figure | Pombo | peer | Pombo/peer | target | met |",
          "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        md.append("| %s |" % " | ".join(r))
    L = R.get("limits", {})
    md += ["", "## The machine's own limits, same run", "",
           "| limit | median (min–max) |", "| --- | --- |",
           "| fsync/s (4 KB append + fsync, spool's disk) | %s |" %
           cell(L.get("fsync_per_s")),
           "| fdatasync latency (4 KB append + fdatasync, spool's disk) "
           "| %s |" % cell(ms(L.get("fdatasync_s")), " ms"),
           "| spawns/s (posix_spawn of /bin/true + wait) | %s |" %
           cell(L.get("spawn_per_s")),
           "| spawns/s of smtpd/smtpd on /dev/null (exec + "
           "dynamic linking + config) | %s |" %
           cell(L.get("smtpd_spawn_per_s")), "",
           "Load average (1, 5, 15 min) before each figure: " +
           "; ".join("%s %s" % (k, v) for k, v in R["load"]), ""]
    if R.get("create_ms"):
        md += ["Creating an empty file on the spool's disk before each "
               "figure (ms; the bench waits for it to settle, see "
               "README): " + "; ".join("%s %.3f" % (k, v) for k, v in
                                       R["create_ms"]), ""]
    if R.get("notes"):
        md += ["## Notes", ""] + ["- " + n for n in R["notes"]] + [""]
    return "\n".join(md)


# ---------------------------------------------------------------- main

class Ctx:
    pass


def smtpd_static():
    """Is smtpd/smtpd the static musl build (no ELF interpreter)?"""
    return not benchlib.pombo.elf_dynamic(
        benchlib.pombo.prog("smtpd/smtpd"))


def build_nullsmtpd_musl(base):
    """tests/bench/nullsmtpd.c linked statically with musl-gcc, into
    base; None (and the row left out) if that fails."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "nullsmtpd.c")
    out = os.path.join(base, "nullsmtpd-musl")
    try:
        r = subprocess.run(["musl-gcc", "-static", "-O2", "-o", out, src],
                           capture_output=True, text=True, timeout=120)
    except OSError as e:
        log("nullsmtpd with musl: %s" % e)
        return None
    if r.returncode != 0:
        log("nullsmtpd with musl: %s" % r.stderr[-500:])
        return None
    return out


def smtpd_spawn_rate(seconds=2.0):
    """Spawn rate of the real handler: smtpd/smtpd -c conf with stdin at
    EOF (it greets, reads EOF, exits)."""
    P = None
    n = 0
    try:
        d = tempfile.mkdtemp(prefix="spawn-")
        P = peers.Pombo(benchlib.Procs(), d, "x")
        prog = benchlib.pombo.prog("smtpd/smtpd")
        devnull = os.open(os.devnull, os.O_RDWR)
        t0 = time.monotonic()
        while n < 100000 and time.monotonic() - t0 < seconds:
            pid = os.posix_spawn(prog, [prog, "-c", P.conf_path],
                                 os.environ, file_actions=[
                                     (os.POSIX_SPAWN_DUP2, devnull, 0),
                                     (os.POSIX_SPAWN_DUP2, devnull, 1)])
            os.waitpid(pid, 0)
            n += 1
        os.close(devnull)
        return n / (time.monotonic() - t0)
    finally:
        if P:
            shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int,
                    default=int(os.environ.get("BENCH_ROUNDS", "3")))
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma list of: accept,e2e,outbound,auth,"
                    "milter,tls,pop3,cost (the limits are always measured)")
    ap.add_argument("--out", default=os.environ.get("BENCH_OUT", "."))
    ap.add_argument("--scale", type=float,
                    default=float(os.environ.get("BENCH_SCALE", "1")),
                    help="multiply the message counts (0.2 for a try-out)")
    ap.add_argument("--max-load", type=float,
                    default=float(os.environ.get("BENCH_MAX_LOAD", "1.0")),
                    help="wait for the 1-min load average to fall below")
    ap.add_argument("--wait-load", type=float,
                    default=float(os.environ.get("BENCH_WAIT_LOAD", "300")),
                    help="at most this many seconds of waiting for it")
    ap.add_argument("--settle-ms", type=float,
                    default=float(os.environ.get("BENCH_SETTLE_MS", "0.1")),
                    help="wait for a file's create to cost less (ms)")
    ap.add_argument("--wait-settle", type=float,
                    default=float(os.environ.get("BENCH_WAIT_SETTLE",
                                                 "360")),
                    help="at most this many seconds of waiting for it")
    ap.add_argument("--queue-messages", type=int, default=100000)
    ap.add_argument("--e2e-secs", type=float, default=8.0)
    args = ap.parse_args()
    # stop cleanly (finally blocks) on Ctrl-C, and on SIGTERM; a shell
    # that ran us in the background may have left SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit("bench: terminated"))
    figs = [f for f in (args.only.split(",") if args.only else
                        ["limits", "accept", "e2e", "outbound", "auth",
                         "milter", "tls", "pop3", "cost"]) if f]
    if os.geteuid() != 0:
        sys.exit("bench: run as root (private Postfix/Dovecot instances, "
                 "drop_caches, a mount namespace for Postfix's resolver)")
    installed = benchlib.ensure_packages(PACKAGES)
    ctx = Ctx()
    ctx.procs = benchlib.Procs()
    ctx.scale = lambda n, unit: max(unit, round(n * args.scale / unit) * unit)
    ctx.e2e_secs = args.e2e_secs
    ctx.pop_messages = max(100, int(POP_MESSAGES * min(1, args.scale)))
    ctx.queue_messages = args.queue_messages
    ctx.nullsmtpd_musl = None
    ctx.base = tempfile.mkdtemp(prefix="pombo-bench-",
                                dir=os.environ.get("BENCH_DIR"))
    os.chmod(ctx.base, 0o755)
    if "accept" in figs:
        ctx.nullsmtpd_musl = build_nullsmtpd_musl(ctx.base)
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..",
                                       ".."))
    commit = subprocess.run(["git", "-C", top, "describe", "--always",
                             "--dirty"], capture_output=True,
                            text=True).stdout.strip() or "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    R = {"date": time.strftime("%Y-%m-%d %H:%M %Z"),
         "host": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
         "kernel": platform.release(), "rounds": args.rounds,
         "commit": commit, "queue_messages": ctx.queue_messages,
         "installed": installed, "load": [], "create_ms": [],
         "figures": {}, "notes": []}
    R["postfix_version"] = subprocess.run(
        ["postconf", "-dh", "mail_version"], capture_output=True,
        text=True).stdout.strip()
    R["dovecot_version"] = subprocess.run(
        ["dovecot", "--version"], capture_output=True,
        text=True).stdout.strip().split(" ")[0]
    la = benchlib.wait_quiet(args.max_load, args.wait_load)
    R["load"].append(("start", la))
    try:
        dns_opts, ctx.dkim_keys = auth_records(ctx.base) if "auth" in \
            figs else ([], "")
        ctx.dns = peers.Dns(ctx.procs, ctx.base, dns_opts)
        # the machine's limits go with every figure (issue 19: the table
        # says the fsync and spawn rates of the run, and the fdatasync
        # latency is part of the c=1 ceiling)
        L = R["limits"] = {}
        for _ in range(args.rounds):
            L.setdefault("fsync", []).append(
                benchlib.fsync_rate(ctx.base))
            L.setdefault("fdatasync", []).append(1 / benchlib.fsync_rate(
                ctx.base, sync=os.fdatasync))
            L.setdefault("spawn", []).append(benchlib.spawn_rate())
            L.setdefault("smtpd_spawn", []).append(smtpd_spawn_rate())
        R["limits"] = {"fsync_per_s": summary(L["fsync"]),
                       "fdatasync_s": summary(L["fdatasync"]),
                       "spawn_per_s": summary(L["spawn"]),
                       "smtpd_spawn_per_s": summary(L["smtpd_spawn"])}
        log("limits: %r" % R["limits"])
        pop_state, cost_state = {}, {}
        try:
            for fig, fn in (("accept", fig_accept), ("e2e", fig_e2e),
                            ("outbound", fig_outbound), ("auth", fig_auth),
                            ("milter", fig_milter), ("tls", fig_tls),
                            ("pop3", fig_pop3),
                            ("cost", fig_cost)):
                if fig not in figs:
                    continue
                out = R["figures"][fig] = {}
                la = benchlib.wait_quiet(args.max_load, args.wait_load)
                R["load"].append((fig, la))
                # no figure pays for the files the one before removed
                ms = benchlib.wait_settled(ctx.base, args.settle_ms,
                                           args.wait_settle)
                R["create_ms"].append((fig, ms))
                if ms >= args.settle_ms:
                    R["notes"].append("%s: creating a file still cost %.3f "
                                      "ms after %.0f s of waiting" % (
                                          fig, ms, args.wait_settle))
                log("%s (load %s)" % (fig, la))
                for rnd in range(args.rounds):
                    if fig == "pop3":
                        fn(ctx, rnd, out, pop_state)
                    elif fig == "cost":
                        fn(ctx, rnd, out, cost_state)
                    else:
                        fn(ctx, rnd, out)
                if fig == "pop3":
                    out["dovecot_first_session"] = pop_state.get(
                        "dovecot_first")
                    if not pop_state.get("cold_ok"):
                        R["notes"].append("drop_caches was not permitted: "
                                          "'cold' POP3 runs were warm")
        finally:
            for st in (pop_state, cost_state):
                for k in ("P", "D", "F", "Q"):
                    if k in st:
                        st[k].cleanup()
        R["load"].append(("end", benchlib.loadavg()))
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(R, f, indent=1, default=str)
        md = build_report(R)
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(md + "\n")
        print(md, flush=True)
    finally:
        ctx.procs.stop_all()
        if not os.environ.get("BENCH_KEEP"):
            # minutes on a disk mounted with discard: every unlink waits
            log("removing %s" % ctx.base)
            shutil.rmtree(ctx.base, ignore_errors=True)


if __name__ == "__main__":
    main()

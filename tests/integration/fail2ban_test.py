"""smtpd's and pop3d's failed logins are one log line, "auth failed:
client=IP user=NAME (n of m)", and the fail2ban filter and jail of
units/fail2ban/ find them: the real fail2ban-regex, run on the lines the
real handlers wrote (spawned per TCP connection by systemd-socket-
activate, written to log_file as a syslog daemon writes mail.log),
matches each failure of both programs with the client's address, never a
successful login, and never an address a client put in its user name;
fail2ban-client reads the jail."""
import os
import poplib
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if shutil.which("fail2ban-regex") is None:
    tap.skip("fail2ban", "fail2ban is not installed")
    tap.done()
    sys.exit(0)
scratch = tempfile.mkdtemp(prefix="pombo-f2b-")
nolog = pombo.no_syslog_wrapper(os.path.join(scratch, "dev"))
if nolog is None:
    tap.skip("fail2ban", "this machine has /dev/log; hiding it needs root")
    tap.done()
    sys.exit(0)


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


# fail2ban's own configuration with Pombo's filter and jail put in, as
# an admin installs them
etc = os.path.join(scratch, "fail2ban")
shutil.copytree("/etc/fail2ban", etc)
for part in ("filter.d", "jail.d"):
    shutil.copy(os.path.join(pombo.TOP_SRCDIR, "units", "fail2ban", part,
                             "pombo.conf"), os.path.join(etc, part))


def f2b_ips(logfile):
    """The addresses fail2ban-regex finds, one per matched line."""
    r = subprocess.run(["fail2ban-regex", "--config", etc, "-o", "ip",
                        logfile, "pombo"], capture_output=True, text=True,
                       timeout=120)
    tap.ok(r.returncode == 0, "fail2ban-regex ran on %s" %
           os.path.basename(logfile), r.stderr[-2000:])
    return r.stdout.split()


inst = pombo.Instance()
logf = os.path.join(inst.dir, "pombo.log")
inst.set_conf(log_file=logf)
inst.start(wrapper=nolog)
v6 = ipv6_loopback()
pop_addr = "::1" if v6 else "127.0.0.1"
smtp = pombo.SocketActivated(nolog + [pombo.prog("smtpd/smtpd"), "-c",
                                      inst.conf_path], inst.env())
pop = pombo.SocketActivated(nolog + [pombo.prog("pop3d/pop3d"), "-c",
                                     inst.conf_path], inst.env(),
                            addr=pop_addr)
try:
    def smtp_login(user, password):
        c = smtplib.SMTP("127.0.0.1", smtp.port, timeout=30)
        try:
            c.ehlo("client.test")
            c.login(user, password)
            return True
        except smtplib.SMTPAuthenticationError:
            return False
        finally:
            c.close()

    def pop_login(user, password):
        c = poplib.POP3(pop_addr, pop.port, timeout=30)
        try:
            c.user(user)
            c.pass_(password)
            c.quit()
            return True
        except poplib.error_proto:
            return False
        finally:
            c.close()

    tap.ok(not smtp_login("bob@example.test", "wrong"), "smtpd: a bad AUTH")
    # a name that looks like the field fail2ban reads: not its address
    tap.ok(not smtp_login("client=198.51.100.1", "x"),
           "smtpd: a bad AUTH naming another address")
    tap.ok(smtp_login("bob@example.test", "secret"), "smtpd: a good AUTH")
    tap.ok(not pop_login("alice@example.test", "wrong"),
           "pop3d: a bad USER/PASS")
    tap.ok(pop_login("alice@example.test", "secret"),
           "pop3d: a good USER/PASS")
    fail_re = re.compile(r"pombo/(smtpd|pop3d)\[\d+\]: auth failed: "
                         r"client=(\S+) user=(\S*) \((\d+) of (\d+)\)$")
    pombo.wait_for(lambda: sum(1 for l in open(logf)
                               if "authenticated as" in l or
                               "login alice" in l) >= 2
                   if os.path.exists(logf) else False, 10)
    with open(logf) as f:
        lines = f.read().splitlines()
    fails = [m.groups() for m in map(fail_re.search, lines) if m]
    tap.ok(("smtpd", "127.0.0.1", "bob@example.test", "1", "3") in fails,
           "smtpd's failure in the one format", lines)
    tap.ok(("pop3d", pop_addr, "alice@example.test", "1", "3") in fails,
           "pop3d's in the same", lines)
    tap.ok(not any("authentication failed" in l or "failed login" in l
                   for l in lines), "and no other failure line", lines)
    # smtplib tries PLAIN, then LOGIN: two failures a bad login
    tap.ok(sum(1 for f in fails if f[0] == "smtpd") >= 2 and
           sum(1 for f in fails if f[0] == "pop3d") == 1,
           "every failure logged", fails)

    ips = f2b_ips(logf)
    tap.ok(len(fails) >= 3 and sorted(ips) == sorted(f[1] for f in fails)
           and set(ips) == {"127.0.0.1", pop_addr},
           "fail2ban finds each failure of both, with the client's address",
           ips)
    tap.ok("198.51.100.1" not in ips, "never an address from a user name",
           ips)
    good = os.path.join(scratch, "good.log")
    with open(good, "w") as f:
        kept = [l for l in lines if "authenticated as" in l or
                "login alice@example.test from" in l]
        f.write("\n".join(kept) + "\n")
    tap.ok(len(kept) == 2, "the successful logins are logged", lines)
    tap.eq(f2b_ips(good), [], "fail2ban matches no successful login")

    r = subprocess.run(["fail2ban-client", "-c", etc, "-d"],
                       capture_output=True, text=True, timeout=120)
    tap.ok(r.returncode == 0 and "['add', 'pombo', 'systemd']" in r.stdout
           and "'addjournalmatch', 'SYSLOG_IDENTIFIER=pombo/smtpd'" in
           r.stdout, "fail2ban-client reads the jail (the journal, "
           "Pombo's identities)", r.stdout[-1500:] + r.stderr[-1500:])
finally:
    smtp.stop()
    pop.stop()
    inst.check_clean(tap)
    inst.cleanup()
    shutil.rmtree(scratch, ignore_errors=True)
tap.done()

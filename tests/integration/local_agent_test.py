"""pombo-local alone, fed a job on stdin with a spool's queue/ on fd 3: a
delivery repeated after a crash finds its file and delivers nothing twice,
even once the message was read and moved to cur/; a message without a
trailing newline keeps its bytes and gets the right W= size; a Maildir
whose cur/, new/ or tmp/ is a symbolic link gets nothing, and the mail
waits."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
d = tempfile.mkdtemp(prefix="pombo-agent-")
queue = os.path.join(d, "queue")
os.makedirs(queue)
mdir = os.path.join(d, "mail", "example.test", "bob")
content = b"Subject: x\n\n.dot\nno newline"
header = (b"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1795751098\n"
          b"client SMTP local x.test\nfrom <a@b.test>\n"
          b"rcpt <bob@example.test>\ndata\n")
with open(os.path.join(queue, "01k177h582jc"), "wb") as f:
    f.write(header + content)


def run(flags=""):
    job = ("POMBO-JOB 1\nhost mx.test\nmsg 01k177h582jc 1795751098 %d %d "
           "<a@b.test>%s\nrcpt 0 bob@example.test %s\n"
           "rcpt 1 carol@example.test -\nend\n" %
           (len(header), len(content), flags, mdir)).encode()
    r = pombo.run_agent("queued/pombo-local", job, queue)
    return r


def files(sub):
    p = os.path.join(mdir, sub)
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


r = run()
tap.eq(r.returncode, 0, "the agent exits 0")
out = sorted(r.stdout.decode().splitlines())
tap.eq(out, ["01k177h582jc 0 ok - 250 2.0.0 Delivered to Maildir",
             "01k177h582jc 1 perm - 550 5.1.1 No such mailbox"],
       "one result line per recipient")
tap.eq(len(files("new")), 1, "one file in new/")
name = files("new")[0] if files("new") else ""
data = open(os.path.join(mdir, "new", name), "rb").read() if name else b""
tap.eq(data, b"Return-Path: <a@b.test>\nDelivered-To: bob@example.test\n" +
       content, "the bytes, without a trailing newline")
crlf = data.replace(b"\n", b"\r\n") + b"\r\n"
tap.ok(name.endswith(",S=%d,W=%d" % (len(data), len(crlf))),
       "S= and W= (a CRLF for the unterminated last line)", name)
tap.eq(files("tmp"), [], "tmp/ is empty")

r = run()
tap.eq(files("new"), [name], "a repeated delivery finds its file in new/")
tap.ok(b"0 ok" in r.stdout, "and reports it delivered")

os.rename(os.path.join(mdir, "new", name),
          os.path.join(mdir, "cur", name + ":2,S"))
r = run(" recovered")
tap.eq(files("new"), [], "a recovered job finds it in cur/ too")
tap.ok(b"Already delivered" in r.stdout, "and says so", r.stdout)

# issue 13: a message whose lines the agent cannot read (here the
# sender as the old writer split it) fails alone; the others of the job
# are delivered. It was exit 70 for the whole job, at every retry.
before = len(files("new")) + len(files("cur"))
job = ("POMBO-JOB 1\nhost mx.test\n"
       "msg 01k177h582jc 1795751098 %d %d <\"p q\"@b.test>\n"
       "rcpt 0 bob@example.test %s\nrcpt 1 carol@example.test %s\n"
       "msg 01k177h582jc 1795751099 %d %d <\"p%%20q\"@b.test>\n"
       "rcpt 2 bob+x@example.test %s\nend\n" %
       (len(header), len(content), mdir, mdir, len(header), len(content),
        mdir)).encode()
r = pombo.run_agent("queued/pombo-local", job, queue)
tap.eq(r.returncode, 0, "a poison message in the job: the agent exits 0")
out = sorted(r.stdout.decode().splitlines())
tap.eq(out, ["01k177h582jc 0 perm - 554 5.3.0 The delivery agent cannot "
             "read this message's job (bad reverse-path)",
             "01k177h582jc 1 perm - 554 5.3.0 The delivery agent cannot "
             "read this message's job (bad reverse-path)",
             "01k177h582jc 2 ok - 250 2.0.0 Delivered to Maildir"],
       "its recipients fail alone, the other message is delivered")
tap.eq(len(files("new")) + len(files("cur")), before + 1, "one more file")
new = [n for n in files("new") if n != name]
got = open(os.path.join(mdir, "new", new[0]), "rb").read() if new else b""
tap.ok(got.startswith(b'Return-Path: <"p q"@b.test>\n'),
       "the encoded sender decoded into Return-Path:", got[:100])

# a Maildir whose new/ or tmp/ is a symbolic link (to another user's
# Maildir, or out of mail_root): nothing written through it, the mail
# waits (451) for its owner to repair the Maildir
victim = os.path.join(d, "mail", "example.test", "victim")
outside = os.path.join(d, "outside")
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(victim, sub))
os.makedirs(outside)
for sub, target in (("new", os.path.join(victim, "new")), ("tmp", outside),
                    ("cur", outside)):
    box = os.path.join(d, "mail", "example.test", "link-" + sub)
    for other in ("cur", "new", "tmp"):
        if other != sub:
            os.makedirs(os.path.join(box, other))
    os.symlink(target, os.path.join(box, sub))
    job = ("POMBO-JOB 1\nhost mx.test\nmsg 01k177h582jc 1795751098 %d %d "
           "<a@b.test>\nrcpt 0 bob@example.test %s\nend\n" %
           (len(header), len(content), box)).encode()
    r = pombo.run_agent("queued/pombo-local", job, queue)
    tap.ok(r.stdout.startswith(b"01k177h582jc 0 temp - 451 4.3.0 Cannot "
                               b"write the mailbox"),
           "%s/ a symbolic link: deferred" % sub, r.stdout)
    tap.eq(sorted(os.listdir(os.path.join(victim, "new"))) +
           sorted(os.listdir(os.path.join(victim, "tmp"))) +
           sorted(os.listdir(outside)), [],
           "%s/ a symbolic link: nothing written through it" % sub)

bad = subprocess.run([pombo.prog("queued/pombo-local")], input=b"junk\n",
                     capture_output=True, timeout=30)
tap.eq(bad.returncode, 70, "a malformed job: EX_SOFTWARE, a temporary "
       "failure for queued")
subprocess.run(["rm", "-rf", d])
tap.done()

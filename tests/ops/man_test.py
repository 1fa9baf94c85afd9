"""The manual pages: each formats with groff without a warning; pombo.conf.5
documents every key of the generated pombo.conf.sample with its default
(so a key added to shared/conf.c fails here until it is documented); each
program's page names every option and command its usage message lists.
"""
import os
import re
import subprocess

import ops

tap = ops.pombo.Tap()
PAGES = ["man/smtpd.8", "man/queued.8", "man/pombo-sendmail.8",
         "man/pombo-queue.8", "man/pombo-dkim.8", "man/pombo-verify.8",
         "man/pombo.conf.5",
         "pop3d/pop3d.8", "tlsd/pombo-tlsd.8"]


def page(name):
    with open(os.path.join(ops.SRC, name)) as f:
        return f.read()


for name in PAGES:
    r = subprocess.run(["groff", "-mandoc", "-ww", "-z",
                        os.path.join(ops.SRC, name)],
                       capture_output=True, text=True, timeout=60)
    tap.ok(r.returncode == 0 and not r.stderr.strip(),
           "%s formats without warnings" % name, r.stderr)

# pombo.conf.5: an ".It Cm key" item per key, naming its default
conf = ops.sample_conf()
tap.ok(len(conf) > 30, "the sample lists the keys (%d)" % len(conf))
text = page("man/pombo.conf.5")
# a key's item starts at ".It Cm key No = Ar type" and runs to the next
# key's (nested lists, like tls_policy's, stay inside it)
items, key = {}, None
for line in text.splitlines():
    m = re.match(r"\.It Cm (\w+) No = ", line)
    if m:
        key = m.group(1)
        items[key] = ""
    if key:
        items[key] += line + "\n"
for key, default in sorted(conf.items()):
    doc = items.get(key)
    if not tap.ok(doc is not None, "pombo.conf.5 documents %s" % key):
        continue
    if default == "":
        want = r"Default: empty"
    elif default.startswith("/"):
        # the page gives Debian's paths; the build may have another prefix
        want = r"Default:\n\.Pa /\S*/%s(?: [.,;])?\n" % re.escape(
            "/".join(default.split("/")[-2:]))
    else:
        want = r"Default:\n\.Ql %s(?: [.,;])?\n" % re.escape(default)
    tap.ok(re.search(want, doc),
           "pombo.conf.5 gives the default of %s (%r)" % (key, default), doc)
tap.eq(sorted(set(items) - set(conf)), [],
       "pombo.conf.5 documents no key the programs lack")

# each program's usage message against its page
USAGE = [
    ("smtpd/smtpd", ["--bogus"], "man/smtpd.8"),
    ("queued/queued", ["-Z"], "man/queued.8"),
    ("queued/pombo-queue", [], "man/pombo-queue.8"),
    ("queued/pombo-dkim", [], "man/pombo-dkim.8"),
    ("queued/pombo-sendmail", ["-Z"], "man/pombo-sendmail.8"),
    ("pop3d/pop3d", ["-Z"], "pop3d/pop3d.8"),
    ("tlsd/pombo-tlsd", ["-Z"], "tlsd/pombo-tlsd.8"),
]
for prog, args, man in USAGE:
    r = subprocess.run([ops.pombo.prog(prog)] + args, capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    usage = r.stdout if "usage:" in r.stdout else r.stderr
    usage = usage[usage.find("usage:"):]
    tap.eq(r.returncode, 64, "%s: usage error exits 64" % prog)
    doc = page(man)
    flags = sorted(set(re.findall(r"(?<![\w-])-(-?[A-Za-z][\w-]*)", usage)))

    def documented(f):
        """'.Fl x' or '.Fl \\-long', as a macro or a macro argument"""
        name = "\\\\-" + re.escape(f[1:]) if f.startswith("-") else \
            re.escape(f)
        return re.search(r"(?m)(^\.| )Fl %s(?![\w-])" % name, doc)
    missing = [f for f in flags if not documented(f)]
    tap.ok(flags and not missing, "%s documents %s" %
           (man, " ".join("-" + f for f in flags)),
           "missing: %s\nusage: %s" % (missing, usage))
    if prog.endswith("pombo-queue"):
        cmds = re.findall(r"\] ([\w-]+)", usage) + \
            re.findall(r"(\w+)\|", usage) + re.findall(r"\|(\w+)", usage)
        cmds = sorted(set(cmds))
        tap.ok(len(cmds) == 8 and all(
            re.search(r"(?m)^\.It Cm %s\b" % c, doc) for c in cmds),
            "%s documents the commands %s" % (man, " ".join(cmds)), usage)
tap.done()

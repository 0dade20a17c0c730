#!/usr/bin/env python3
# check_secrets.py: the cluster secret's rules (runtime/config_secret.c) as
# `wisp --check` applies them, `wisp --new-secret`, and the source tree:
# - a short secret, a repetitive one and each example secret compiled into
#   wisp (alone, or inside a longer one) are refused, the error naming why
#   and pointing at `wisp --new-secret`;
# - random secrets of the usual kinds, and what `wisp --new-secret` prints
#   (43 characters, new each time), are accepted;
# - conf/demo.lua without WISP_SECRET fails, saying to set it;
# - every secret-like literal of 8 characters or more left in the tree (an
#   assignment to a name holding "secret", a #define of one, a
#   WISP_SECRET=VALUE) is refused by `wisp --check`: none could run a
#   cluster.
# Usage: check_secrets.py WISP SOURCE_ROOT
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

NEW_SECRET = re.compile(r'[A-Za-z0-9_-]{43}')
# what the tree may hold: literals found by these are tried as secrets
QUOTED = r'(?:"([^"\n]{8,})"|\'([^\'\n]{8,})\')'
LITERALS = [
    re.compile(r'secret\w*\s*(?:\[\]\s*)?=\s*' + QUOTED, re.I),
    re.compile(r'["\']?secret\w*["\']?\s*:\s*' + QUOTED, re.I),
    re.compile(r'#\s*define\s+\w*secret\w*\s+' + QUOTED, re.I),
    re.compile(r'WISP_SECRET=["\']?()([A-Za-z0-9_+/=.-]{8,})'),
]
SCANNED = ('.c', '.h', '.lua', '.py', '.sh', '.md', '.txt', '.build', '.json',
           '.js', '.html', '.conf', '.toml', '.yml', '.yaml', '.ini')

failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print('FAIL', what)
    return ok


def lua_string(s):
    """s as a Lua long string, whatever it holds."""
    level = 0
    while ']' + '=' * level + ']' in s:
        level += 1
    return '[%s[%s]%s]' % ('=' * level, s, '=' * level)


class Wisp:
    def __init__(self, exe, work):
        self.exe, self.work, self.count = exe, work, 0

    def run(self, args, env=None):
        r = subprocess.run([self.exe] + args, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        return r.returncode, r.stdout, r.stderr

    def check_secret(self, secret):
        """`wisp --check` of a one-node cluster config with this secret:
        (exit code, stderr)."""
        self.count += 1
        path = os.path.join(self.work, 'secret%d.lua' % self.count)
        with open(path, 'w') as f:
            f.write('return { secret = %s,\n  nodes = { a = { id = 1, '
                    'harbor = "127.0.0.1:7001" } } }\n' % lua_string(secret))
        rc, _, err = self.run(['--check', path])
        return rc, err

    def refused(self, secret, reason, what):
        rc, err = self.check_secret(secret)
        check(rc == 1 and "key 'secret' in the config is refused" in err
              and reason in err and '`wisp --new-secret` makes a good one' in err,
              '%s: want it refused with "%s"; exit %d: %s' % (what, reason, rc, err))

    def accepted(self, secret, what):
        rc, err = self.check_secret(secret)
        check(rc == 0 and err == '', '%s: want it accepted; exit %d: %s'
              % (what, rc, err))


def example_secrets(source):
    """The example secrets compiled into wisp, from its source."""
    text = open(os.path.join(source, 'runtime', 'config_secret.c')).read()
    body = re.search(r'example_secrets\[\]\s*=\s*\{(.*?)\};', text, re.S)
    found = re.findall(r'"((?:[^"\\]|\\.)*)"', body.group(1)) if body else []
    check(len(found) >= 20, 'runtime/config_secret.c lists %d example '
          'secrets, fewer than the repository shipped' % len(found))
    return found


def rules(wisp, source):
    wisp.refused(secrets.token_urlsafe(15), 'is 20 characters long; it needs '
                 'at least 32', 'a random secret of 20 characters')
    wisp.refused(secrets.token_urlsafe(32)[:31], 'is 31 characters long',
                 'a random secret of 31 characters')
    wisp.accepted(secrets.token_urlsafe(32)[:32], 'a random secret of 32 characters')
    for kind, weak in (('one character', 'a' * 40), ('two alternating', 'ab' * 20),
                       ('the digits again and again', '0123456789' * 4),
                       ('one block of 11 repeated', 'k3Jx9-qZ_2m' * 4)):
        wisp.refused(weak, 'has too little variety', 'a secret of %s' % kind)
    for example in example_secrets(source):
        wisp.refused(example, 'is the example secret "%s"' % example,
                     'the example secret "%s"' % example)
        if len(example) >= 8:
            padded = secrets.token_hex(8) + example.upper() + secrets.token_hex(8)
            wisp.refused(padded, 'holds the example secret "',
                         'a secret holding the example "%s"' % example)
    for kind, good in (('token_hex(16)', secrets.token_hex(16)),
                       ('token_hex(32)', secrets.token_hex(32)),
                       ('token_urlsafe(32)', secrets.token_urlsafe(32)),
                       ('decimal digits', ''.join(secrets.choice('0123456789')
                                                  for _ in range(40)))):
        wisp.accepted(good, 'a random secret, %s' % kind)
    rc, err = wisp.check_secret('')
    check(rc == 1 and "missing required key 'secret'" in err
          and 'wisp --new-secret' in err, 'an empty secret: exit %d: %s' % (rc, err))


def new_secret(wisp):
    made = []
    for _ in range(2):
        rc, out, err = wisp.run(['--new-secret'])
        line = out.rstrip('\n')
        check(rc == 0 and err == '' and NEW_SECRET.fullmatch(line)
              and out.count('\n') == 1,
              'wisp --new-secret: exit %d, printed %r, stderr %r' % (rc, out, err))
        made.append(line)
    check(made[0] != made[1], 'wisp --new-secret printed the same secret twice')
    wisp.accepted(made[0], 'a secret from wisp --new-secret')
    rc, _, err = wisp.run(['--help'])
    check(rc == 0 and '--new-secret' in err, 'wisp --help does not tell of --new-secret')
    return made[0]


def demo_config(wisp, source, secret):
    demo = os.path.join(source, 'conf', 'demo.lua')
    env = {k: v for k, v in os.environ.items() if k != 'WISP_SECRET'}
    rc, _, err = wisp.run(['--check', demo], env)
    check(rc == 1 and 'set WISP_SECRET' in err and 'wisp --new-secret' in err,
          'conf/demo.lua without WISP_SECRET: exit %d: %s' % (rc, err))
    env['WISP_SECRET'] = secret
    rc, out, err = wisp.run(['--check', demo], env)
    check(rc == 0 and '7 nodes checked' in out,
          'conf/demo.lua with a new secret: exit %d: %s%s' % (rc, out, err))


def tree_files(source):
    for top, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith(('.', 'build'))
                         and not (top == source and d == 'run'))
        for name in sorted(files):
            if name.endswith(SCANNED):
                yield os.path.join(top, name)


def tree_literals(source):
    """{literal: [where it is, ...]} of every secret-like literal."""
    found = {}
    for path in tree_files(source):
        with open(path, encoding='utf-8', errors='replace') as f:
            for number, line in enumerate(f, 1):
                for pattern in LITERALS:
                    for m in pattern.finditer(line):
                        where = '%s:%d' % (os.path.relpath(path, source), number)
                        found.setdefault(m.group(1) or m.group(2), []).append(where)
    return found


def scan(wisp, source):
    found = tree_literals(source)
    check(len(found) > 0, 'the scan found no secret-like literal at all: '
          'the patterns no longer match the tree')
    for literal, places in sorted(found.items()):
        rc, err = wisp.check_secret(literal)
        check(rc == 1 and "'secret'" in err, '%s: "%s" would run a cluster: '
              'read it from WISP_SECRET or make it a random one per run'
              % (', '.join(places), literal))
    print('%d secret-like literals in the tree tried as secrets' % len(found))


def main():
    if len(sys.argv) != 3:
        print('usage: check_secrets.py WISP SOURCE_ROOT', file=sys.stderr)
        return 2
    exe, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = tempfile.mkdtemp(prefix='wisp-secrets-')
    try:
        wisp = Wisp(exe, work)
        rules(wisp, source)
        demo_config(wisp, source, new_secret(wisp))
        scan(wisp, source)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('%d configs checked, %s' % (wisp.count, '%d failures' % failures
                                      if failures else 'all as expected'))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
# test_readme.py: runs every code example of README.md. Each fenced block
# must follow a marker, <!-- test: KIND [SCENARIO] [ARGS...] -->, naming
# how it is run; a block without one, a marker no scenario knows, a block
# no scenario used or a scenario that fails makes the test fail.
#
# Kinds: tools (tools/*.sh named: they must exist and be executable, but
# are not run from here); config (written to the path its first comment
# names, then `wisp --check` for each node in ARGS); c, lua-service, sql
# (files, written where their first comment says); lua-snippet (lines
# wrapped in a service); sh (run with bash, one scenario each); console
# (`$ ` lines run, the lines after each compared with what they print);
# output (lines a scenario's run must print). In compared lines numbers
# (and sizes such as 9.8K) match any number and runs of blanks any blank.
#
# Everything runs in a fresh work directory holding links to the source
# tree's top-level entries and `build` linked to the build under test, so
# the commands run as the README writes them. Every 127.0.0.1 port of a
# block is mapped to a free one, /tmp/ to the work directory's tmp/, and
# the --duration of wisp-load and wisp-bots is cut to 1 s.
#
# Usage: test_readme.py SOURCE_ROOT BUILD_ROOT READMECLIENT [SCENARIO...]
# (only the scenarios named, when some are; a block left unused is then
# not an error).
import glob
import os
import random
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MARKER = re.compile(r'^<!-- test: (.+?) -->\s*$')
FENCE = re.compile(r'^```(\S*)\s*$')
PATH_COMMENT = re.compile(r'^(?:--|/\*)\s*([\w./-]+\.(?:lua|c|sql)):')
KINDS = {'tools', 'config', 'c', 'lua-service', 'lua-snippet', 'sql', 'sh',
         'console', 'output'}
START_S = 30    # a node or cluster getting ready
STOP_S = 20     # a node or cluster stopping
COMMAND_S = 60  # one command of a block
# what a node prints when an example failed in it: waiting stops there
FAILURES = ('failed to start', 'README BLOCK FAILED')


# curl as the README's console session uses it (-s, -H HEADER, URL), put
# on the PATH of the commands when the machine has no curl (tools/setup.sh
# does not install it).
CURL_SHIM = """#!/usr/bin/env python3
import sys, urllib.request
args, headers, url = sys.argv[1:], {}, None
while args:
    a = args.pop(0)
    if a == '-H':
        k, _, v = args.pop(0).partition(':')
        headers[k.strip()] = v.strip()
    elif not a.startswith('-'):
        url = a if '://' in a else 'http://' + a
with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
    sys.stdout.write(r.read().decode())
"""


class Fail(Exception):
    pass


class Block:
    def __init__(self, lang, text, line, marker):
        self.lang, self.text, self.line = lang, text, line
        words = marker.split() if marker else []
        self.kind = words[0] if words else None
        self.scenario = words[1] if len(words) > 1 else None
        self.args = words[2:]
        self.used = False
        m = PATH_COMMENT.match(text)
        self.path = m.group(1) if m else None

    def where(self):
        return 'README.md:%d (%s %s)' % (self.line, self.kind, self.scenario)


def parse_readme(path):
    """Every fenced block with the marker before it; errors for blocks
    without one."""
    lines = open(path, encoding='utf-8').read().split('\n')
    blocks, errors = [], []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != '```':
            j += 1
        if j == len(lines):
            errors.append('README.md:%d: a fence that never closes' % (start + 1))
            break
        k = start - 1
        while k >= 0 and lines[k].strip() == '':
            k -= 1
        mark = MARKER.match(lines[k]) if k >= 0 else None
        text = '\n'.join(lines[start + 1:j]) + '\n'
        block = Block(m.group(1), text, start + 1, mark.group(1) if mark else None)
        if mark is None:
            errors.append('README.md:%d: a ```%s block with no <!-- test: ... --> '
                          'marker before it' % (start + 1, m.group(1)))
        elif block.kind not in KINDS:
            errors.append('README.md:%d: unknown test kind "%s"' % (start + 1, block.kind))
        blocks.append(block)
        i = j + 1
    return blocks, errors


class Ports:
    """Literal ports of the examples mapped to free ones, the same one
    each time a literal comes back."""

    def __init__(self):
        self.map, self.taken = {}, set()

    @staticmethod
    def bindable(port):
        s = socket.socket()
        try:
            s.bind(('127.0.0.1', port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def run(self, count):
        """The first of count consecutive free ports, below the usual
        ephemeral range (the nodes' own connections do not take them)."""
        for _ in range(500):
            base = random.randrange(20000, 32000 - count)
            span = range(base, base + count)
            if all(p not in self.taken and self.bindable(p) for p in span):
                self.taken.update(span)
                return base
        raise Fail('no %d free ports' % count)

    def get(self, literal):
        if literal not in self.map:
            self.map[literal] = self.run(1)
        return self.map[literal]

    def sub(self, text, bare=False):
        text = re.sub(r'127\.0\.0\.1:(\d{2,5})',
                      lambda m: '127.0.0.1:%d' % self.get(m.group(1)), text)
        if bare:  # "-p 11211": only literals seen as addresses before
            text = re.sub(r'(?<![\w.:])(\d{4,5})(?![\w.:])',
                          lambda m: str(self.map.get(m.group(1), m.group(1))), text)
        return text


def norm(line):
    line = re.sub(r'\d+(\.\d+)?[KMG]?', 'N', line)
    return ' '.join(line.split())


def line_matches(want, got):
    """want, normalized, against got; "..." in want matches anything."""
    if '...' not in want:
        return want == got
    parts = [re.escape(p) for p in want.split('...')]
    return re.fullmatch('.*'.join(parts), got) is not None


def group_members(pgid):
    """The states of the processes of group pgid ("Z" for a zombie)."""
    states = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            stat = open('/proc/%s/stat' % pid).read()
        except OSError:
            continue
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            states.append(fields[0])
    return states


def group_alive(pgid):
    """Whether a process of group pgid is still running (not a zombie).
    A second look when the first saw none: a process forked while /proc
    was being read (by one seen exited after it) shows only then."""
    return any(s != 'Z' for s in group_members(pgid)) \
        or any(s != 'Z' for s in group_members(pgid))


class Proc:
    """A bash command in its own process group, its output in a file."""
    all = []

    def __init__(self, ctx, name, cmd, env=None):
        self.name, self.cmd = name, cmd
        self.log = os.path.join(ctx.work, 'logs', '%02d-%s.log' % (len(Proc.all), name))
        with open(self.log, 'w') as out:
            self.p = subprocess.Popen(['bash', '-c', cmd], cwd=ctx.work,
                                      env=ctx.env(env), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        self.pgid = self.p.pid
        self.rc = None
        Proc.all.append(self)
        ctx.procs.append(self)

    def output(self):
        with open(self.log, encoding='utf-8', errors='replace') as f:
            return f.read()

    def alive(self):
        self.p.poll()
        return group_alive(self.pgid)

    def wait_for(self, texts, timeout=START_S):
        """Until the output holds every text; fails early when the group
        is gone or one of FAILURES shows."""
        deadline = time.time() + timeout
        while True:
            out = self.output()
            for failure in FAILURES:
                if failure in out:
                    raise Fail('%s printed "%s"' % (self.name, failure))
            if all(t in out for t in texts):
                return out
            if not self.alive():
                raise Fail('%s ended before printing %s' % (self.name, texts))
            if time.time() > deadline:
                raise Fail('%s did not print %s within %d s' % (self.name, texts, timeout))
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, group=True):
        """Signals the group (or only its first process) and waits for the
        whole group to end; the exit code of the first process."""
        try:
            if group:
                os.killpg(self.pgid, sig)
            else:
                os.kill(self.p.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.time() + STOP_S
        while self.alive():
            if time.time() > deadline:
                os.killpg(self.pgid, signal.SIGKILL)
                raise Fail('%s did not stop within %d s' % (self.name, STOP_S))
            time.sleep(0.05)
        self.rc = self.p.wait()
        return self.rc

    def stop_clean(self):
        rc = self.stop()
        if rc != 0:
            raise Fail('%s exited with %s' % (self.name, rc))
        return self.output()

    @classmethod
    def kill_all(cls):
        for p in cls.all:
            try:
                if group_alive(p.pgid):
                    os.killpg(p.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.p.poll()


class Client:
    """readme_client: one game client, "COMMAND BODY" in, the reply out."""

    def __init__(self, ctx, port):
        self.p = subprocess.Popen([ctx.client, '127.0.0.1:%d' % port],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)

    def ask(self, command, body):
        self.p.stdin.write('%d %s\n' % (command, body))
        self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], 15)
        reply = self.p.stdout.readline().rstrip('\n') if ready else 'ERROR no reply'
        if reply.startswith('ERROR'):
            raise Fail('client, command %d "%s": %s' % (command, body, reply))
        return reply

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


class Context:
    def __init__(self, source, build, client, blocks):
        self.source, self.client = source, client
        self.blocks = blocks
        self.ports = Ports()
        self.procs = []
        self.work = tempfile.mkdtemp(prefix='wisp-readme-')
        for name in os.listdir(source):
            # a run directory left in the tree by hand would hold old logs
            if name.startswith('.') or name.startswith('build') or name == 'run':
                continue
            os.symlink(os.path.join(source, name), os.path.join(self.work, name))
        os.symlink(build, os.path.join(self.work, 'build'))
        for d in ('logs', 'tmp', 'hello', 'readme'):
            os.mkdir(os.path.join(self.work, d))
        fixtures = os.path.join(source, 'test', 'readme')
        for name in os.listdir(fixtures):
            self.write('readme/' + name, open(os.path.join(fixtures, name)).read())
        self.demo_base = self.ports.run(7) - 1  # conf/demo.lua: base + 1..7
        self.path = os.environ.get('PATH', '')
        if shutil.which('curl') is None:
            shim = self.write('bin/curl', CURL_SHIM)
            os.chmod(shim, 0o755)
            self.path = os.path.dirname(shim) + os.pathsep + self.path

    def env(self, extra=None):
        env = dict(os.environ)
        env.pop('WISP_CONSOLE_TOKEN', None)
        env['PATH'] = self.path
        env.update({
            'WISP_ECHO_ADDR': '127.0.0.1:%d' % self.ports.get('9000'),
            'WISP_GATE_ADDR': '127.0.0.1:%d' % self.ports.get('7100'),
            'WISP_DEMO_PORT_BASE': str(self.demo_base),
            'WISP_DB_FILE': os.path.join(self.work, 'tmp', 'demo.db'),
        })
        env.update(extra or {})
        return env

    def take(self, kind, scenario=None, count=1):
        found = [b for b in self.blocks if b.kind == kind and b.scenario == scenario]
        if len(found) != count:
            raise Fail('README.md has %d blocks marked "%s %s", want %d'
                       % (len(found), kind, scenario or '', count))
        for b in found:
            b.used = True
        return found if count > 1 else found[0]

    def write(self, rel, text):
        path = os.path.join(self.work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(self.ports.sub(text))
        return path

    def write_block(self, block, extra=''):
        if not block.path:
            raise Fail('%s: its first line must name its file ("-- hello/x.lua: ...")'
                       % block.where())
        return self.write(block.path, block.text + extra)

    def shell(self, block_text):
        text = self.ports.sub(block_text, bare=True)
        text = text.replace('/tmp/', os.path.join(self.work, 'tmp') + '/')
        return re.sub(r'--duration (\d+)',
                      lambda m: '--duration ' + min(m.group(1), '1', key=int), text)

    def commands(self, block):
        """The block's command lines, each ready to run."""
        return [self.shell(line) for line in block.text.split('\n')
                if line.strip() and not line.lstrip().startswith('#')]

    def commands_of(self, blocks):
        return [cmd for b in blocks for cmd in self.commands(b)]

    def find(self, kind, scenario):
        """The blocks of a kind and scenario, left to the scenario that
        takes them."""
        return [b for b in self.blocks if b.kind == kind and b.scenario == scenario]

    def run(self, cmd, extra=None, timeout=COMMAND_S):
        r = subprocess.run(['bash', '-c', cmd], cwd=self.work, env=self.env(extra),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        return r.returncode, r.stdout

    def check_config(self, block):
        path = self.write_block(block) if block.path else \
            self.write('readme/config-%s.lua' % block.scenario, block.text)
        if not block.args:
            raise Fail('%s: the marker names no node to check' % block.where())
        for node in block.args:
            rc, out = self.run('build/wisp --check %s %s' % (shlex.quote(path), node))
            if rc != 0 or out:
                raise Fail('%s: wisp --check ... %s: exit %d: %s'
                           % (block.where(), node, rc, out.strip()))

    def gate_port(self):
        return self.ports.get('7100')


def expect_lines(block, output, what):
    """Each line of the block like a line of output, in order, each a
    different one."""
    got = iter(norm(line) for line in output.split('\n'))
    for want in block.text.strip('\n').split('\n'):
        if not any(line_matches(norm(want), g) for g in got):
            raise Fail('%s: no line like "%s" in %s (in this order)'
                       % (block.where(), want, what))


def run_console(ctx, block, env=None):
    """Runs each `$ ` line; what it prints must match the lines after it."""
    env = dict(env or {})
    steps, current = [], None
    for line in block.text.rstrip('\n').split('\n'):
        if line.startswith('$ '):
            current = [line[2:], []]
            steps.append(current)
        elif current is None:
            raise Fail('%s: output before the first "$ " line' % block.where())
        else:
            current[1].append(line)
    for cmd, want in steps:
        if cmd.startswith('export '):
            key, _, value = cmd[len('export '):].partition('=')
            env[key] = value
            continue
        deadline = time.time() + 10
        while True:
            rc, out = ctx.run(ctx.shell(cmd), env)
            got = [norm(g) for g in out.rstrip('\n').split('\n')] if out else []
            wanted = [norm(w) for w in want]
            if len(got) == len(wanted) and all(map(line_matches, wanted, got)):
                break
            if time.time() > deadline:
                raise Fail('%s: "%s" printed (exit %d):\n%s\nwant:\n%s'
                           % (block.where(), cmd, rc, out, '\n'.join(want)))
            time.sleep(0.3)


def wisp_bots_quick(ctx, bots=10):
    rc, out = ctx.run('build/tools/wisp-bots --bots %d --rooms 2 --duration 1 '
                      '127.0.0.1:%d' % (bots, ctx.gate_port()))
    if rc != 0:
        raise Fail('wisp-bots on the gate: exit %d:\n%s' % (rc, out))


# ---- the scenarios, in the order they run ----

def scenario_tools(ctx):
    block = ctx.take('tools')
    text = open(os.path.join(ctx.source, 'README.md')).read()
    scripts = set(re.findall(r'tools/[\w.-]+\.sh', text))
    if not {'tools/setup.sh', 'tools/demo.sh', 'tools/test.sh',
            'tools/bench.sh'} <= scripts:
        raise Fail('README.md must name tools/setup.sh, demo.sh, test.sh and bench.sh')
    if len(re.findall(r'tools/[\w.-]+\.sh', block.text)) < 3:
        raise Fail('%s: the two commands name fewer than 3 scripts' % block.where())
    for s in sorted(scripts):
        path = os.path.join(ctx.source, s)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Fail('%s is not an executable file' % s)


def scenario_testing(ctx):
    """The tools of "How wisp is tested": each exists, runs, and knows
    the options the README gives it."""
    block = ctx.take('tools', 'testing')
    for line in block.text.splitlines():
        cmd = line.split('#')[0].split()
        if not cmd:
            continue
        path = os.path.join(ctx.source, cmd[0])
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Fail('%s: %s is not an executable file' % (block.where(), cmd[0]))
    out = subprocess.run([os.path.join(ctx.source, 'tools/chaos/chaos.py'),
                          '--help'], capture_output=True, text=True).stdout
    for option in re.findall(r'(--[a-z-]+)', block.text):
        if option not in out:
            raise Fail('%s: chaos.py --help does not know %s' % (block.where(), option))


def c_arrays(path, suffix):
    src = open(path).read()
    return re.findall(r'(\w+%s)\[\]\s*=\s*\{(.*?)\};' % suffix, src, re.S)


def config_keys(path):
    """The keys a config file of the runtime's or a service's knows: lists
    of names, or tables of struct wisp_cfg_key (each entry's first string)."""
    keys = set()
    for _, body in c_arrays(path, '_keys'):
        if '{' in body or '(' in body:
            keys.update(re.findall(r'[{(]\s*"(\w+)"', body))
        else:
            keys.update(re.findall(r'"(\w+)"', body))
    return keys


def scenario_reference(ctx):
    block = ctx.take('config', 'reference')
    ctx.check_config(block)
    files = glob.glob(os.path.join(ctx.source, 'runtime', 'config*.c'))
    files += glob.glob(os.path.join(ctx.source, 'services', '*', 'config_*.c'))
    keys = set()
    for path in sorted(files):
        keys |= config_keys(path)
    if len(keys) < 30:
        raise Fail('found only %d config keys in runtime/config*.c and '
                   'services/*/config_*.c' % len(keys))
    missing = sorted(k for k in keys if not re.search(r'\b%s\s*=' % k, block.text))
    if missing:
        raise Fail('%s: the config reference lacks %s' % (block.where(), ', '.join(missing)))


def section(text, start, end):
    i = text.index(start)
    return text[i:text.index(end, i)]


def scenario_api(ctx):
    """The README's tables of the Lua API against the code."""
    text = open(os.path.join(ctx.source, 'README.md')).read()
    table = section(text, '### The wisp module', 'The other modules')
    others = section(text, 'The other modules', 'Isolation:')
    lua = os.path.join(ctx.source, 'services', 'lua')
    lists = re.search(r'wisp_funcs\[\]\s*=\s*\{(.*?)\};',
                      open(os.path.join(lua, 'lflow.c')).read(), re.S).group(1)
    wanted = set(re.findall(r'\w+', lists)) - {'NULL'}
    names = set()
    for name in os.listdir(lua):
        if name.endswith('.c'):
            for array, body in c_arrays(os.path.join(lua, name), ''):
                if array in wanted:
                    wanted.discard(array)
                    names.update(re.findall(r'\{\s*"(\w+)"', body))
    if wanted or len(names) < 40:
        raise Fail('could not read the wisp module\'s functions (%s)' % wanted)
    missing = sorted(n for n in names if not re.search(r'\b%s\(' % n, table))
    lualib = os.path.join(ctx.source, 'services', 'lualib', 'wisp')
    for module in ('db', 'socket', 'cluster'):
        src = open(os.path.join(lualib, module + '.lua')).read()
        funcs = set(re.findall(r'^function %s\.(\w+)' % module, src, re.M))
        funcs |= set(re.findall(r'^\t\t(\w+) = function', src, re.M))
        missing += ['wisp.%s.%s' % (module, f) for f in sorted(funcs)
                    if not re.search(r'\b%s\b' % f, others)]
    if missing:
        raise Fail('the README\'s Lua API lacks %s' % ', '.join(missing))


def wait_lines(p, out):
    """Waits for the lines of the output block out in p's output."""
    deadline = time.time() + START_S
    while True:
        try:
            expect_lines(out, p.output(), 'the nodes\' output')
            return
        except Fail:
            if time.time() > deadline or not p.alive():
                raise
            time.sleep(0.1)


def scenario_tutorial(ctx):
    c = ctx.take('c', 'tutorial')
    ctx.write_block(c)
    ctx.write_block(ctx.take('lua-service', 'tutorial'))
    ctx.check_config(ctx.take('config', 'tutorial'))
    sh = ctx.take('sh', 'tutorial')
    out = ctx.take('output', 'tutorial')
    p = Proc(ctx, 'tutorial', ctx.shell(sh.text))
    wait_lines(p, out)
    p.stop()
    log = p.output()
    for want in ('lobby wisp all services stopped', 'game wisp all services stopped',
                 'answered'):
        if want not in log:
            raise Fail('the tutorial\'s nodes did not log "%s"' % want)
    if re.search(r'pong\.c:\d+:\d+: (warning|error)', log):
        raise Fail('pong.c did not compile cleanly')


def scenario_values(ctx):
    """A C service answering a Lua call through wisp_value.h."""
    ctx.write_block(ctx.take('c', 'values'))
    ctx.write_block(ctx.take('lua-service', 'values'))
    ctx.check_config(ctx.take('config', 'values'))
    build, node = ctx.commands(ctx.take('sh', 'values'))
    rc, out = ctx.run(build)
    if rc != 0 or re.search(r'(warning|error):', out):
        raise Fail('sum.c did not compile cleanly:\n%s' % out)
    p = Proc(ctx, 'values', 'exec ' + node)
    wait_lines(p, ctx.take('output', 'values'))
    p.stop_clean()


def scenario_echo(ctx):
    (cmd,) = ctx.commands(ctx.take('sh', 'echo'))
    p = Proc(ctx, 'echo', 'exec ' + cmd)
    p.wait_for(['listening on'])
    with socket.create_connection(('127.0.0.1', ctx.ports.get('9000')), timeout=10) as s:
        s.sendall(b'hello from the README')
        got = b''
        while len(got) < 21:
            got += s.recv(64)
    if got != b'hello from the README':
        raise Fail('echo answered %r' % got)
    if 'all services stopped' not in p.stop_clean():
        raise Fail('echo did not stop in order')


def scenario_gate(ctx):
    ctx.write_block(ctx.take('lua-service', 'gate'))
    ctx.check_config(ctx.take('config', 'gate'))
    node, load = ctx.commands_of(ctx.take('sh', 'gate', count=2))
    p = Proc(ctx, 'gate', 'exec ' + node)
    p.wait_for(['gate listening for clients'])
    client = Client(ctx, ctx.gate_port())
    reply = client.ask(101, 'ann')
    client.close()
    if reply != '101 welcome ann':
        raise Fail('login answered "%s"' % reply)
    rc, out = ctx.run(load)
    if rc != 0 or 'errors 0' not in out:
        raise Fail('wisp-load: exit %d:\n%s' % (rc, out))
    p.stop_clean()


def scenario_hot(ctx):
    login = ctx.take('lua-service', 'hot')
    console = ctx.take('console', 'hot')
    ctx.write_block(login)
    ctx.write_block(ctx.find('config', 'gate')[0])
    node = ctx.commands_of(ctx.find('sh', 'gate'))[0]
    p = Proc(ctx, 'hot', 'exec ' + node)
    p.wait_for(['gate listening for clients', 'console: operators on'])
    client = Client(ctx, ctx.gate_port())
    first = client.ask(101, 'ann')
    if first != '101 welcome ann, login 1':
        raise Fail('login answered "%s"' % first)
    edited = login.text.replace('"welcome "', '"hello "')
    if edited == login.text:
        raise Fail('%s: no "welcome " to edit' % login.where())
    ctx.write(login.path, edited)
    run_console(ctx, console)
    second = client.ask(101, 'ann')
    client.close()
    if second != '101 hello ann, login 2':
        raise Fail('after the reload, login answered "%s"' % second)
    p.stop_clean()


DB_CHECKS = '''
-- test_readme.py: what the calls above must have done
local wisp = require "wisp"
assert(gold == 10, "gold is " .. tostring(gold))
assert(same.level == 2 and same.gold == 10 and same.name == "Ann")
assert(#mine == 1 and mine[1].id == p.id)
assert(some[p.id] and some[p.id].account == "ann")
assert(players.get(p.id) == nil, "the player was not deleted")
assert(items[1].name == "sword" and items[2].name == "shield")
assert(type(counters) == "table")
wisp.log("README BLOCK OK")
'''


def write_db_files(ctx):
    for kind in ('sql', 'lua-service'):
        block = ctx.find(kind, 'db')[0]
        ctx.write_block(block, DB_CHECKS if kind == 'lua-service' else '')
    for name in os.listdir(ctx.work):
        if name.startswith('hello.db'):
            os.remove(os.path.join(ctx.work, name))


def scenario_db(ctx):
    ctx.take('sql', 'db')
    ctx.take('lua-service', 'db')
    write_db_files(ctx)
    ctx.check_config(ctx.take('config', 'db'))
    (cmd,) = ctx.commands(ctx.take('sh', 'db'))
    p = Proc(ctx, 'db', 'exec ' + cmd)
    p.wait_for(['README BLOCK OK', 'applied migration 001_player.sql',
                'cache in memory'])
    p.stop_clean()


BOARD_CHECKS = '''
-- test_readme.py: what the leaderboard above must have read
assert(top.rows[1].points == 50 and top.rows[2].points == 40
	and top.rows[3].points == 30 and top.next, "the top three")
assert(seen == 5 and page.rows[1].points == 50, "every page")
wisp.log("README BLOCK OK")
'''


def scenario_leaderboard(ctx):
    write_db_files(ctx)
    ctx.write_block(ctx.find('config', 'db')[0])
    ctx.write_block(ctx.take('sql', 'leaderboard'))
    ctx.write_block(ctx.take('lua-service', 'leaderboard'), BOARD_CHECKS)
    ctx.check_config(ctx.take('config', 'leaderboard'))
    (cmd,) = ctx.commands(ctx.take('sh', 'leaderboard'))
    p = Proc(ctx, 'leaderboard', 'exec ' + cmd)
    p.wait_for(['README BLOCK OK', 'applied migration 002_score.sql',
                '1. player3 50'])
    p.stop_clean()


def scenario_postgres(ctx):
    write_db_files(ctx)
    ctx.write_block(ctx.find('config', 'db')[0])
    ctx.check_config(ctx.take('config', 'postgres'))


def memcached_stats(port):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'stats\r\n')
        data = b''
        while not data.endswith(b'END\r\n'):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return dict(re.findall(r'STAT (\w+) (\d+)', data.decode()))


def wait_port(port, proc):
    deadline = time.time() + START_S
    while True:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline or not proc.alive():
                raise Fail('nothing listens on port %d' % port)
            time.sleep(0.05)


def scenario_memcached(ctx):
    write_db_files(ctx)
    ctx.write_block(ctx.find('config', 'db')[0])
    ctx.check_config(ctx.take('config', 'memcached'))
    server, node = ctx.commands(ctx.take('sh', 'memcached'))
    port = ctx.ports.get('11211')
    if str(port) not in server:
        raise Fail('the memcached command does not use the config\'s port')
    mc = Proc(ctx, 'memcached', server)
    wait_port(port, mc)
    p = Proc(ctx, 'db-memcached', 'exec ' + node)
    p.wait_for(['README BLOCK OK', 'cache in memcached'])
    stats = memcached_stats(port)
    if int(stats.get('cmd_set', 0)) == 0 or int(stats.get('cmd_get', 0)) == 0:
        raise Fail('the db did not use memcached: %s' % stats)
    p.stop_clean()
    mc.stop()


SNIPPET = '''-- snippet.lua: written by test_readme.py, the README's call snippet
-- in a service, once counter@game1 answers.
local wisp = require "wisp"

wisp.start(function()
	for _ = 1, 100 do
		if pcall(wisp.call, "counter@game1", "add", 0) then
			break
		end
		wisp.sleep(100)
	end
	local ok, err = pcall(function()
%s
		assert(total == 5, "total is " .. tostring(total))
		assert(wisp.call("counter@game1", "add", 0) == 6)
	end)
	wisp.log(ok and "README BLOCK OK" or "README BLOCK FAILED: " .. tostring(err))
end)
'''


def scenario_counter(ctx):
    ctx.write_block(ctx.take('lua-service', 'counter'))
    snippet = ctx.take('lua-snippet', 'counter')
    ctx.write('readme/snippet.lua', SNIPPET % snippet.text.rstrip('\n'))
    game = Proc(ctx, 'counter-game1', 'exec build/wisp readme/counter_cluster.lua game1')
    lobby = Proc(ctx, 'counter-lobby', 'exec build/wisp readme/counter_cluster.lua lobby')
    lobby.wait_for(['README BLOCK OK'])
    lobby.stop_clean()
    game.stop_clean()


def scenario_console(ctx):
    block = ctx.take('console', 'console')
    nodes = [Proc(ctx, 'console-' + n, 'exec build/wisp readme/console_cluster.lua ' + n)
             for n in ('root', 'game1', 'net')]
    nodes[0].wait_for(['console: operators on'])
    nodes[2].wait_for(['gate listening for clients'])
    clients = [Client(ctx, ctx.gate_port()) for _ in range(3)]
    for i, c in enumerate(clients):
        if c.ask(1000, 'hi %d' % i) != '1000 hi %d' % i:
            raise Fail('the room did not echo through the gate')
    run_console(ctx, block)
    for c in clients:
        c.close()
    for n in reversed(nodes):
        n.stop_clean()


def scenario_cluster(ctx):
    cmd = '\n'.join(ctx.commands(ctx.take('sh', 'cluster')))
    p = Proc(ctx, 'cluster', cmd, {'WISP_DB_FILE': os.path.join(ctx.work, 'tmp', 'cluster.db')})
    p.wait_for(['gate listening for clients', 'demo: login ready', 'demo: room ready'])
    wisp_bots_quick(ctx)
    p.stop()
    if p.output().count('all services stopped') != 7:
        raise Fail('not every node of the cluster stopped in order')


def scenario_master(ctx):
    lines = ctx.commands(ctx.take('sh', 'master'))
    if len(lines) != 2:
        raise Fail('the master block should have 2 commands')
    for i, cmd in enumerate(lines):
        m = re.search(r'--run-dir (\S+)', cmd)
        run_dir = os.path.join(ctx.work, m.group(1) if m else 'run')
        db = os.path.join(ctx.work, 'tmp', 'master%d.db' % i)
        p = Proc(ctx, 'master%d' % i, 'exec ' + cmd, {'WISP_DB_FILE': db})
        deadline = time.time() + START_S
        ready = {'net.log': 'gate listening for clients', 'lobby.log': 'demo: login ready'}
        while not all(os.path.exists(os.path.join(run_dir, f))
                      and t in open(os.path.join(run_dir, f)).read()
                      for f, t in ready.items()):
            if time.time() > deadline or not p.alive():
                raise Fail('the master\'s nodes did not start (%s)' % cmd)
            time.sleep(0.1)
        wisp_bots_quick(ctx, 5)
        if p.stop(group=False) != 0:
            raise Fail('the master exited with %s:\n%s' % (p.rc, p.output()))
        logs = sorted(f for f in os.listdir(run_dir) if f.endswith('.log'))
        if logs != ['db.log', 'game1.log', 'game2.log', 'game3.log', 'lobby.log',
                    'net.log', 'root.log']:
            raise Fail('the run directory holds %s' % logs)


def scenario_bots(ctx):
    save, verify = ctx.commands(ctx.take('sh', 'bots'))
    out_block = ctx.take('output', 'bots')
    node = Proc(ctx, 'single', 'exec build/wisp conf/single.lua main',
                {'WISP_DB_FILE': os.path.join(ctx.work, 'tmp', 'single.db')})
    node.wait_for(['gate listening for clients', 'demo: login ready', 'demo: room ready'])
    printed = ''
    for cmd in (save, verify):
        rc, out = ctx.run(cmd)
        if rc != 0:
            raise Fail('"%s": exit %d:\n%s' % (cmd, rc, out))
        printed += out
    expect_lines(out_block, printed, 'what wisp-bots printed')
    node.stop_clean()


def sanitizer_reports(ctx):
    """A scenario passes only if no process it ran reported a sanitizer
    error, whatever its exit code."""
    for p in ctx.procs:
        if re.search(r'ERROR: \w+Sanitizer|runtime error:', p.output()):
            raise Fail('%s: a sanitizer report' % p.name)


SESSION_SERVICE = '''-- session.lua: written by test_readme.py, the README's session
-- snippet in a service; command 100 gives its client the session
-- { uid = 1, name = BODY }.
local wisp = require "wisp"

wisp.start(function()
	wisp.register("session")
	wisp.command(100, function(conn, body)
		wisp.session(conn, { uid = 1, name = body })
		return "ok"
	end)
%s
	wisp.log("README SESSION READY")
end)
'''

SESSION_CONFIG = '''-- session_gate.lua: written by test_readme.py: a gate routing 100 and
-- 1001 to session.lua.
return {
	lua_path = "readme/?.lua",
	nodes = {
		main = {
			id = 1,
			roles = { "node", "net" },
			services = { "lua session" },
			gate = { listen = "127.0.0.1:7101",
				commands = { { 100, 1001, "session" } } },
		},
	},
}
'''


def scenario_session(ctx):
    snippet = ctx.take('lua-snippet', 'session')
    ctx.write('readme/session.lua', SESSION_SERVICE % snippet.text.rstrip('\n'))
    ctx.write('readme/session_gate.lua', SESSION_CONFIG)
    p = Proc(ctx, 'session', 'exec build/wisp readme/session_gate.lua main')
    p.wait_for(['README SESSION READY', 'gate listening for clients'])
    client = Client(ctx, ctx.ports.get('7101'))
    replies = [client.ask(100, 'ann'), client.ask(1001, '')]
    client.close()
    if replies != ['100 ok', '1001 hello ann']:
        raise Fail('the session snippet answered %s' % replies)
    p.stop_clean()


SCENARIOS = [scenario_tools, scenario_testing, scenario_reference,
             scenario_api, scenario_tutorial,
             scenario_values,
             scenario_echo, scenario_gate, scenario_hot, scenario_db,
             scenario_memcached, scenario_leaderboard, scenario_counter, scenario_console,
             scenario_postgres,
             scenario_cluster, scenario_master, scenario_bots,
             scenario_session]


def main():
    if len(sys.argv) < 4:
        print('usage: test_readme.py SOURCE_ROOT BUILD_ROOT READMECLIENT [SCENARIO...]',
              file=sys.stderr)
        return 2
    source, build, client = (os.path.abspath(a) for a in sys.argv[1:4])
    only = sys.argv[4:]
    blocks, errors = parse_readme(os.path.join(source, 'README.md'))
    ctx = Context(source, build, client, blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    failed = list(errors)
    for e in errors:
        print('FAIL', e)
    started = time.time()
    try:
        for scenario in SCENARIOS:
            name = scenario.__name__[len('scenario_'):]
            if only and name not in only:
                continue
            t0 = time.time()
            ctx.procs = []
            try:
                scenario(ctx)
                sanitizer_reports(ctx)
                print('ok   %-10s %5.1f s' % (name, time.time() - t0))
            except (Fail, OSError, subprocess.SubprocessError, ValueError) as e:
                failed.append(name)
                print('FAIL %-10s %s' % (name, e))
                for p in ctx.procs:
                    print('---- %s: %s\n%s' % (p.name, p.cmd, p.output()[-4000:]))
            finally:
                for p in ctx.procs:
                    if p.rc is None and p.alive():
                        try:
                            p.stop(signal.SIGKILL)
                        except Fail:
                            pass
    finally:
        Proc.kill_all()
    for b in blocks:
        if b.kind and not b.used and not only:
            failed.append(b.where())
            print('FAIL %s: no scenario ran this block' % b.where())
    print('%d blocks, %.1f s, %s' % (len(blocks), time.time() - started,
                                      'FAILED: ' + ', '.join(failed) if failed else 'all ran'))
    if failed:
        print('the work directory is kept: %s' % ctx.work)
        return 1
    shutil.rmtree(ctx.work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())

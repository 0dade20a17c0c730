#!/usr/bin/env python3
# test_install.py: `meson install` into a temporary directory (DESTDIR),
# then what a user of the installed wisp does: every Lua service and
# library of services/ is there; a C module is built outside the tree
# with `pkg-config --cflags --libs wisp` and the installed headers; the
# installed wisp runs it beside a Lua service (finding the installed Lua
# libraries, the console and the db bindings, never the source tree's),
# and the installed wisp-ctl talks to that node's console. The systemd
# unit of tools/systemd is verified by systemd-analyze, when it is here.
#
# Usage: test_install.py BUILD_ROOT SOURCE_ROOT
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

WAIT_S = 30


def fail(why):
    print('FAIL', why)
    sys.exit(1)


def run(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    if r.returncode != 0:
        fail('%s: exit %d\n%s' % (' '.join(cmd), r.returncode, r.stdout))
    return r.stdout


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(('127.0.0.1', 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def installed(dest, pc_env, var):
    """A directory wisp.pc names, under DESTDIR (pkgconf puts the sysroot
    before it; pkg-config does not)."""
    path = run(['pkg-config', '--variable=' + var, 'wisp'], env=pc_env).strip()
    return path if path.startswith(dest) else dest + path


def check_lua_files(source, luadir):
    services = os.path.join(source, 'services')
    missing = []
    for path in glob.glob(services + '/**/*.lua', recursive=True) + \
            glob.glob(services + '/**/*.sql', recursive=True):
        rel = os.path.relpath(path, services)
        if not os.path.exists(os.path.join(luadir, rel)):
            missing.append(rel)
    if missing:
        fail('not installed: ' + ', '.join(sorted(missing)))


def build_module(work, source, pc_env):
    flags = run(['pkg-config', '--cflags', '--libs', 'wisp'], env=pc_env).split()
    if not any(f.endswith('/include/wisp') for f in flags):
        fail('pkg-config --cflags gives no include directory: %s' % flags)
    src = os.path.join(source, 'test', 'install', 'probe.c')
    run(['cc', '-std=c11', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC']
        + flags + ['-o', os.path.join(work, 'probe.so'), src])
    shutil.copy(os.path.join(source, 'test', 'install', 'caller.lua'), work)


def write_config(work, moduledir, luadir, ports):
    path = os.path.join(work, 'installed.lua')
    with open(path, 'w') as f:
        f.write('''return {
	secret = os.getenv("WISP_SECRET"),
	console_token = "installed token",
	module_path = "%s/?.so;%s/?.so",
	lua_path = "%s/?.lua;%s/?.lua;%s/lualib/?.lua",
	db = { file = "%s/installed.db" },
	nodes = { main = { id = 1, roles = { "root", "node", "db" },
		harbor = "127.0.0.1:%d", console = "127.0.0.1:%d",
		services = { "probe", "lua caller" } } },
}
''' % (work, moduledir, work, luadir, luadir, work, ports[0], ports[1]))
    return path


def wait_output(proc, out_path, text):
    deadline = time.time() + WAIT_S
    while time.time() < deadline:
        with open(out_path) as f:
            got = f.read()
        if text in got:
            return got
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    with open(out_path) as f:
        fail('no "%s" from the installed node:\n%s' % (text, f.read()))


def check_unit(source):
    """tools/systemd's unit, read by systemd itself when it is here: no
    complaint but the one about wisp not being installed on this host."""
    analyze = shutil.which('systemd-analyze')
    if analyze is None:
        return
    unit = os.path.join(source, 'tools', 'systemd', 'wisp-master.service')
    r = subprocess.run([analyze, 'verify', unit], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    lines = [l for l in r.stdout.splitlines() if l.strip()
             and 'Command /usr/local/bin/wisp is not executable' not in l]
    if lines:
        fail('systemd-analyze verify %s:\n%s' % (unit, r.stdout))


def main():
    build, source = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix='wisp-install-')
    dest = os.path.join(work, 'dest')
    try:
        run(['meson', 'install', '-C', build, '--destdir', dest,
             '--no-rebuild', '--quiet'])
        pcs = glob.glob(dest + '/**/pkgconfig/wisp.pc', recursive=True)
        if len(pcs) != 1:
            fail('no wisp.pc installed: %s' % pcs)
        pc_env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                      PKG_CONFIG_SYSROOT_DIR=dest)
        moduledir = installed(dest, pc_env, 'moduledir')
        luadir = installed(dest, pc_env, 'luadir')
        bindir = os.path.join(os.path.dirname(luadir), '..', 'bin')
        for tool in ('wisp', 'wisp-ctl', 'wisp-bots', 'wisp-load'):
            if not os.access(os.path.join(bindir, tool), os.X_OK):
                fail('%s not installed in %s' % (tool, bindir))
        if not os.path.exists(os.path.join(moduledir, 'wispdb.so')):
            fail('the db bindings are not installed in ' + moduledir)
        check_lua_files(source, luadir)
        check_unit(source)
        build_module(work, source, pc_env)
        ports = free_ports(2)
        config = write_config(work, moduledir, luadir, ports)
        out_path = os.path.join(work, 'node.out')
        with open(out_path, 'w') as out:
            node = subprocess.Popen([os.path.join(bindir, 'wisp'), config, 'main'],
                                    stdout=out, stderr=subprocess.STDOUT,
                                    cwd=work)
        try:
            got = wait_output(node, out_path, 'LUA PATH ')
            if 'PROBE 3 installed' not in got or luadir not in got:
                fail('the call to the module, or the path:\n' + got)
            if os.path.join(source, 'services') in got:
                fail('the installed wisp looks in the source tree:\n' + got)
            wait_output(node, out_path, 'console: operators on')
            ctl = run([os.path.join(bindir, 'wisp-ctl'), '--token',
                       'installed token', '127.0.0.1:%d' % ports[1],
                       'services', 'main'])
            if 'probe' not in ctl or 'console.service' not in ctl:
                fail('wisp-ctl services main:\n' + ctl)
        finally:
            node.send_signal(signal.SIGTERM)
            code = node.wait(timeout=WAIT_S)
        if code != 0:
            with open(out_path) as f:
                fail('the installed node exited %d:\n%s' % (code, f.read()))
        print('ok: installed under %s, module built with pkg-config, ran' % dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()

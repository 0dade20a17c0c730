#!/usr/bin/env python3
# test_owners.py: two db nodes owning different tables (owners_cluster.lua)
# under two game nodes' load (owners.lua), real processes on loopback.
# Passes when both game nodes' cases pass, each db node logged what it
# owns, and each sqlite file holds only its owner's rows: the rows of a
# table are on one db node, whoever was asked.
# Usage: test_owners.py WISP SOURCE_ROOT
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

NODES = ['root', 'db1', 'db2', 'game1', 'game2']
GAME_S = 120


def free_base(count):
    """The first of count free consecutive loopback ports."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            base = s.getsockname()[1]
        if base + count >= 65535:
            continue
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(('127.0.0.1', port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise SystemExit('no free ports')


def start(wisp, conf, node, env, logdir):
    out = open(os.path.join(logdir, node + '.out'), 'w')
    return subprocess.Popen([wisp, conf, node], env=env, stdout=out,
                            stderr=subprocess.STDOUT)


def log_of(logdir, node):
    with open(os.path.join(logdir, node + '.out')) as f:
        return f.read()


def count(path, table):
    with sqlite3.connect(path) as c:
        return c.execute('SELECT count(*) FROM ' + table).fetchone()[0]


def check(failures, cond, what):
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures.append(what)


def run(wisp, root, work):
    os.mkdir(os.path.join(work, 'migrations'))
    shutil.copy(os.path.join(root, 'test/db/migrations/001_init.sql'),
                os.path.join(work, 'migrations'))
    secret = subprocess.check_output([wisp, '--new-secret'], text=True).strip()
    env = dict(os.environ, WISP_SECRET=secret, WISP_DB_DIR=work,
               WISP_PORT_BASE=str(free_base(len(NODES))))
    conf = os.path.join(root, 'test/db/owners_cluster.lua')
    procs = {n: start(wisp, conf, n, env, work) for n in NODES}
    failures = []
    try:
        for game in ('game1', 'game2'):
            code = procs[game].wait(GAME_S)
            out = log_of(work, game)
            check(failures, code == 0 and 'lua tests: 4 passed, 0 failed' in out,
                  '%s: its cases passed (exit %s)' % (game, code))
    finally:
        for n in NODES:
            if procs[n].poll() is None:
                procs[n].terminate()
        for n in NODES:
            try:
                procs[n].wait(20)
            except subprocess.TimeoutExpired:
                procs[n].kill()
    for n in ('db1', 'db2', 'root'):
        check(failures, procs[n].returncode == 0, '%s stopped cleanly' % n)
    check(failures, 'owns every table no db.tables lists' in log_of(work, 'db1'),
          'db1 says it owns the tables no db.tables lists')
    check(failures, 'owns score, tag' in log_of(work, 'db2'),
          'db2 says it owns score and tag')
    db1, db2 = os.path.join(work, 'db1.db'), os.path.join(work, 'db2.db')
    players, scores = count(db1, 'player'), count(db2, 'score')
    check(failures, players == 2 * 20 * 25,
          'db1 holds every player row (%d)' % players)
    check(failures, scores == 2 * (20 * 25 + 1),
          'db2 holds every score row (%d)' % scores)
    check(failures, count(db1, 'score') == 0 and count(db2, 'player') == 0,
          'neither holds a row of a table it does not own')
    if failures:
        for n in NODES:
            print('==== %s' % n)
            print(log_of(work, n)[-6000:])
    return not failures


def main():
    if len(sys.argv) != 3:
        raise SystemExit('usage: test_owners.py WISP SOURCE_ROOT')
    work = tempfile.mkdtemp(prefix='wisp_owners_')
    try:
        ok = run(sys.argv[1], sys.argv[2], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()

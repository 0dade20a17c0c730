#!/usr/bin/env python3
"""test_chaos_bots.py: wisp-bots --chaos yes as the client side of a fault
drill. The master runs the demo cluster (conf/demo.lua) on free ports,
the database in a temporary directory; bots play with chaos on while
game1 is killed with -9 (the master starts it again) and the lobby is
stopped (SIGSTOP) for 2 s. Their BOTS-SUMMARY line must show every
command ended within its deadline, no acknowledged state lost, no chat
line heard twice or out of order, and logins again (game1's players);
then a --verify run must get every saved state back. The harness must
see violations too: a saved state altered is one lost, and commands
held up past --deadline (the net node stopped) are late; SIGTERM ends
that run with its summary. Every wait is bounded; the master and its
nodes are killed at the end whatever happened.

Usage: test_chaos_bots.py WISP WISP_BOTS SOURCE_ROOT"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "security"))
from nodes import free_base, wait_for  # noqa: E402

NODES = ("root", "net", "lobby", "db", "game1", "game2", "game3")
PORTS = 9             # harbors at base + 1..7, the gate at base + 8
BOTS, ROOMS = "200", "20"
PLAY_S = 30           # of chaos play, setup included
KILL_AT, STOP_AT = 6, 14  # s into the play: game1 killed, lobby stopped
STOP_S = 2
START_S = 90          # the cluster's start, or game1's, under ASan
BOTS_S = PLAY_S + 60  # a run of the bots, its drain included
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


class Cluster:
    """The master running conf/demo.lua, its output in DIR/master.out."""

    def __init__(self, wisp, root):
        self.dir = tempfile.mkdtemp(prefix="wisp_chaos_bots_")
        base = free_base(PORTS)
        self.gate = "127.0.0.1:%d" % (base + PORTS - 1)
        self.env = dict(os.environ, WISP_DEMO_PORT_BASE=str(base),
                        WISP_GATE_ADDR=self.gate,
                        WISP_DB_FILE=os.path.join(self.dir, "demo.db"))
        if "WISP_SECRET" not in self.env:
            self.env["WISP_SECRET"] = subprocess.run(
                [wisp, "--new-secret"], capture_output=True, text=True,
                check=True).stdout.strip()
        self.out_path = os.path.join(self.dir, "master.out")
        self.proc = subprocess.Popen(
            [wisp, "--run-dir", os.path.join(self.dir, "run"),
             os.path.join(root, "conf", "demo.lua")], env=self.env,
            stdout=open(self.out_path, "w"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def output(self):
        with open(self.out_path) as f:
            return f.read()

    def pids(self, node):
        """The pids the master said it started node with, in order."""
        return [int(p) for p in re.findall(
            r"node %s started \(pid (\d+)\)" % node, self.output())]

    def log(self, node):
        try:
            with open(os.path.join(self.dir, "run", node + ".log")) as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, node, sig):
        """sig to node's current process, checked to be that node."""
        pid = self.pids(node)[-1]
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
        if not check(node.encode() in args, "pid %d runs %s" % (pid, node)):
            return pid
        os.kill(pid, sig)
        return pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        try:  # the master, and any node it left behind
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()

    def dump(self):
        print("==== master:\n" + self.output()[-6000:])
        for node in NODES:
            print("==== %s.log:\n%s" % (node, self.log(node)[-4000:]))


def bots(exe, cluster, *args, timeout=BOTS_S):
    """Runs wisp-bots --chaos yes with args: its exit code and stdout."""
    p = subprocess.run([exe, "--chaos", "yes", "--bots", BOTS, "--rooms",
                        ROOMS] + list(args) + [cluster.gate],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def summary(out):
    """The BOTS-SUMMARY line's numbers, by key; {} if there is none."""
    lines = [l for l in out.splitlines() if l.startswith("BOTS-SUMMARY ")]
    if not lines:
        return {}
    return {k: int(v) for k, v in
            (kv.split("=") for kv in lines[-1].split()[1:])}


def wait_up(exe, cluster):
    """Every node started and a login goes through the gate."""
    started = wait_for(lambda: all(cluster.pids(n) for n in NODES), START_S)
    ready = started and wait_for(
        lambda: "demo: login ready" in cluster.log("lobby"), START_S)
    probe = [exe, "--bots", "1", "--prefix", "probe", "--duration", "0",
             "--timeout", "5", cluster.gate]
    end = time.time() + START_S
    while ready and subprocess.run(probe, capture_output=True).returncode:
        if time.time() > end:
            ready = False
        time.sleep(0.5)
    return check(ready, "the demo cluster is up and logins go through")


def faults(cluster, start):
    """game1 killed with -9 and back; the lobby stopped for STOP_S."""
    time.sleep(max(0, start + KILL_AT - time.time()))
    killed = cluster.signal("game1", signal.SIGKILL)
    check(wait_for(lambda: cluster.pids("game1")[-1] != killed, 30),
          "the master started game1 again")
    time.sleep(max(0, start + STOP_AT - time.time()))
    cluster.signal("lobby", signal.SIGSTOP)
    time.sleep(STOP_S)
    cluster.signal("lobby", signal.SIGCONT)


def play(exe, cluster, saved):
    bots_proc = subprocess.Popen(
        [exe, "--chaos", "yes", "--bots", BOTS, "--rooms", ROOMS,
         "--duration", str(PLAY_S), "--moves", "2", "--chats", "1",
         "--deadline", "10", "--save", saved, cluster.gate],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.time()
    try:
        faults(cluster, start)
        out, err = bots_proc.communicate(timeout=BOTS_S)
    except (subprocess.TimeoutExpired, OSError, IndexError) as e:
        bots_proc.kill()
        out, err = bots_proc.communicate()
        check(False, "the drill ran: %r" % e)
    print(out + err[-6000:])
    s = summary(out)
    check(bots_proc.returncode == 0, "wisp-bots exited 0")
    check(bool(s), "a BOTS-SUMMARY line")
    for key in ("late", "state_lost", "chats_dup", "chats_reordered"):
        check(s.get(key) == 0, "%s=0 (%s)" % (key, s.get(key)))
    for key in ("relogins", "commands", "chats_heard"):
        check(s.get(key, 0) > 0, "%s > 0 (%s)" % (key, s.get(key)))


def verify(exe, cluster, saved):
    with open(saved) as f:
        count = len(f.readlines())
    code, out, err = bots(exe, cluster, "--duration", "0", "--verify",
                          saved, "--timeout", "60")
    print(out + err[-3000:])
    check(code == 0, "the --verify run exited 0")
    check(count > 0 and "summary: %d of %d saved states given back"
          % (count, count) in out, "%d saved states given back" % count)


def altered(exe, cluster, saved):
    """bot0's saved x moved: its --verify login is a state lost."""
    with open(saved) as f:
        lines = f.read().splitlines()
    first = lines[0].split()
    first[1] = str(int(first[1]) + 1000)
    lines[0] = " ".join(first)
    wrong = saved + ".altered"
    with open(wrong, "w") as f:
        f.write("\n".join(lines) + "\n")
    code, out, _ = bots(exe, cluster, "--duration", "0", "--verify", wrong,
                        "--timeout", "60")
    s = summary(out)
    check(code == 1 and s.get("state_lost") == 1,
          "an altered saved state is lost (exit %d, state_lost=%s)"
          % (code, s.get("state_lost")))


def late(exe, cluster):
    """The net node stopped for longer than --deadline: its bots'
    commands are late. SIGTERM ends the run, with its summary."""
    p = subprocess.Popen([exe, "--chaos", "yes", "--bots", "20", "--prefix",
                          "late", "--duration", "120", "--deadline", "1",
                          cluster.gate], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    time.sleep(3)
    cluster.signal("net", signal.SIGSTOP)
    time.sleep(3)
    cluster.signal("net", signal.SIGCONT)
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    s = summary(out)
    check(p.returncode == 1 and s.get("late", 0) > 0,
          "commands past --deadline are late (exit %s, late=%s)"
          % (p.returncode, s.get("late")))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: test_chaos_bots.py WISP WISP_BOTS SOURCE_ROOT")
    wisp, exe, root = sys.argv[1:]
    cluster = Cluster(wisp, root)
    saved = os.path.join(cluster.dir, "saved.txt")
    try:
        if wait_up(exe, cluster):
            play(exe, cluster, saved)
        if not failures:
            verify(exe, cluster, saved)
        if not failures:
            altered(exe, cluster, saved)
            late(exe, cluster)
    finally:
        if failures:
            cluster.dump()
        cluster.stop()
        shutil.rmtree(cluster.dir, ignore_errors=True)
    print("%d checks failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

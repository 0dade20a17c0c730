"""faults.py: what tools/chaos injects and when. schedule() draws every
fault of a run from random.Random(seed), so that a seed always gives the
same faults at the same offsets; Injector applies and undoes them on the
cluster, the proxies, memcached and the db's disk, and remembers what it
did for the invariants (who was killed, who was stopped when)."""

import errno
import os
import signal
import socket
import subprocess
import time

KINDS = ("kill", "stop", "link", "memcached", "disk")
LINK_MODES = ("delay", "cut", "stall", "refuse")
KILL_HOLD_S = 8   # a killed node's slot: restart (1 s backoff) and rejoin
DISK_MB = 16      # the db's tmpfs


class Fault:
    def __init__(self, kind, at, node=None, mode=None, length=0.0, value=0.0):
        self.kind, self.at, self.node, self.mode = kind, at, node, mode
        self.length, self.value = length, value

    def describe(self):
        what = {
            "kill": "kill -9 %(node)s",
            "stop": "SIGSTOP %(node)s for %(length).1f s",
            "memcached": "memcached killed for %(length).1f s",
            "disk": "the db's disk full for %(length).1f s",
        }.get(self.kind)
        if self.kind == "link":
            what = {
                "delay": "link %(node)s: delay %(ms)d ms for %(length).1f s",
                "cut": "link %(node)s: cut every connection",
                "stall": "link %(node)s: stall for %(length).1f s",
                "refuse": "link %(node)s: refuse connections for "
                          "%(length).1f s",
            }[self.mode]
        return what % dict(vars(self), ms=round(self.value * 1000))

    def lossless(self):
        """Whether the fault may lose no chat line: only a delay shorter
        than the harbor's timeout, or a fault the chat path does not use."""
        return self.kind in ("memcached", "disk") or self.mode == "delay"


def _draw(rng, kind, nodes, linked):
    """One fault of kind, its start left to the caller; the same number of
    draws for each kind, whatever the run. Returns (fault, its span: how
    long what it hurts stays busy)."""
    node = rng.choice(nodes)
    link_node = rng.choice(linked)
    mode = rng.choice(LINK_MODES)
    u = rng.random()
    value = rng.uniform(0.010, 0.200)
    if kind == "kill":
        return Fault(kind, 0, node), KILL_HOLD_S
    if kind == "stop":
        return Fault(kind, 0, node, length=1 + 4 * u), 3 + 4 * u
    if kind == "link":
        length = {"delay": 2 + 6 * u, "cut": 0, "stall": 1 + 5 * u,
                  "refuse": 1 + 4 * u}[mode]
        return Fault(kind, 0, link_node, mode, length, value), length + 1
    if kind == "memcached":
        return Fault(kind, 0, length=2 + 4 * u), 5 + 4 * u
    return Fault(kind, 0, length=2 + 3 * u), 4 + 3 * u


def _resource(f, overlap):
    if f.kind in ("kill", "stop"):
        return "node:" + f.node if overlap else "node"
    if f.kind == "link":
        return "link:" + f.node
    return f.kind


def schedule(seed_rng, kinds, nodes, linked, start, end, interval, overlap):
    """Faults from start to end (seconds after the bots start), about one
    per interval; one that would hurt what another still hurts waits for
    it (with overlap, only the same node waits)."""
    faults, busy, t = [], {}, start
    while t < end:
        kind = seed_rng.choice(kinds)
        f, span = _draw(seed_rng, kind, nodes, linked)
        res = _resource(f, overlap)
        f.at = max(t, busy.get(res, 0))
        if f.at + f.length > end:
            break
        busy[res] = f.at + span
        faults.append(f)
        t += interval * seed_rng.uniform(0.5, 1.5)
    return faults


def timeline(faults):
    """(offset, 'apply' or 'undo', fault) in the order to run them."""
    events = []
    for i, f in enumerate(faults):
        events.append((f.at, i, 0, "apply", f))
        if f.length > 0 or f.kind == "stop":
            events.append((f.at + f.length, i, 1, "undo", f))
    events.sort(key=lambda e: e[:3])
    return [(at, action, f) for at, _, _, action, f in events]


class Memcached:
    def __init__(self, port, log):
        self.port, self.log, self.proc = port, log, None

    def start(self):
        args = ["memcached", "-l", "127.0.0.1", "-p", str(self.port),
                "-U", "0", "-m", "64"]
        if os.geteuid() == 0:  # it refuses to run as root unless told
            args += ["-u", "root"]
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("chaos: memcached did not start on port %d"
                         % self.port)

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Disk:
    """The db's directory on a small tmpfs, filled and freed."""

    def __init__(self, path):
        self.path, self.mounted = path, False
        self.filler = os.path.join(path, "filler")

    def mount(self):
        """None, or why the disk fault cannot run here."""
        if os.geteuid() != 0:
            return "not root, so no tmpfs can be mounted for the db"
        os.makedirs(self.path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=%dm" % DISK_MB, "tmpfs", self.path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "mount -t tmpfs failed: " + r.stderr.strip()
        self.mounted = True
        return None

    def fill(self):
        block = b"\0" * (1 << 20)
        with open(self.filler, "wb", buffering=0) as f:
            while True:
                try:
                    f.write(block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    if len(block) == 1:
                        return
                    block = block[:len(block) // 2]  # fill to the last byte

    def free(self):
        try:
            os.unlink(self.filler)
        except FileNotFoundError:
            pass

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True)
            self.mounted = False


class Injector:
    """Applies and undoes faults; keeps what the invariants need."""

    def __init__(self, cluster, proxies, memcached, disk):
        self.cluster, self.proxies = cluster, proxies
        self.memcached, self.disk = memcached, disk
        self.kills = {}    # node: kills that hit a live pid
        self.stopped = {}  # node: [(from, to)] monotonic times
        self.held = {}     # stop faults: the pid to continue
        self.ran = []      # faults applied

    def apply(self, f):
        self.ran.append(f)
        if f.kind == "kill":
            if self.cluster.signal(f.node, signal.SIGKILL):
                self.kills[f.node] = self.kills.get(f.node, 0) + 1
        elif f.kind == "stop":
            self.held[id(f)] = self.cluster.signal(f.node, signal.SIGSTOP)
            self.stopped.setdefault(f.node, []).append(
                [time.monotonic(), float("inf")])
        elif f.kind == "link":
            self._link(f, True)
        elif f.kind == "memcached":
            self.memcached.kill()
        elif f.kind == "disk":
            self.disk.fill()

    def undo(self, f):
        if f.kind == "stop":
            pid = self.held.pop(id(f), None)
            if pid:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            self.stopped[f.node][-1][1] = time.monotonic()
        elif f.kind == "link":
            self._link(f, False)
        elif f.kind == "memcached":
            self.memcached.start()
        elif f.kind == "disk":
            self.disk.free()

    def _link(self, f, on):
        p = self.proxies
        if f.mode == "delay":
            p.delay(f.node, f.value if on else 0)
        elif f.mode == "cut":
            p.cut(f.node)
        elif f.mode == "stall":
            p.stall(f.node, on)
        else:
            p.refuse(f.node, on)

    def undo_all(self):
        """At the end or on an interrupt: continue every stopped node."""
        for pid in self.held.values():
            if pid:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        self.held.clear()

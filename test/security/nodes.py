"""nodes.py: what the security tests' drivers share: a run of free ports,
nodes started as real processes with their output in a log file each,
waiting for a condition, and checks that print as they go."""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time


class Run:
    """One test's nodes: config, ports from a free run of count, logs in a
    fresh directory, and the checks that failed."""

    def __init__(self, wisp, config, count, prefix):
        self.wisp, self.config = wisp, config
        self.base = free_base(count)
        self.logs = tempfile.mkdtemp(prefix=prefix)
        self.failures = []
        self.procs = {}

    def check(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            self.failures.append(what)

    def start(self, node, env_extra):
        env = dict(os.environ, WISP_PORT_BASE=str(self.base), **env_extra)
        log = open(os.path.join(self.logs, node + ".log"), "w")
        p = subprocess.Popen([self.wisp, self.config, node], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs[node] = p
        return p

    def log_of(self, node):
        with open(os.path.join(self.logs, node + ".log")) as f:
            return f.read()

    def stop(self, node):
        p = self.procs.pop(node)
        p.terminate()
        p.wait(10)

    def finish(self):
        """Stops every node, prints the logs if a check failed, exits."""
        for node in list(self.procs):
            self.stop(node)
        if self.failures:
            print("logs in " + self.logs)
            for name in sorted(os.listdir(self.logs)):
                with open(os.path.join(self.logs, name)) as f:
                    print("--- " + name + "\n" + f.read()[-5000:])
        print("%d checks failed" % len(self.failures))
        sys.exit(1 if self.failures else 0)


def free_base(count):
    """The first of count consecutive free ports on loopback."""
    for _ in range(200):
        base = 20000 + secrets.randbelow(40000)
        socks = []
        try:
            for i in range(count):
                s = socket.socket()
                s.bind(("127.0.0.1", base + i))
                socks.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise SystemExit("no free ports")


def wait_for(pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()

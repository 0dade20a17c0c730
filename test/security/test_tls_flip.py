"""test_tls_flip.py: someone on the path alters a harbor link over TLS.
A TCP proxy between game1 and the root (test/security/flip_cluster.lua)
flips one bit of what game1 sends, once, well after TLS is up. The root
must close that link naming the bad record, deliver nothing altered (the
sink checks every message: flip_sink.lua), and game1 must link again
through the proxy, so messages flow once more.
Usage: test_tls_flip.py WISP SOURCE_ROOT"""

import os
import secrets
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodes import Run, wait_for  # noqa: E402

WISP, ROOT = sys.argv[1], sys.argv[2]
FLIP_AFTER = 300000  # bytes from game1 before the flip: TLS is long up
run = Run(WISP, os.path.join(ROOT, "test/security/flip_cluster.lua"), 3,
          "wisp-flip-")
check = run.check


class Proxy:
    """Listens on port, forwards each connection to target; flips one bit
    of the client's bytes at offset FLIP_AFTER of the first connection
    that gets that far."""

    def __init__(self, port, target):
        self.target = target
        self.flipped = threading.Event()
        self.connections = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            client, _ = self.listener.accept()
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:  # the root is not up yet: game1 dials again
                client.close()
                continue
            self.connections += 1
            threading.Thread(target=self.pump, args=(client, server, True),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, False),
                             daemon=True).start()

    def pump(self, src, dst, upstream):
        seen = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if (upstream and not self.flipped.is_set()
                        and seen <= FLIP_AFTER < seen + len(data)):
                    at = FLIP_AFTER - seen
                    data = data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:]
                    self.flipped.set()
                seen += len(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def log_of(node):
    return run.log_of(node)


def last_at():
    ats = [int(line.rsplit(" ", 1)[1]) for line in log_of("root").splitlines()
           if "SINK AT " in line]
    return max(ats) if ats else 0


def main():
    secret = os.environ.get("WISP_SECRET") or secrets.token_urlsafe(32)
    proxy = Proxy(run.base + 2, run.base)
    root = run.start("root", {"WISP_SECRET": secret})
    game1 = run.start("game1", {"WISP_SECRET": secret,
                                "WISP_ROOT_DIAL": str(run.base + 2)})
    check(wait_for(proxy.flipped.is_set, 60), "the proxy flipped a bit "
          "of game1's bytes to the root")
    at_flip = last_at()
    check(wait_for(lambda: "bad record mac" in log_of("root")
                   or "decryption failed" in log_of("root"), 20),
          "the root closed the link naming the bad record")
    check(wait_for(lambda: last_at() >= at_flip + 500, 60),
          "messages flow again after the link is made anew (%d -> %d)"
          % (at_flip, last_at()))
    check(proxy.connections >= 2, "game1 dialed the root again (%d "
          "connections)" % proxy.connections)
    check("SINK BAD" not in log_of("root"), "nothing altered was delivered")
    check("TLS 1.3" in log_of("root") and "TLS 1.3" in log_of("game1"),
          "both nodes said at start that their links use TLS")
    check(root.poll() is None and game1.poll() is None,
          "both nodes still run")
    run.finish()


main()

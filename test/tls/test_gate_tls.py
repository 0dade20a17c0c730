"""test_gate_tls.py: TLS clients of the gate (gate.tls) against a real
node (tls_node.lua): frames over TLS on gate.listen (replies, pushes,
broadcasts, a megabyte sent at once) and over wss on gate.ws_listen,
each seeing its tls:// or wss:// address; garbage for a ClientHello, a
plaintext wisp frame and a ClientHello over 16 KB close only their
connection, with one log line each; half a ClientHello and silence is
closed at gate.first_frame_timeout; SIGHUP with a new certificate keeps
the connected clients and shows new ones the new certificate, and SIGHUP
over a broken file keeps the old one and logs an error naming the file;
a certificate that cannot be read at start is an error naming it.
Usage: test_gate_tls.py WISP make_certs.sh"""

import os
import shutil
import signal
import socket
import ssl
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ws"))
sys.path.insert(0, os.path.join(HERE, "..", "security"))
from nodes import free_base  # noqa: E402
from test_ws import parse, recv_exact, wisp_frame, ws_frame  # noqa: E402

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


class Certs:
    """Two certificates for localhost under two CAs, and the files the
    node reads, which start as the first's."""

    def __init__(self, make_certs):
        self.dir = tempfile.mkdtemp(prefix="wisp-gate-tls-")
        for name in ("a", "b"):
            subprocess.run(["sh", make_certs, os.path.join(self.dir, name),
                            "localhost"], check=True)
        self.cert = os.path.join(self.dir, "live.pem")
        self.key = os.path.join(self.dir, "live.key")
        self.use("a")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        for name in ("a", "b"):
            self.ctx.load_verify_locations(self.path(name, "ca.pem"))

    def path(self, name, file):
        return os.path.join(self.dir, name, file)

    def use(self, name):
        shutil.copy(self.path(name, "localhost.pem"), self.cert)
        shutil.copy(self.path(name, "localhost.key"), self.key)

    def der(self, name):
        with open(self.path(name, "localhost.pem")) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())


class Client:
    """A wisp client over TLS, the certificate verified as a browser
    would (for localhost)."""

    def __init__(self, certs, port):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = certs.ctx.wrap_socket(raw, server_hostname="localhost")

    def der(self):
        return self.s.getpeercert(binary_form=True)

    def request(self, command, body):
        self.s.sendall(wisp_frame(command, body))
        return self.frame()

    def frame(self):
        head = recv_exact(self.s, 17)
        return parse(head + recv_exact(self.s, int.from_bytes(head[9:13],
                                                              "big") - 4))


class WSS(Client):
    """A WebSocket client over TLS: the upgrade, masked frames out."""

    def __init__(self, certs, port):
        super().__init__(certs, port)
        self.s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: "
                       b"websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       b"Sec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += recv_exact(self.s, 1)
        self.ok = head.startswith(b"HTTP/1.1 101")

    def request(self, command, body):
        self.s.sendall(ws_frame(2, wisp_frame(command, body)))
        return self.frame()

    def frame(self):
        b0, b1 = recv_exact(self.s, 2)
        n = b1 & 0x7f
        if n == 126:
            n = int.from_bytes(recv_exact(self.s, 2), "big")
        return parse(recv_exact(self.s, n))


class Node:
    def __init__(self, wisp, certs, cert=None):
        self.base = free_base(2)
        self.logs = tempfile.mkdtemp(prefix="wisp-gate-tls-")
        self.path = os.path.join(self.logs, "main.log")
        env = dict(os.environ, WISP_PORT_BASE=str(self.base),
                   WISP_GATE_CERT=cert or certs.cert, WISP_GATE_KEY=certs.key)
        self.p = subprocess.Popen(
            [wisp, os.path.join(HERE, "tls_node.lua"), "main"], env=env,
            stdout=open(self.path, "w"), stderr=subprocess.STDOUT)

    def started(self):
        end = time.time() + 30
        while "WebSocket clients on" not in self.log():
            if time.time() > end or self.p.poll() is not None:
                raise SystemExit("the node did not start:\n" + self.log())
            time.sleep(0.05)
        return self

    def log(self):
        with open(self.path) as f:
            return f.read()

    def count(self, text):
        return self.log().count(text)

    def wait_count(self, text, want, seconds=15):
        end = time.time() + seconds
        while self.count(text) < want and time.time() < end:
            time.sleep(0.05)
        return self.count(text)

    def stop(self):
        self.p.terminate()
        code = self.p.wait(15)
        check(code == 0, "the node stopped cleanly (exit %s)" % code)
        log = self.log()
        check("Sanitizer" not in log and "runtime error" not in log,
              "no sanitizer report")


def good_clients(node, certs):
    c = Client(certs, node.base)
    check(c.request(1, b"hello") == (1, b"hello"), "echo over TLS")
    check(c.request(2, b"p") == (3, b"p"), "a push over TLS before its reply")
    check(c.frame() == (2, b"pushed"), "then the reply")
    addr = c.request(6, b"")[1].decode()
    check(addr.startswith("tls://127.0.0.1:"), "services see tls://: " + addr)
    check(c.request(1, b"y" * 1000) == (1, b"y" * 1000), "a frame of 1017 "
          "bytes")
    w = WSS(certs, node.base + 1)
    check(w.ok, "wss: the upgrade is answered 101")
    check(w.request(1, b"over wss") == (1, b"over wss"), "echo over wss")
    addr = w.request(6, b"")[1].decode()
    check(addr.startswith("wss://127.0.0.1:"), "services see wss://: " + addr)
    check(c.request(4, b"all") == (5, b"all"), "a broadcast over TLS")
    check(c.frame() == (4, b"broadcast"), "before its reply")
    check(w.frame() == (5, b"all"), "and over wss")
    return [c, w]


def exchange(s, data, count):
    """Sends data while reading count frames, in one thread (an SSL
    socket must not be read and written from two at once): what was
    read, as (command, body) pairs, or what came before an EOF."""
    s.setblocking(False)
    sent, buf, got = 0, b"", []
    deadline = time.time() + 60
    while len(got) < count and time.time() < deadline:
        want_write = [s] if sent < len(data) else []
        readable, writable, _ = select.select([s], want_write, [], 1)
        if writable:
            try:
                sent += s.send(data[sent:sent + 65536])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        while readable or s.pending():
            readable = []
            try:
                chunk = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            if not chunk:
                return got
            buf += chunk
        while len(buf) >= 17 and len(buf) >= 13 + int.from_bytes(buf[9:13],
                                                                 "big"):
            end = 13 + int.from_bytes(buf[9:13], "big")
            got.append(parse(buf[:end]))
            buf = buf[end:]
    return got


def bulk(node, certs):
    """A megabyte of frames sent at once, answered in order while they
    come: held back at gate.max_inflight, the client is read on as its
    plaintext is used (the ciphertext given back for it), never stalled.
    """
    c = Client(certs, node.base)
    frames = [wisp_frame(1, bytes([i % 256]) * 1000) for i in range(1000)]
    got = exchange(c.s, b"".join(frames), len(frames))
    check(got == [(1, f[17:]) for f in frames], "1,000 frames of 1 KB "
          "sent at once over TLS: all answered, in order (%d)" % len(got))


def others_work(others):
    return all(o.request(1, b"still") == (1, b"still") for o in others)


def closed(s):
    """Whether the gate closes s with no answer in the clear: EOF (or a
    reset) and at most a TLS alert before it."""
    data = b""
    try:
        while True:
            got = s.recv(4096)
            if not got:
                break
            data += got
    except ConnectionResetError:
        pass
    return len(data) < 64 and b"WISP" not in data


def bad_input(node, others):
    cases = [
        ("garbage for a ClientHello",
         b"\x16\x03\x01\x00\x05hello" + b"\0" * 64),
        ("an HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("a plaintext wisp frame", wisp_frame(1, b"in the clear")),
        ("a ClientHello of 100,000 bytes",
         b"\x16\x03\x01\x40\x00\x01\x01\x86\xa0" + b"\0" * 16380 +
         b"\x16\x03\x01\x40\x00" + b"\0" * 16384),
    ]
    reason = "tls client 127.0.0.1:"
    for name, data in cases:
        time.sleep(1.1)  # the log line is rate-limited to one a second
        before = node.count(reason)
        s = socket.create_connection(("127.0.0.1", node.base), timeout=15)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before all of it was sent
        check(closed(s), "%s: closed" % name)
        check(node.wait_count(reason, before + 1) == before + 1,
              "%s: one log line" % name)
        check(others_work(others), "%s: other clients unaffected" % name)


def client_hello():
    """The first flight of a real client, as bytes."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    into, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(into, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def truncated(node, others):
    reason = "no whole TLS handshake within gate.first_frame_timeout"
    hello = client_hello()
    s = socket.create_connection(("127.0.0.1", node.base), timeout=15)
    s.sendall(hello[:len(hello) // 2])
    start = time.time()
    check(closed(s), "half a ClientHello: closed after %.1f s"
          % (time.time() - start))
    check(time.time() - start >= 1.0, "not before first_frame_timeout")
    check(node.wait_count(reason, 1) == 1, "half a ClientHello: one log line")
    check(others_work(others), "half a ClientHello: others unaffected")


def reload(node, certs, others):
    certs.use("b")
    node.p.send_signal(signal.SIGHUP)
    check(node.wait_count("gate.tls reloaded", 1) == 1, "SIGHUP: reloaded")
    check(others_work(others), "SIGHUP: the connected clients keep working")
    check(others[0].der() == certs.der("a"), "and keep the old certificate")
    fresh = Client(certs, node.base)
    check(fresh.der() == certs.der("b"), "a new client sees the new one")
    check(fresh.request(1, b"new") == (1, b"new"), "and is served")
    with open(certs.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n")
    node.p.send_signal(signal.SIGHUP)
    line = "gate.tls not reloaded, the old certificate stays"
    check(node.wait_count(line, 1) == 1, "SIGHUP over a broken file: an "
          "error logged")
    check(certs.cert in node.log().split(line, 1)[1].split("\n")[0],
          "naming the file")
    again = Client(certs, node.base)
    check(again.der() == certs.der("b"), "and the last good one stays")
    check(others_work(others + [fresh, again]), "all clients still served")


def bad_start(wisp, certs):
    missing = os.path.join(certs.dir, "missing.pem")
    node = Node(wisp, certs, cert=missing)
    try:
        code = node.p.wait(30)
    except subprocess.TimeoutExpired:
        node.p.kill()
        code = None
    log = node.log()
    check(code not in (0, None), "a missing certificate at start: the node "
          "does not run (exit %s)" % code)
    check("gate.tls.cert: cannot use '%s'" % missing in log,
          "the error names the file and what OpenSSL said")
    if failures:
        print(log[-3000:])


def main():
    certs = Certs(sys.argv[2])
    node = Node(sys.argv[1], certs).started()
    try:
        others = good_clients(node, certs)
        bulk(node, certs)
        bad_input(node, others)
        truncated(node, others)
        reload(node, certs, others)
    finally:
        node.stop()
    if failures:
        print(node.log()[-6000:])
    bad_start(sys.argv[1], certs)
    print("%d checks failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

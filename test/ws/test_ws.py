"""test_ws.py: WebSocket clients of the gate against a real node
(ws_node.lua): a good client gets replies, pushes and broadcasts as a TCP
client does (fragmented and trickled messages too), is pinged when
silent and kept by its pong; each bad upgrade or frame, and a client
past gate.partial_budget, closes only its own connection, with the right
HTTP status or close code and one log line naming why; a client's close
is answered, and a stopping node says 1001. Usage: test_ws.py WISP"""

import base64
import hashlib
import os
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "security"))
from nodes import free_base  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def wisp_frame(command, body):
    return b"WISP" + bytes([1]) + struct.pack(">III", 1, len(body) + 4,
                                              command) + body


def ws_frame(opcode, payload, fin=True, mask=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = secrets.token_bytes(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        got = s.recv(n - len(data))
        if not got:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += got
    return data


class WS:
    """A minimal client: the handshake, masked frames out, frames in."""

    def __init__(self, port, origin="http://good.example"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        req = ("GET /game HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket"
               "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n" % key)
        if origin:
            req += "Origin: %s\r\n" % origin
        self.s.sendall((req + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += recv_exact(self.s, 1)
        self.head = head.decode()
        want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        self.ok = self.head.startswith("HTTP/1.1 101") and \
            ("Sec-WebSocket-Accept: " + want.decode()) in self.head

    def send(self, opcode, payload, fin=True, mask=True):
        self.s.sendall(ws_frame(opcode, payload, fin, mask))

    def frame(self):
        b0, b1 = recv_exact(self.s, 2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack(">H", recv_exact(self.s, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", recv_exact(self.s, 8))[0]
        if b1 & 0x80:
            raise AssertionError("a masked frame from the server")
        return b0 & 0x0f, recv_exact(self.s, n)

    def message(self):
        """The next binary message, answering pings on the way."""
        while True:
            op, payload = self.frame()
            if op == 9:
                self.send(10, payload)
            elif op == 2:
                return payload

    def request(self, command, body):
        self.send(2, wisp_frame(command, body))
        return parse(self.message())

    def close_code(self):
        """The code of the close frame that must come next, then EOF."""
        op, payload = self.frame()
        if op != 8:
            return "opcode %d" % op
        code = struct.unpack(">H", payload[:2])[0] if payload else None
        return code if self.s.recv(1) == b"" else "no EOF"


def parse(msg):
    length, command = struct.unpack(">II", msg[9:17])
    assert len(msg) == 13 + length, "not one frame"
    return command, msg[17:]


class TCP:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)

    def request(self, command, body):
        self.s.sendall(wisp_frame(command, body))
        return self.frame()

    def frame(self):
        head = recv_exact(self.s, 17)
        length, command = struct.unpack(">II", head[9:17])
        return command, recv_exact(self.s, length - 4)


class Node:
    def __init__(self, wisp):
        self.base = free_base(2)
        self.logs = tempfile.mkdtemp(prefix="wisp-ws-")
        self.path = os.path.join(self.logs, "main.log")
        env = dict(os.environ, WISP_PORT_BASE=str(self.base))
        self.p = subprocess.Popen(
            [wisp, os.path.join(HERE, "ws_node.lua"), "main"], env=env,
            stdout=open(self.path, "w"), stderr=subprocess.STDOUT)
        end = time.time() + 30
        while "WebSocket clients on" not in self.log():
            if time.time() > end or self.p.poll() is not None:
                raise SystemExit("the node did not start:\n" + self.log())
            time.sleep(0.05)

    def log(self):
        with open(self.path) as f:
            return f.read()

    def count(self, text):
        return self.log().count(text)

    def stop(self):
        self.p.terminate()
        code = self.p.wait(15)
        check(code == 0, "the node stopped cleanly (exit %s)" % code)
        log = self.log()
        check("Sanitizer" not in log and "runtime error" not in log,
              "no sanitizer report")


def http_status(port, request, delay=None):
    """Sends request, optionally in two parts; the status line answered
    and whether the gate closed after it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        s.sendall(request)
        data = b""
        while True:
            got = s.recv(4096)
            if not got:
                break
            data += got
        return data.split(b"\r\n", 1)[0].decode(errors="replace"), data
    finally:
        s.close()


def wait_count(node, text, want, seconds=10):
    end = time.time() + seconds
    while node.count(text) < want and time.time() < end:
        time.sleep(0.05)
    return node.count(text)


def upgrade(extra=b"", version=b"13", key=True, host=True):
    r = b"GET / HTTP/1.1\r\n"
    if host:
        r += b"Host: x\r\n"
    r += b"Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
    if key:
        r += b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    if version:
        r += b"Sec-WebSocket-Version: " + version + b"\r\n"
    return r + extra + b"\r\n"


def others_work(others):
    """The clients that did nothing wrong are still served (and, asked
    something now and then, never idle)."""
    for c in others:
        got = c.request(1, b"still")
        if got != (1, b"still"):
            print("     got", got)
            return False
    return True


def bad_upgrades(node, port, others):
    """Each answered with its status, closed, and logged once (the log
    is rate-limited to a line a second, hence the pauses)."""
    cases = [
        ("malformed request line", b"HELLO there\r\n\r\n", "400",
         "the request line is not"),
        ("oversized headers", b"GET / HTTP/1.1\r\nX: " + b"a" * 9000, "431",
         "headers are over 8192 bytes"),
        ("missing Sec-WebSocket-Key", upgrade(key=False), "400",
         "no Sec-WebSocket-Key header"),
        ("missing Host", upgrade(host=False), "400", "no Host header"),
        ("wrong version", upgrade(version=b"8"), "426",
         "Sec-WebSocket-Version is not 13"),
        ("origin not allowed", upgrade(b"Origin: http://evil.example\r\n"),
         "403", "Origin is not in gate.ws_origins"),
    ]
    for name, request, status, reason in cases:
        time.sleep(1.1)
        before = node.count(reason)
        line, data = http_status(port, request)
        check(status in line, "%s: answered %s (%s)" % (name, status, line))
        if status == "426":
            check(b"Sec-WebSocket-Version: 13" in data,
                  "426 names the version the gate speaks")
        check(wait_count(node, reason, before + 1) == before + 1,
              "%s: one log line (%s)" % (name, reason))
        check(others_work(others), "%s: other clients unaffected" % name)


def slow_upgrade(node, port, others):
    reason = "no whole websocket upgrade within gate.first_frame_timeout"
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    start = time.time()
    got = s.recv(100)
    check(got == b"", "slow headers: closed with no answer after %.1f s"
          % (time.time() - start))
    check(wait_count(node, reason, 1) == 1, "slow headers: one log line")
    check(others_work(others), "slow headers: other clients unaffected")
    s.close()


def bad_frames(node, port, others):
    one = wisp_frame(1, b"x")
    cases = [
        ("unmasked client frame", lambda w: w.send(2, one, mask=False), 1002,
         "a protocol error: an unmasked client frame"),
        ("text message", lambda w: w.send(1, b"hello"), 1003,
         "a text message"),
        ("oversized message", lambda w: w.send(2, wisp_frame(1, b"z" * 2000)),
         1009, "a message over gate.max_body"),
        ("two wisp frames in one message", lambda w: w.send(2, one + one),
         1008, "not exactly one wisp frame"),
        ("half a wisp frame", lambda w: w.send(2, one[:10]), 1008,
         "not exactly one wisp frame"),
        ("control frame over 125 bytes", lambda w: w.send(9, b"p" * 126),
         1002, "a protocol error: a control frame over 125 bytes"),
        ("fragmented control frame", lambda w: w.send(9, b"p", fin=False),
         1002, "a protocol error: a fragmented control frame"),
        ("unknown opcode", lambda w: w.send(3, b"?"), 1002,
         "a protocol error: an unknown opcode"),
        ("continuation with no message", lambda w: w.send(0, one), 1002,
         "a protocol error"),
    ]
    for name, act, code, reason in cases:
        time.sleep(1.1)
        before = node.count(reason)
        w = WS(port)
        act(w)
        got = w.close_code()
        check(got == code, "%s: close %s (got %s)" % (name, code, got))
        check(wait_count(node, reason, before + 1) == before + 1,
              "%s: one log line (%s)" % (name, reason))
        check(others_work(others), "%s: other clients unaffected" % name)


def good_client(node, port, tcp):
    w = WS(port)
    check(w.ok, "upgrade answered 101 with the right Sec-WebSocket-Accept")
    check(w.request(1, b"hello") == (1, b"hello"), "echo over WebSocket")
    check(w.request(2, b"p") == (3, b"p"), "a push comes before its reply")
    check(parse(w.message()) == (2, b"pushed"), "then the reply")
    addr = w.request(6, b"")[1].decode()
    check(addr.startswith("ws://127.0.0.1:"), "services see ws://: " + addr)
    check(tcp.request(6, b"")[1].startswith(b"127.0.0.1:"),
          "and a TCP client's plain address")
    # a message in three fragments is put together
    f = wisp_frame(1, b"in pieces")
    w.send(2, f[:5], fin=False)
    w.send(0, f[5:12], fin=False)
    w.send(0, f[12:])
    check(parse(w.message()) == (1, b"in pieces"), "a fragmented message")
    long = wisp_frame(1, b"y" * 300)  # 16-bit lengths, both ways
    w.send(2, long)
    check(w.message() == long, "a frame of 317 bytes")
    w.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for byte in ws_frame(2, wisp_frame(1, b"trickled")):
        w.s.send(bytes([byte]))
        time.sleep(0.002)
    check(parse(w.message()) == (1, b"trickled"),
          "a frame sent a byte at a time")
    w.send(9, b"are you there")
    op, payload = w.frame()
    check((op, payload) == (10, b"are you there"), "a ping is answered")
    check(tcp.request(4, b"all") == (5, b"all"), "a broadcast to TCP")
    check(tcp.frame() == (4, b"broadcast"), "before its reply")
    check(parse(w.message()) == (5, b"all"), "and to WebSocket")
    check(WS(port, origin=None).ok, "no Origin is let in (not a browser)")
    check(not WS(port, origin="http://evil.example").ok,
          "an Origin not listed is not")
    return w


def budget(node, port, others):
    """Unfinished messages count against gate.partial_budget: the client
    that grows past it is closed, and the others finish theirs."""
    reason = "gate.partial_budget"
    before = node.count(reason)
    f = wisp_frame(1, b"h" * 1000)
    hogs = [WS(port) for _ in range(5)]
    for h in hogs:
        h.send(2, f[:1000], fin=False)
        time.sleep(0.3)
    check(hogs[4].close_code() == 1008, "past the partial budget: 1008")
    check(wait_count(node, reason, before + 1) == before + 1,
          "past the partial budget: one log line")
    for h in hogs[:4]:
        h.send(0, f[1000:])
    check(all(h.message() == f for h in hogs[:4]),
          "the clients within the budget finish their messages")
    check(others_work(others), "the budget: other clients unaffected")


def keepalive(w, tcp):
    """Silent past half gate.idle_timeout: a ping; its pong keeps the
    client in past the whole timeout."""
    w.s.settimeout(10)
    op, _ = w.frame()
    check(op == 9, "a silent client is pinged")
    w.send(10, b"")
    tcp.request(1, b"awake")  # which is not idle meanwhile
    time.sleep(4)
    check(w.request(1, b"still") == (1, b"still"),
          "its pong counted as life")


def client_close(w):
    w.send(8, struct.pack(">H", 1000) + b"bye")
    op, payload = w.frame()
    check(op == 8 and payload[:2] == struct.pack(">H", 1000),
          "a close from the client is answered with a close")


def main():
    node = Node(sys.argv[1])
    port = node.base + 1
    try:
        tcp = TCP(node.base)
        check(tcp.request(1, b"tcp") == (1, b"tcp"), "echo over TCP")
        w = good_client(node, port, tcp)
        keepalive(w, tcp)
        bad_upgrades(node, port, [w, tcp])
        slow_upgrade(node, port, [w, tcp])
        bad_frames(node, port, [w, tcp])
        budget(node, port, [w, tcp])
        client_close(w)
        last = WS(port)
        node.p.terminate()
        check(last.close_code() == 1001, "a stopping node says 1001")
    finally:
        node.stop()
    if failures:
        print(node.log()[-6000:])
    print("%d checks failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

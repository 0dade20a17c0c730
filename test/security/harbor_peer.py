"""harbor_peer.py: a harbor peer written from proto/HARBOR.md alone, for
the security tests: P-256 arithmetic, the SPAKE2 key exchange of the
handshake, HKDF, and the HELLO and PROOF frames. It plays a connector or an
acceptor that holds the secret, or an attacker that only guesses it. Being
a second implementation, it also checks the C one (runtime/crypto/
harbor_pake.c) against the specification."""

import hashlib
import hmac
import secrets
import struct

# P-256 (secp256r1), from SEC 2.
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)

HELLO, PROOF, PING, PONG = 4, 5, 2, 3
VERSION = 3  # proto/harbor.h WISP_HARBOR_VERSION


def add(p, q):
    """p + q in affine coordinates; None is the point at infinity."""
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    if p == q:
        m = (3 * p[0] * p[0] + A) * pow(2 * p[1], P - 2, P) % P
    else:
        m = (q[1] - p[1]) * pow(q[0] - p[0], P - 2, P) % P
    x = (m * m - p[0] - q[0]) % P
    return x, (m * (p[0] - x) - p[1]) % P


def mul(k, p):
    r = None
    while k:
        if k & 1:
            r = add(r, p)
        p = add(p, p)
        k >>= 1
    return r


def neg(p):
    return None if p is None else (p[0], (-p[1]) % P)


def on_curve(p):
    x, y = p
    return (y * y - (x * x * x + A * x + B)) % P == 0


def encode(p):
    return b"\x04" + p[0].to_bytes(32, "big") + p[1].to_bytes(32, "big")


def decode(b):
    if len(b) != 65 or b[0] != 4:
        raise ValueError("not an uncompressed point")
    p = (int.from_bytes(b[1:33], "big"), int.from_bytes(b[33:], "big"))
    if not on_curve(p):
        raise ValueError("not a point of the curve")
    return p


def point_from_label(label):
    """The first x = SHA-256(label || counter) on the curve, even y."""
    for counter in range(256):
        x = int.from_bytes(hashlib.sha256(label + bytes([counter])).digest(),
                           "big")
        if x >= P:
            continue
        y2 = (x * x * x + A * x + B) % P
        y = pow(y2, (P + 1) // 4, P)  # P = 3 mod 4
        if y * y % P == y2:
            return (x, y if y % 2 == 0 else P - y)
    raise ValueError("no point")


M = point_from_label(b"wisp-harbor SPAKE2 M")
NP = point_from_label(b"wisp-harbor SPAKE2 N")


def secret_scalar(secret):
    h = hashlib.sha512(b"wisp-harbor SPAKE2 w" + secret.encode()).digest()
    return int.from_bytes(h, "big") % N


def hkdf(ikm, info):
    prk = hmac.new(b"wisp-harbor-2", ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def hello_body(node, name, share):
    return (struct.pack("<HH", VERSION, node) + share + bytes([len(name)])
            + name.encode())


def frame(kind, body):
    return struct.pack("<I", len(body) + 1) + bytes([kind]) + body


def parse_hello(body):
    version, node = struct.unpack_from("<HH", body)
    share = body[4:69]
    name = body[70:70 + body[69]].decode()
    return version, node, share, name


class Side:
    """One side of the exchange. role: 'C' or 'A'. w: the scalar of the
    secret this side believes in (a guess, for an attacker)."""

    def __init__(self, role, w, node, name):
        self.role, self.w, self.node, self.name = role, w, node, name
        self.scalar = secrets.randbelow(N - 1) + 1
        mask = M if role == "C" else NP
        self.share = encode(add(mul(self.scalar, G), mul(w, mask)))
        self.hello = hello_body(node, name, self.share)

    def keys(self, peer_hello):
        """(proof C, proof A, psk) given the peer's HELLO body."""
        peer_share = decode(parse_hello(peer_hello)[2])
        peer_mask = NP if self.role == "C" else M
        z = mul(self.scalar, add(peer_share, neg(mul(self.w, peer_mask))))
        hellos = (self.hello + peer_hello if self.role == "C"
                  else peer_hello + self.hello)
        tt = hellos + encode(z) + self.w.to_bytes(32, "big")
        return hkdf(tt, b"proof C"), hkdf(tt, b"proof A"), hkdf(tt, b"tls psk")


def read_frame(sock):
    """(kind, body), or None when the connection closed first."""
    head = read_exact(sock, 5)
    if head is None:
        return None
    length = struct.unpack_from("<I", head)[0]
    body = read_exact(sock, length - 1)
    return None if body is None else (head[4], body)


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data

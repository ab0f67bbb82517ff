"""The bad-input catalogue (issue 8, part 2).

Every row of CASES is one input that a hostile page, a browser or a link can
produce, with the exact answer expected: a JSON-RPC error (code,
data.reason and the part of the message that names the problem), a
WebSocket close code, the HTTP status of the handshake, or the exit status
of `cardbridge open URL`.  Each row is one TAP test, and after each row
two invariants are checked:

  - the daemon still serves another client (system.hello on a fresh
    connection);
  - both SoftHSM2 tokens hold exactly what they held before the row
    (`pkcs11-tool -O --login`, parsed): no bad input ever reaches a card.

The daemon runs with the real helper, a SoftHSM2 module and the default
"ask" policy for origins nobody allow-listed; dialogs are answered by
tests/fake-pinentry, "cancelled" unless a row queues a PIN.  The few rows
whose input is accepted (hostile but legal CSR subjects, a chain with
certificates that are not stored) check the answer exactly and remove the
key pair they made, so the token invariant holds for them too.
limits.maxMessageBytes is 1 MiB here so that a 500-certificate chain reaches
the params check (with the default 256 KiB it is TOO_LARGE, as the oversize
rows show).
"""
import base64
import datetime
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import cbtest
import pki
import softhsm
import tap
from cbtest import ORIGIN, Closed, HandshakeRefused

MAX_MESSAGE = 1024 * 1024
LOOPBACK_ORIGIN = "http://127.0.0.1:8080"
P256 = {"type": "EC", "curve": "P-256"}
CLI = os.path.join(cbtest.BUILDDIR, "cli", "cardbridge")
G = {}      # the fixture, filled by setup()


# --- the fixture -------------------------------------------------------------

def pinentry(*actions):
    """Queue answers for the next dialogs and start a fresh dialog log."""
    with open(G["script"], "w") as f:
        f.write("".join(a + "\n" for a in actions))
    open(G["log"], "w").close()


def shown():
    with open(G["log"], encoding="utf-8", errors="replace") as f:
        return f.read()


def listing():
    return {label: G["hsm"].objects(label) for label in G["hsm"].labels}


def describe_change(before, after):
    lines = []
    for label in sorted(set(before) | set(after)):
        b, a = before.get(label, []), after.get(label, [])
        for o in a:
            if o not in b:
                lines.append("%s: added %s %s id=%s label=%s" % (label, o["kind"], o["type"],
                                                                 o["id"], o.get("label")))
        for o in b:
            if o not in a:
                lines.append("%s: removed %s %s id=%s label=%s" % (label, o["kind"], o["type"],
                                                                   o["id"], o.get("label")))
    return "; ".join(lines) or "same objects, different order or attributes"


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def ca_material(ca):
    with open(ca.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(ca.cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return key, cert


def build_certificates(ca, csr_pem):
    """The certificates the rows send, all made before the baseline listing."""
    ca_key, ca_cert = ca_material(ca)
    now = datetime.datetime.utcnow()
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    day = datetime.timedelta(days=1)

    def build(subject, issuer, public_key, signer, serial, before, after, ca_flag):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
             .public_key(public_key).serial_number(serial)
             .not_valid_before(before).not_valid_after(after))
        if ca_flag is not None:
            b = b.add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None),
                                critical=True)
        return cert_pem(b.sign(signer, hashes.SHA256()))

    other = ec.generate_private_key(ec.SECP256R1())
    old_ca_key = ec.generate_private_key(ec.SECP256R1())
    old_ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Expired Test CA")])
    G["future"] = build(csr.subject, ca_cert.subject, csr.public_key(), ca_key, 0x2001,
                        now + 10 * day, now + 40 * day, None)
    G["non_ca"] = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not a CA")]),
                        ca_cert.subject, other.public_key(), ca_key, 0x2002,
                        now - day, now + 30 * day, False)
    G["expired_ca"] = build(old_ca_name, old_ca_name, old_ca_key.public_key(), old_ca_key,
                            0x2003, now - 60 * day, now - day, True)
    # Issue 14 (14b): a renewal for the fixture key, a forgery for it (named like the
    # CA, signed by another key), CAs that did not issue it, a subject that would
    # rewrite a dialog.
    forger = ec.generate_private_key(ec.SECP256R1())
    unrelated = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unrelated CA")])
    G["renewal"] = build(csr.subject, ca_cert.subject, csr.public_key(), ca_key, 0x2004,
                         now - day, now + 30 * day, None)
    G["forged"] = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mallory")]),
                        ca_cert.subject, csr.public_key(), forger, 0x2005,
                        now - day, now + 30 * day, None)
    G["unrelated_ca"] = build(unrelated, unrelated, forger.public_key(), forger, 0x2006,
                              now - day, now + 30 * day, True)
    G["lookalike_ca"] = build(ca_cert.subject, ca_cert.subject, forger.public_key(), forger,
                              0x2007, now - day, now + 30 * day, True)
    G["hostile"] = build(x509.Name([x509.NameAttribute(
        NameOID.COMMON_NAME, "Eve\u2028\u2714 Verified\u2029Press OK\u202e")]),
        ca_cert.subject, csr.public_key(), ca_key, 0x2008, now - day, now + 30 * day, None)
    G["expired"] = ca.issue_expired(csr_pem)
    G["foreign"] = pki.foreign_certificate()
    G["ca_pem"] = ca.pem()
    der = x509.load_pem_x509_certificate(G["cert"].encode()).public_bytes(
        serialization.Encoding.DER)
    G["der"] = der


def setup():
    hsm = softhsm.SoftHSM(["guarded", "spare"])
    d = tempfile.mkdtemp(prefix="cb-badinput-")
    G.update(hsm=hsm, dir=d, script=os.path.join(d, "script"),
             log=os.path.join(d, "pinentry.log"))
    pinentry()
    G["daemon"] = cbtest.Daemon(
        origins=(ORIGIN, LOOPBACK_ORIGIN), modules=[softhsm.MODULE],
        config={"limits": {"maxMessageBytes": MAX_MESSAGE}},
        env={"SOFTHSM2_CONF": hsm.conf, "CB_PINENTRY_SCRIPT": G["script"],
             "CB_PINENTRY_LOG": G["log"]})
    ws = G["daemon"].connect(timeout=60)
    G["uri"] = {t["label"]: t["uri"] for t in ws.result("tokens.list")["tokens"]}
    # What the guarded token holds throughout: a key pair and its certificate.
    pinentry("pin " + softhsm.PIN)
    key = ws.result("keys.generate", {"token": G["uri"]["guarded"], "algorithm": P256,
                                      "label": "fixture",
                                      "subject": {"CN": "Fixture Holder", "C": "PL"}})
    ca = pki.TestCA()
    G["cert"] = ca.issue(key["csr"])
    pinentry("pin " + softhsm.PIN)
    installed = ws.result("certificates.install", {"certificate": G["cert"]})
    assert installed["installed"], installed
    ws.close()
    G["key_id"] = key["keyId"]
    build_certificates(ca, key["csr"])
    pinentry()
    G["baseline"] = listing()
    kinds = sorted(o["kind"] for o in G["baseline"]["guarded"])
    assert kinds == ["Certificate", "Private Key", "Public Key"], kinds


def teardown():
    if G.get("daemon"):
        G["daemon"].stop()
    if G.get("hsm"):
        G["hsm"].cleanup()
    if G.get("dir"):
        shutil.rmtree(G["dir"], ignore_errors=True)


def invariants():
    """After every row: another client is served and no token changed."""
    daemon = G["daemon"]
    assert daemon.alive(), "cardbridged died:\n" + daemon.read_log()[-2000:]
    ws = daemon.connect()
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()
    now = listing()
    assert now == G["baseline"], "a token changed: " + describe_change(G["baseline"], now)
    pinentry()


# --- the wire ---------------------------------------------------------------

def frame(payload, opcode=1, fin=True, rsv=0, masked=True, length=None):
    """One WebSocket frame as a client sends it, or breaks it."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if masked else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + cbtest._xor_fast(payload, key) if payload else head + key


def text(obj):
    return json.dumps(obj, ensure_ascii=False)


def request(method, params=None, id=1):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return text(msg)


HELLO = request("system.hello")


def next_event(ws, timeout=5):
    """The next thing the daemon does: ("text", msg), ("close", code),
    ("drop",) for a connection closed without a close frame, or ("timeout",).
    Pings are answered, pongs and progress notifications (doc/PROTOCOL.md,
    "Progress": they come before the answer) skipped."""
    ws.sock.settimeout(timeout)
    try:
        while True:
            op, data = ws.recv_frame()
            if op == 8:
                return ("close", struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005)
            if op == 9:
                ws.send_frame(data, opcode=10)
            elif op == 1:
                if json.loads(data).get("method") != "progress":
                    return ("text", json.loads(data))
            elif op != 10:
                return ("frame", op)
    except (Closed, ConnectionResetError, BrokenPipeError):
        return ("drop",)
    except (socket.timeout, TimeoutError):
        return ("timeout",)


def still_serving(ws):
    """The same connection answers a request after the bad one."""
    ws.send_frame(request("system.hello", id="after"))
    ev = next_event(ws)
    assert ev[0] == "text" and ev[1].get("id") == "after" and "result" in ev[1], \
        "the connection stopped serving after the answer: %r" % (ev,)


# --- what is expected --------------------------------------------------------

class Error:
    """A JSON-RPC error with this code, reason and message part; then either
    the connection keeps serving, or (close=) a close frame with that code."""

    def __init__(self, code, reason, message=None, id=1, close=None):
        self.code, self.reason, self.message, self.id, self.close = \
            code, reason, message, id, close

    def __repr__(self):
        return "error %d %s %r%s" % (self.code, self.reason, self.message,
                                     " then close %d" % self.close if self.close else "")

    def check_reply(self, msg):
        assert "error" in msg, "expected %r, got %r" % (self, msg)
        err = msg["error"]
        assert (err["code"], err["data"]["reason"]) == (self.code, self.reason), \
            "expected %r, got %r" % (self, err)
        if self.message is not None:
            assert self.message in err["message"], "expected %r, got %r" % (self, err)
        assert msg["id"] == self.id, "id %r, expected %r" % (msg["id"], self.id)

    def check(self, ws):
        ev = next_event(ws, timeout=30)
        assert ev[0] == "text", "expected %r, got %r" % (self, ev)
        self.check_reply(ev[1])
        if self.close is None:
            still_serving(ws)
            return
        ev = next_event(ws, timeout=30)
        assert ev == ("close", self.close), "expected close %d, got %r" % (self.close, ev)


class Close:
    def __init__(self, code):
        self.code = code

    def check(self, ws):
        ev = next_event(ws, timeout=30)
        assert ev == ("close", self.code), "expected close %d, got %r" % (self.code, ev)


class Drop:
    """The connection is failed without a close frame (RFC 6455 7.1.7 allows it)."""

    def check(self, ws):
        ev = next_event(ws)
        assert ev == ("drop",), "expected the connection to be dropped, got %r" % (ev,)


class Result:
    def __init__(self, id=1, check=None):
        self.id, self.check_result = id, check

    def check(self, ws):
        ev = next_event(ws, timeout=30)
        assert ev[0] == "text" and "result" in ev[1], "expected a result, got %r" % (ev,)
        assert ev[1]["id"] == self.id, ev[1]
        if self.check_result:
            self.check_result(ev[1]["result"])


class Silence:
    """A notification: no answer at all, then the connection still serves."""

    def check(self, ws):
        ev = next_event(ws, timeout=0.5)
        assert ev == ("timeout",), "a notification was answered: %r" % (ev,)
        still_serving(ws)


# --- the rows --------------------------------------------------------------

CASES = []


class Case:
    def __init__(self, group, title, run, todo=None):
        self.group, self.title, self.run, self.todo = group, title, run, todo


def add(group, title, run, todo=None):
    CASES.append(Case(group, title, run, todo))


def ws_row(group, title, data, expect, todo=None):
    """Send raw bytes (a callable is evaluated when the row runs) on a fresh connection."""
    def run():
        ws = G["daemon"].connect()
        try:
            ws.sock.sendall(data() if callable(data) else data)
            expect.check(ws)
        finally:
            ws.sock.close()
    add(group, title, run, todo)


def text_row(group, title, message, expect):
    ws_row(group, title, lambda: frame(message() if callable(message) else message), expect)


def call_row(group, title, method, params, expect, answers=()):
    def message():
        pinentry(*answers)
        p = params() if callable(params) else params
        return request(method, p)
    text_row(group, title, message, expect)


def handshake_row(group, title, expect, **kw):
    add(group, title, lambda: expect(**kw))


def http(status):
    def check(**kw):
        try:
            ws = G["daemon"].connect(**kw)
        except HandshakeRefused as e:
            assert (" %d " % status) in e.status + " ", \
                "expected HTTP %d, got %r" % (status, e.status)
            return
        ws.close()
        raise AssertionError("expected HTTP %d, the handshake was accepted" % status)
    return check


def upgraded(**kw):
    ws = G["daemon"].connect(**kw)
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()


def not_upgraded(**kw):
    """Refused without 101: a 403, or (lws, when no protocol of ours matches the
    name) the connection closed without any answer."""
    try:
        ws = G["daemon"].connect(**kw)
    except HandshakeRefused as e:
        assert " 403 " in e.status + " " or e.status == "connection closed", e.status
        return
    ws.close()
    raise AssertionError("the handshake was accepted")


def consent_denied(origin):
    """A well-formed https (or loopback http) origin nobody allow-listed: admitted
    for system.hello only; its first card request asks the user, who sees the exact
    origin and cancels; then ORIGIN_NOT_ALLOWED and its handshakes are refused."""
    def check():
        pinentry()
        ws = G["daemon"].connect(origin=origin)
        # Before the user answered, hello says only that cardbridge is here.
        assert ws.result("system.hello") == {"name": "cardbridge", "protocol": 1}
        Error(-32001, "ORIGIN_NOT_ALLOWED", id=7).check_reply(ws.call("tokens.list", id=7))
        ws.close()
        assert origin in shown(), "the dialog did not name the origin:\n" + shown()
        http(403)(origin=origin)
    return check


def csr_subject_is(expected):
    """The CSR verifies and its subject is exactly these attributes, in this order."""
    def check(result):
        G["made"] = result["keyId"]
        assert pki.verify_csr(result["csr"]), "CSR does not verify"
        csr = x509.load_pem_x509_csr(result["csr"].encode())
        got = [[(a.oid, a.value) for a in rdn] for rdn in csr.subject.rdns]
        assert got == [[attr] for attr in expected], "CSR subject %r, asked %r" % (got, expected)
    return check


def subject_row(title, subject, expected):
    """A hostile subject that is legal: accepted, and put in the CSR verbatim."""
    def run():
        G["made"] = None
        pinentry("pin " + softhsm.PIN)
        ws = G["daemon"].connect()
        try:
            ws.send_frame(request("keys.generate", {"token": G["uri"]["spare"],
                                                    "algorithm": P256, "subject": subject}))
            Result(check=csr_subject_is(expected)).check(ws)
        finally:
            ws.sock.close()
            remove_key_pair("spare", G.get("made"))
    add("method", title, run)


def remove_key_pair(label, key_id):
    """Delete a key pair a row made on purpose (pkcs11-tool, not cardbridge)."""
    if not key_id:
        return
    for kind in ("privkey", "pubkey"):
        G["hsm"].tool(label, "--delete-object", "--type", kind, "--id", key_id, login=True)


def cn(value):
    return (NameOID.COMMON_NAME, value)


# Frames (RFC 6455) --------------------------------------------------------

def oversize_single():
    return frame(request("system.hello", {"x": "A" * MAX_MESSAGE}))


def oversize_fragmented():
    body = request("system.hello", {"x": "B" * (MAX_MESSAGE + 4096)}).encode()
    step = 65536
    parts = [body[i:i + step] for i in range(0, len(body), step)]
    return b"".join(frame(p, opcode=1 if i == 0 else 0, fin=i == len(parts) - 1)
                    for i, p in enumerate(parts))


def exactly_the_limit():
    head = '{"jsonrpc":"2.0","id":1,"method":"system.hello"'
    return frame(head + " " * (MAX_MESSAGE - len(head) - 1) + "}")


def one_byte_fragments():
    body = HELLO.encode()
    return b"".join(frame(body[i:i + 1], opcode=1 if i == 0 else 0, fin=i == len(body) - 1)
                    for i in range(len(body)))


def ping_between_fragments():
    body = HELLO.encode()
    return (frame(body[:20], fin=False) + frame(b"between", opcode=9) +
            frame(body[20:], opcode=0))


def check_ping_flood(ws):
    """5000 pings in one burst, then a request: the request is answered, every
    pong echoes a ping, and other clients are served while the flood is read."""
    n = 5000
    ws.sock.sendall(b"".join(struct.pack("!BB", 0x89, 0x80 | len(p)) + b"\0\0\0\0" + p
                             for p in (b"ping-%d" % i for i in range(n))) + frame(HELLO))
    other = G["daemon"].connect()
    assert other.result("system.hello")["protocol"] == 1
    other.close()
    pongs = []
    ws.sock.settimeout(30)
    while True:
        op, data = ws.recv_frame()
        if op == 10:
            pongs.append(data)
            continue
        assert op == 1, "expected the answer, got opcode %d" % op
        assert "result" in json.loads(data)
        break
    print("# %d pings, %d pongs before the answer" % (n, len(pongs)), flush=True)
    assert pongs and all(re.fullmatch(rb"ping-\d+", p) for p in pongs), pongs[:5]
    still_serving(ws)


def check_last_ping_answered(ws):
    """RFC 6455 5.5.2/5.5.3: every ping gets a pong, or at least the most recent
    of a burst does."""
    ws.sock.sendall(b"".join(struct.pack("!BB", 0x89, 0x80 | len(p)) + b"\0\0\0\0" + p
                             for p in (b"ping-0", b"ping-1", b"ping-2")))
    pongs = []
    ws.sock.settimeout(1)
    try:
        while b"ping-2" not in pongs:
            op, data = ws.recv_frame()
            assert op == 10, "unexpected opcode %d" % op
            pongs.append(data)
    except (socket.timeout, TimeoutError):
        pass
    assert b"ping-2" in pongs, "pongs for a burst of 3 pings: %r" % pongs


class Custom:
    def __init__(self, fn):
        self.fn = fn

    def check(self, ws):
        self.fn(ws)


def small_window_connection():
    """A connection whose receive buffer is set small before the handshake."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", G["daemon"].port))
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n"
               "Sec-WebSocket-Protocol: cardbridge.v1\r\n\r\n" %
               (G["daemon"].port, base64.b64encode(os.urandom(16)).decode(), ORIGIN)).encode())
    ws = cbtest.WS.__new__(cbtest.WS)
    ws.sock, ws.buf, ws.next_id = s, b"", 1
    head = ws._read_head()
    assert b" 101 " in head.split(b"\r\n")[0], head[:80]
    return ws


def check_non_reader(_unused):
    """A page that sends requests and never reads the answers is closed with
    1008 once 4 MiB of answers wait for it; the daemon does not buffer more."""
    ws = small_window_connection()
    data = frame(HELLO) * 40000
    sent, stalled = 0, None
    ws.sock.setblocking(False)
    while sent < len(data):
        try:
            sent += ws.sock.send(data[sent:sent + 65536])
            stalled = None
        except BlockingIOError:
            stalled = stalled or time.monotonic()
            if time.monotonic() - stalled > 2:
                break       # the daemon stopped reading: it has given up on us
            time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            break
    ws.sock.setblocking(True)
    ws.sock.settimeout(30)
    answers, code = 0, None
    try:
        while code is None:
            op, data = ws.recv_frame()
            if op == 8:
                code = struct.unpack("!H", data[:2])[0]
            else:
                answers += 1
    finally:
        ws.sock.close()
    print("# sent %d of %d requests; read %d answers, then close %s" %
          (sent // len(frame(HELLO)), 40000, answers, code), flush=True)
    assert code == 1008, code


G_FRAMES = "frame"
ws_row(G_FRAMES, "oversize message (1 MiB + 1) is TOO_LARGE, id null, then close 1009",
       oversize_single, Error(-32003, "TOO_LARGE", "exceeds the limit", id=None, close=1009))
ws_row(G_FRAMES, "oversize message in 64 KiB fragments is TOO_LARGE then close 1009",
       oversize_fragmented, Error(-32003, "TOO_LARGE", "exceeds the limit", id=None,
                                  close=1009))
ws_row(G_FRAMES, "message of exactly the limit is answered", exactly_the_limit, Result())
ws_row(G_FRAMES, "request in one-byte fragments is answered", one_byte_fragments, Result())
ws_row(G_FRAMES, "ping between fragments is allowed and the request answered",
       ping_between_fragments, Result())
ws_row(G_FRAMES, "continuation frame without a first fragment closes 1002",
       frame(HELLO, opcode=0), Close(1002))
ws_row(G_FRAMES, "new text frame inside a fragmented message closes 1002",
       frame(HELLO[:10], fin=False) + frame(HELLO), Close(1002))
ws_row(G_FRAMES, "binary frame closes 1003", frame(b"\x00\x01\x02", opcode=2), Close(1003))
ws_row(G_FRAMES, "fragmented binary message closes 1003",
       frame(b"ab", opcode=2, fin=False) + frame(b"cd", opcode=0), Close(1003))
ws_row(G_FRAMES, "invalid UTF-8 byte closes 1007",
       frame(b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}'), Close(1007))
ws_row(G_FRAMES, "invalid UTF-8 split across fragments closes 1007",
       frame(b'{"a":"\xe2', fin=False) + frame(b'\x28\xa1"}', opcode=0), Close(1007))
ws_row(G_FRAMES, "overlong UTF-8 encoding closes 1007",
       frame(b'{"jsonrpc":"2.0","id":1,"method":"\xc0\xaf"}'), Close(1007))
ws_row(G_FRAMES, "UTF-8 encoded surrogate closes 1007",
       frame(b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\xed\xa0\x80"}}'),
       Close(1007))
ws_row(G_FRAMES, "code point above U+10FFFF closes 1007",
       frame(b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\xf4\x90\x80\x80"}}'),
       Close(1007))
ws_row(G_FRAMES, "message ending in a cut UTF-8 sequence closes 1007",
       frame(b'{"jsonrpc":"2.0","id":1,"method":"x"}\xe2\x82'), Close(1007))
ws_row(G_FRAMES, "ping flood is survived and the request after it answered", b"",
       Custom(check_ping_flood))
ws_row(G_FRAMES, "the last ping of a burst gets a pong", b"", Custom(check_last_ping_answered),
       todo="lws 4.1.6 answers the first ping of a burst, not the last")
ws_row(G_FRAMES, "control frame over 125 bytes fails the connection",
       frame(b"p" * 126, opcode=9), Drop())
ws_row(G_FRAMES, "fragmented ping closes 1002", frame(b"p", opcode=9, fin=False), Close(1002))
ws_row(G_FRAMES, "unmasked client frame closes 1002", frame(HELLO, masked=False), Close(1002),
       todo="lws 4.1.6 answers unmasked client frames (RFC 6455 5.1 says close)")
ws_row(G_FRAMES, "RSV1 bit without an extension closes 1002", frame(HELLO, rsv=4), Close(1002))
ws_row(G_FRAMES, "RSV2 and RSV3 bits close 1002", frame(HELLO, rsv=3), Close(1002))
ws_row(G_FRAMES, "reserved data opcode 3 closes 1002", frame(HELLO, opcode=3), Close(1002))
ws_row(G_FRAMES, "reserved control opcode 0xB closes 1002", frame(b"x", opcode=0xB),
       Close(1002))
ws_row(G_FRAMES, "64-bit length with the top bit set fails the connection",
       struct.pack("!BBQ", 0x81, 0xFF, 1 << 63) + b"\0\0\0\0abcd", Drop())
ws_row(G_FRAMES, "close frame with the invalid code 999 is answered 1002",
       frame(struct.pack("!H", 999), opcode=8), Close(1002))
ws_row(G_FRAMES, "close frame with the reserved code 1005 is answered 1002",
       frame(struct.pack("!H", 1005), opcode=8), Close(1002))
ws_row(G_FRAMES, "empty text frame is PARSE_ERROR", frame(b""),
       Error(-32700, "PARSE_ERROR", "unexpected end of input", id=None))
ws_row(G_FRAMES, "client that never reads its answers is closed 1008", b"",
       Custom(check_non_reader))

# JSON (RFC 8259, JSON-RPC 2.0) --------------------------------------------

J = "json"
PARSE = (-32700, "PARSE_ERROR")
INVALID = (-32600, "INVALID_REQUEST")


def titled(title, code_reason):
    """The expected answer in the TAP line, unless the title names it already."""
    return title if code_reason[1] in title else "%s is %d %s" % ((title,) + code_reason)


def jrow(title, message, code_reason, part, id=1):
    title = titled(title, code_reason)
    text_row(J, title, message, Error(code_reason[0], code_reason[1], part, id=id))


jrow("truncated object", '{"jsonrpc":"2.0","id":1,', PARSE, "unexpected end of input", None)
jrow("whitespace only", "  \n", PARSE, "unexpected end of input", None)
jrow("trailing garbage after the object", HELLO + " x", PARSE, "unexpected character", None)
jrow("two objects in one message", HELLO + "{}", PARSE, "unexpected character", None)
jrow("trailing NUL byte", HELLO + "\x00", PARSE, "trailing data", None)
jrow("byte order mark", "\ufeff" + HELLO, PARSE, "invalid JSON", None)
jrow("NaN", '{"jsonrpc":"2.0","id":NaN,"method":"system.hello"}', PARSE, "NaN or Infinity",
     None)
jrow("Infinity in params", '{"jsonrpc":"2.0","id":1,"method":"system.hello",'
     '"params":{"x":Infinity}}', PARSE, "NaN or Infinity", None)
jrow("-Infinity in params", '{"jsonrpc":"2.0","id":1,"method":"system.hello",'
     '"params":{"x":-Infinity}}', PARSE, "NaN or Infinity", None)
jrow("single-quoted strings", "{'jsonrpc':'2.0','id':1,'method':'system.hello'}", PARSE,
     "unexpected character", None)
jrow("comment", "/*c*/" + HELLO, PARSE, "unexpected character", None)
jrow("trailing comma", '{"jsonrpc":"2.0","id":1,"method":"system.hello",}', PARSE,
     "unexpected character", None)
jrow("number with a leading zero", '{"jsonrpc":"2.0","id":01,"method":"system.hello"}', PARSE,
     "invalid JSON", None)
jrow("hexadecimal number", '{"jsonrpc":"2.0","id":0x10,"method":"system.hello"}', PARSE,
     "invalid JSON", None)
jrow("bare number 42", "42", INVALID, "request must be a JSON object",
     None)
jrow("bare null", "null", INVALID, "request must be a JSON object",
     None)
jrow("bare string", '"system.hello"', INVALID,
     "request must be a JSON object", None)
jrow("empty batch", "[]", INVALID, "batch requests are not supported", None)
jrow("batch of one request", "[" + HELLO + "]", INVALID, "batch requests are not supported",
     None)
jrow("arrays nested 17 deep are TOO_DEEP",
     request("system.hello", {"a": "X"}).replace('"X"', "[" * 15 + "]" * 15),
     (-32015, "TOO_DEEP"), "exceeds 16 levels", None)
jrow("objects nested 17 deep are TOO_DEEP",
     request("system.hello", {"a": "X"}).replace('"X"', '{"b":' * 15 + "1" + "}" * 15),
     (-32015, "TOO_DEEP"), "exceeds 16 levels", None)
text_row(J, "arrays nested exactly 16 deep are within the limit",
         request("system.hello", {"a": "X"}).replace('"X"', "[" * 14 + "]" * 14),
         Error(-32602, "INVALID_PARAMS", 'params.a: unknown parameter'))
jrow("arrays nested 100000 deep are TOO_DEEP",
     request("system.hello", {"a": "X"}).replace('"X"', "[" * 100000 + "]" * 100000),
     (-32015, "TOO_DEEP"), "exceeds 16 levels", None)
jrow("id 1e400", '{"jsonrpc":"2.0","id":1e400,"method":"system.hello"}', INVALID,
     "id must be", None)
jrow("id with 400 digits", '{"jsonrpc":"2.0","id":%s,"method":"system.hello"}' % ("9" * 400),
     INVALID, "id must be", None)
jrow("id 2^53 is beyond JavaScript's safe integers",
     '{"jsonrpc":"2.0","id":9007199254740992,"method":"system.hello"}', INVALID, "id must be",
     None)
text_row(J, "id -(2^53-1) is the smallest id echoed exactly",
         '{"jsonrpc":"2.0","id":-9007199254740991,"method":"system.hello"}',
         Result(id=-9007199254740991))
jrow("id 1.5", '{"jsonrpc":"2.0","id":1.5,"method":"system.hello"}', INVALID, "id must be",
     None)
jrow("id null", '{"jsonrpc":"2.0","id":null,"method":"system.hello"}', INVALID, "id must be",
     None)
jrow("string id with a lone surrogate escape",
     '{"jsonrpc":"2.0","id":"\\ud800","method":"system.hello"}', INVALID, "lone surrogate", None)
jrow("a lone surrogate escape in a param",
     '{"jsonrpc":"2.0","id":1,"method":"system.hello","params":{"a":"\\udfff"}}', INVALID,
     "lone surrogate", None)
jrow("id true", '{"jsonrpc":"2.0","id":true,"method":"system.hello"}', INVALID, "id must be",
     None)
jrow("id array", '{"jsonrpc":"2.0","id":[1],"method":"system.hello"}', INVALID, "id must be",
     None)
jrow("id string of 129 bytes", request("system.hello", id="i" * 129), INVALID, "id must be",
     None)
text_row(J, "bits 1e999 is not an integer",
         lambda: request("keys.generate", {"token": G["uri"]["spare"], "algorithm": "X"})
         .replace('"X"', '{"type":"RSA","bits":1e999}'),
         Error(-32602, "INVALID_PARAMS", 'params.algorithm.bits: must be an integer'))
text_row(J, "bits with 23 digits is UNSUPPORTED_ALGORITHM",
         lambda: request("keys.generate", {"token": G["uri"]["spare"], "algorithm": "X"})
         .replace('"X"', '{"type":"RSA","bits":99999999999999999999999}'),
         Error(-32011, "UNSUPPORTED_ALGORITHM", "params.algorithm.bits: must be one of 2048, 3072, 4096"))
call_row(J, "bits 2048.0 is not an integer", "keys.generate",
         lambda: {"token": G["uri"]["spare"], "algorithm": {"type": "RSA", "bits": 2048.0}},
         Error(-32602, "INVALID_PARAMS", 'params.algorithm.bits: must be an integer'))
jrow("duplicate top-level key", '{"jsonrpc":"2.0","id":1,"id":2,"method":"system.hello"}',
     INVALID, 'duplicate key "id"', None)
jrow("duplicate key spelled with an escape",
     '{"jsonrpc":"2.0","id":1,"method":"system.hello","params":{"a":1,"\\u0061":2}}',
     INVALID, 'duplicate key "a"', None)
jrow("duplicate key deep in params",
     '{"jsonrpc":"2.0","id":1,"method":"keys.generate","params":{"token":"pkcs11:",'
     '"algorithm":{"type":"EC","curve":"P-256","curve":"P-384"}}}', INVALID,
     'duplicate key "curve"', None)
jrow("method is a number", '{"jsonrpc":"2.0","id":1,"method":7}', INVALID,
     '"method" must be a string')
jrow("jsonrpc is a number", '{"jsonrpc":2.0,"id":1,"method":"system.hello"}', INVALID,
     '"jsonrpc" must be "2.0"')
jrow("jsonrpc 1.0", '{"jsonrpc":"1.0","id":1,"method":"system.hello"}', INVALID,
     '"jsonrpc" must be "2.0"')
jrow("jsonrpc missing", '{"id":1,"method":"system.hello"}', INVALID, '"jsonrpc" must be "2.0"')
jrow("method missing", '{"jsonrpc":"2.0","id":1}', INVALID, '"method" must be a string')
jrow("unknown top-level member", '{"jsonrpc":"2.0","id":1,"method":"system.hello","x":1}',
     INVALID, "unknown member in request: x")
jrow("params is an array", '{"jsonrpc":"2.0","id":1,"method":"system.hello","params":[]}',
     (-32602, "INVALID_PARAMS"), '"params" must be an object')
jrow("params is a string", '{"jsonrpc":"2.0","id":1,"method":"system.hello","params":"x"}',
     (-32602, "INVALID_PARAMS"), '"params" must be an object')
jrow("unknown method", request("no.such.method"), (-32601, "METHOD_NOT_FOUND"),
     "method not found")
jrow("reserved rpc. method", request("rpc.discover"), (-32601, "METHOD_NOT_FOUND"),
     "method name is not valid")
jrow("method name with NUL", request("system.hello\u0000x"), (-32601, "METHOD_NOT_FOUND"),
     "method name is not valid")
text_row(J, "notification with bad params gets no answer at all",
         '{"jsonrpc":"2.0","method":"keys.generate","params":{"token":7}}', Silence())

# Methods and params ---------------------------------------------------------

M = "method"
BAD = (-32602, "INVALID_PARAMS")


def mrow(title, method, params, code_reason, part, answers=()):
    title = titled(title, code_reason)
    call_row(M, title, method, params, Error(code_reason[0], code_reason[1], part),
             answers=answers)


def keygen(subject=None, algorithm=P256, token="spare", **extra):
    def params():
        p = {"token": G["uri"][token] if token in G["uri"] else token, "algorithm": algorithm}
        if subject is not None:
            p["subject"] = subject
        p.update(extra)
        return p
    return params


def notification_row(title, method, params):
    """A well-formed request of a method that changes a token, without an id:
    nobody could receive its result, so it runs nothing: no answer, no dialog."""
    def run():
        pinentry("pin " + softhsm.PIN)
        ws = G["daemon"].connect()
        try:
            p = params() if callable(params) else params
            ws.send_frame(text({"jsonrpc": "2.0", "method": method, "params": p}))
            Silence().check(ws)
            assert shown() == "", "a notification showed a dialog:\n" + shown()
        finally:
            ws.sock.close()
    add(M, title, run)


notification_row("keys.generate as a notification runs nothing", "keys.generate", keygen())
notification_row("certificates.install as a notification runs nothing", "certificates.install",
                 lambda: {"certificate": G["cert"], "label": "again"})

mrow("missing params of keys.generate", "keys.generate", None, BAD,
     'params.token: missing')
mrow("missing algorithm", "keys.generate", {"token": "pkcs11:token=x"}, BAD,
     'params.algorithm: missing')
mrow("algorithm without type", "keys.generate", {"token": "pkcs11:token=x", "algorithm": {}},
     BAD, 'params.algorithm.type: missing')
mrow("token of the wrong type", "keys.generate", {"token": 7, "algorithm": P256}, BAD,
     'params.token: must be a string')
mrow("algorithm of the wrong type", "keys.generate", {"token": "pkcs11:", "algorithm": "RSA"},
     BAD, 'params.algorithm: must be an object')
mrow("overwrite of the wrong type", "keys.generate", keygen(overwrite="yes"), BAD,
     'params.overwrite: must be a boolean')
mrow("unknown param", "keys.generate", keygen(colour="blue"), BAD,
     'params.colour: unknown parameter')
mrow("unknown token URI is TOKEN_NOT_PRESENT", "keys.generate",
     keygen(token="pkcs11:token=nope;serial=0"), (-32007, "TOKEN_NOT_PRESENT"),
     "no such token is present")
mrow("token that is not a pkcs11 URI", "keys.generate", keygen(token="not a uri"), BAD,
     "params.token: not a pkcs11: URI")
mrow("token URI with a broken percent escape", "keys.generate",
     keygen(token="pkcs11:token=%zz"), BAD, "params.token: not a pkcs11: URI")
mrow("token URI over 1024 bytes", "keys.generate", keygen(token="pkcs11:token=" + "a" * 1100),
     BAD, 'params.token: longer than 1024 bytes')
mrow("token URI naming no attribute is ambiguous", "keys.generate", keygen(token="pkcs11:"),
     BAD, "matches 2 tokens; name one")
mrow("token URI with a percent-encoded NUL label", "keys.generate",
     keygen(token="pkcs11:token=%00"), BAD, "params.token: a control character")
mrow("token URI with a NUL after a real label", "keys.generate",
     keygen(token="pkcs11:token=cardbridge%00x"), BAD, "params.token: a control character")
mrow("token URI with a percent-encoded DEL", "keys.generate",
     keygen(token="pkcs11:manufacturer=%7f"), BAD, "params.token: a control character")
mrow("RSA 1024 is UNSUPPORTED_ALGORITHM", "keys.generate",
     keygen(algorithm={"type": "RSA", "bits": 1024}), (-32011, "UNSUPPORTED_ALGORITHM"),
     "params.algorithm.bits: must be one of 2048, 3072, 4096")
mrow("RSA -2048 is UNSUPPORTED_ALGORITHM", "keys.generate",
     keygen(algorithm={"type": "RSA", "bits": -2048}), (-32011, "UNSUPPORTED_ALGORITHM"),
     "params.algorithm.bits: must be one of 2048, 3072, 4096")
mrow("RSA without bits", "keys.generate", keygen(algorithm={"type": "RSA"}), BAD,
     "params.algorithm.bits: missing")
mrow("P-521 is UNSUPPORTED_ALGORITHM", "keys.generate",
     keygen(algorithm={"type": "EC", "curve": "P-521"}), (-32011, "UNSUPPORTED_ALGORITHM"),
     'params.algorithm.curve: must be one of "P-256", "P-384"')
mrow("secp256k1 is UNSUPPORTED_ALGORITHM", "keys.generate",
     keygen(algorithm={"type": "EC", "curve": "secp256k1"}),
     (-32011, "UNSUPPORTED_ALGORITHM"), 'params.algorithm.curve: must be one of "P-256", "P-384"')
mrow("Ed25519 is UNSUPPORTED_ALGORITHM", "keys.generate",
     keygen(algorithm={"type": "Ed25519"}), (-32011, "UNSUPPORTED_ALGORITHM"),
     'params.algorithm.type: must be one of "RSA", "EC"')
mrow("lower-case rsa is UNSUPPORTED_ALGORITHM", "keys.generate",
     keygen(algorithm={"type": "rsa", "bits": 2048}), (-32011, "UNSUPPORTED_ALGORITHM"),
     'params.algorithm.type: must be one of "RSA", "EC"')
mrow("subject that is not an object", "keys.generate", keygen(subject="CN=x"), BAD,
     'params.subject: must be an object')
mrow("subject value that is not a string", "keys.generate", keygen(subject={"CN": 7}), BAD,
     'params.subject.CN: must be a string')
mrow("unknown subject attribute", "keys.generate", keygen(subject={"DC": "example"}), BAD,
     'params.subject.DC: unknown parameter')
mrow("subject CN with NUL", "keys.generate", keygen(subject={"CN": "Joe\u0000Doe"}), BAD,
     'params.subject.CN: contains control characters')
mrow("subject CN with a newline", "keys.generate", keygen(subject={"CN": "Joe\nO=Evil"}), BAD,
     "params.subject.CN: contains control characters")
mrow("subject CN with a carriage return", "keys.generate",
     keygen(subject={"CN": "Joe\rDoe"}), BAD,
     "params.subject.CN: contains control characters")
mrow("subject CN with a tab", "keys.generate", keygen(subject={"CN": "Joe\tDoe"}), BAD,
     "params.subject.CN: contains control characters")
mrow("subject CN with DEL", "keys.generate", keygen(subject={"CN": "Joe\u007fDoe"}), BAD,
     'params.subject.CN: contains control characters')
mrow("subject CN with the C1 control NEL", "keys.generate",
     keygen(subject={"CN": "Joe\u0085Doe"}), BAD,
     "params.subject.CN: contains control characters")
# X.520 counts characters, and so does protocol/methods.c for text a person reads.
mrow("subject CN of 65 characters", "keys.generate", keygen(subject={"CN": "x" * 65}), BAD,
     'params.subject.CN: longer than 64 characters')
mrow("subject CN of 10000 characters", "keys.generate", keygen(subject={"CN": "x" * 10000}),
     BAD, 'params.subject.CN: longer than 64 characters')
mrow("empty subject CN", "keys.generate", keygen(subject={"CN": ""}), BAD,
     "params.subject.CN: empty")
mrow("country that is not two letters", "keys.generate", keygen(subject={"C": "P1"}), BAD,
     "params.subject.C: must be two letters")
mrow("e-mail address with two at signs", "keys.generate",
     keygen(subject={"emailAddress": "joe@example.com@evil.example"}), BAD,
     "params.subject.emailAddress: not an e-mail address")
mrow("serialNumber outside PrintableString", "keys.generate",
     keygen(subject={"serialNumber": "PNOPL-1;DROP"}), BAD,
     "params.subject.serialNumber: has characters a PrintableString cannot hold")
mrow("label with a newline", "keys.generate", keygen(label="key\nlabel"), BAD,
     "params.label: contains control characters")
mrow("label of 65 characters", "keys.generate", keygen(label="l" * 65), BAD,
     'params.label: longer than 64 characters')
subject_row("subject CN with an RTL override is put in the CSR verbatim",
            {"CN": "\u202eeod eoJ\u202c"}, [cn("\u202eeod eoJ\u202c")])
subject_row("subject CN 'a,O=b' stays one CN attribute", {"CN": "a,O=b"}, [cn("a,O=b")])
subject_row("subject CN 'a+O=b' stays one CN attribute", {"CN": "a+O=b"}, [cn("a+O=b")])
subject_row("subject CN '/O=Evil/CN=x' stays one CN attribute", {"CN": "/O=Evil/CN=x"},
            [cn("/O=Evil/CN=x")])
subject_row("subject CN with DN special characters stays verbatim",
            {"CN": "\\\"#<>;=+,"}, [cn("\\\"#<>;=+,")])
subject_row("subject CN with an injection next to a real O keeps both apart",
            {"CN": "Joe, O=Evil Corp", "O": "Real Org"},
            [(NameOID.ORGANIZATION_NAME, "Real Org"), cn("Joe, O=Evil Corp")])
subject_row("subject CN of exactly 64 characters is accepted", {"CN": "y" * 64}, [cn("y" * 64)])
subject_row("subject CN of 34 Cyrillic characters (65 bytes) is within X.520's 64",
            {"CN": "Александр Александрович Александров"},
            [cn("Александр Александрович Александров")])

# Certificates -------------------------------------------------------------

C = "certificate"


def install(certificate=None, **extra):
    def params():
        p = dict(extra)
        if certificate is not None:
            p["certificate"] = certificate() if callable(certificate) else certificate
        for k, v in list(p.items()):
            if callable(v):
                p[k] = v()
        return p
    return params


def crow(title, params, code_reason, part):
    title = titled(title, code_reason)
    call_row(C, title, "certificates.install", params,
             Error(code_reason[0], code_reason[1], part))


def b64(data):
    return base64.b64encode(data).decode()

crow("missing certificate", install(), BAD, 'params.certificate: missing')
crow("certificate of the wrong type", install(7), BAD, 'params.certificate: must be a string')
crow("garbage text", install("hello, I am a certificate"), BAD,
     "params.certificate: neither PEM nor base64 DER")
crow("empty certificate", install(""), BAD, "params.certificate: neither PEM nor base64 DER")
crow("PEM armour around junk", install("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                       "-----END CERTIFICATE-----\n"), BAD,
     "params.certificate: not an X.509 certificate (corrupt or truncated)")
crow("PEM truncated in the middle", install(lambda: G["cert"][:200]), BAD,
     "params.certificate: not a PEM CERTIFICATE block (corrupt or truncated)")
crow("DER truncated in the middle (base64)", install(lambda: b64(G["der"][:len(G["der"]) // 2])),
     BAD, "params.certificate: not an X.509 certificate (corrupt or truncated)")
crow("DER with trailing bytes (base64)", install(lambda: b64(G["der"] + b"\0\0\0\0")), BAD,
     "params.certificate: trailing data after the certificate")
crow("random bytes (base64)", install(lambda: b64(os.urandom(300))), BAD,
     "params.certificate: not an X.509 certificate")
crow("public key PEM instead of a certificate",
     install(lambda: G["cert"].replace("CERTIFICATE", "PUBLIC KEY")), BAD,
     "params.certificate: not a PEM CERTIFICATE block")
crow("two certificates in one PEM", install(lambda: G["cert"] + G["ca_pem"]), BAD,
     "params.certificate: holds more than one PEM block")
crow("certificate over 64 KiB", install("A" * (64 * 1024 + 4)), BAD,
     'params.certificate: longer than 65536 bytes')
crow("certificate for a key on no token is KEY_NOT_FOUND", install(lambda: G["foreign"]),
     (-32009, "KEY_NOT_FOUND"), "no key on any present token matches the certificate")
crow("certificate for a key on another token is KEY_NOT_FOUND",
     install(lambda: G["cert"], token=lambda: G["uri"]["spare"]), (-32009, "KEY_NOT_FOUND"),
     "no key on this token matches the certificate")
crow("expired certificate", install(lambda: G["expired"]), BAD,
     "(allowExpired is not set)")
crow("certificate not valid yet is outside its validity period",
     install(lambda: G["future"]), BAD, "params.certificate")
crow("chain that is not an array", install(lambda: G["cert"], chain="x"), BAD,
     'params.chain: must be an array of strings')
crow("chain element that is not a string", install(lambda: G["cert"], chain=[1]), BAD,
     'params.chain[0]: must be a string')
crow("chain element that is garbage", install(lambda: G["cert"], chain=["junk"]), BAD,
     "params.chain[0]: not an X.509 certificate")
crow("chain of 17 certificates", install(lambda: G["cert"], chain=lambda: [G["ca_pem"]] * 17),
     BAD, 'params.chain: more than 16 elements')
crow("chain of 500 certificates", install(lambda: G["cert"],
                                          chain=lambda: [G["ca_pem"]] * 500), BAD,
     'params.chain: more than 16 elements')


def not_stored(*entries):
    def check(result):
        assert result["installed"] == [], result
        assert [c["serial"] for c in result["alreadyPresent"]] == \
            ["%x" % x509.load_pem_x509_certificate(G["cert"].encode()).serial_number], result
        assert [(e["subject"], e["reason"]) for e in result["notStored"]] == list(entries), \
            result
    return check


call_row(C, "chain with a certificate that is not a CA stores nothing", "certificates.install",
         install(lambda: G["cert"], chain=lambda: [G["non_ca"]]),
         Result(check=not_stored(("CN=Not a CA", "not a CA certificate"))))
call_row(C, "chain with an expired CA stores nothing", "certificates.install",
         install(lambda: G["cert"], chain=lambda: [G["expired_ca"]]),
         Result(check=not_stored(("CN=Expired Test CA", "expired"))))
call_row(C, "chain holding the certificate itself stores nothing", "certificates.install",
         install(lambda: G["cert"], chain=lambda: [G["cert"]]),
         Result(check=not_stored(("CN=Fixture Holder,C=PL", "same as the certificate"))))


# Issue 14 (14b): certificates only where they belong, dialogs that cannot lie.
HAS_CERTIFICATE = (-32019, "KEY_HAS_CERTIFICATE")
OFF_PATH = "not an issuer on the certificate's path"


class CleanDialog(Error):
    """An error answer, after a dialog whose texts hold nothing that adds lines,
    reverses a sentence or hides itself."""

    def check(self, ws):
        super().check(ws)
        text = shown()
        assert "SETDESC" in text, text
        assert not any(c in text for c in "\u2028\u2029\u202e\u200b"), text


crow("add that is not a boolean", install(lambda: G["cert"], add="yes"), BAD,
     'params.add: must be a boolean')
crow("a second certificate for a key that has one is KEY_HAS_CERTIFICATE",
     install(lambda: G["renewal"]), HAS_CERTIFICATE, "the key already has another certificate")
crow("a forged certificate named like the CA is KEY_HAS_CERTIFICATE",
     install(lambda: G["forged"], label="fixture"), HAS_CERTIFICATE,
     "the key already has another certificate")
call_row(C, "chain with a CA that did not issue the certificate stores nothing",
         "certificates.install", install(lambda: G["cert"], chain=lambda: [G["unrelated_ca"]]),
         Result(check=not_stored(("CN=Unrelated CA", OFF_PATH))))
call_row(C, "chain with a CA named like the issuer but another key stores nothing",
         "certificates.install", install(lambda: G["cert"], chain=lambda: [G["lookalike_ca"]]),
         Result(check=not_stored(("CN=cardbridge Test CA", OFF_PATH))))
call_row(C, "subject with line separators and bidi controls reaches the dialog made safe",
         "certificates.install", install(lambda: G["hostile"], add=True),
         CleanDialog(-32004, "USER_CANCELLED"), answers=("cancel",))

# Origins and Host headers (admission in the handshake) ----------------------

O = "origin"
for title, origin in (("null Origin", "null"), ("missing Origin", None), ("empty Origin", ""),
                      ("upper-case host in Origin", "https://PORTAL.example"),
                      ("upper-case scheme in Origin", "HTTPS://portal.example"),
                      ("trailing dot in Origin", "https://portal.example."),
                      ("default port in Origin", "https://portal.example:443"),
                      ("path in Origin", "https://portal.example/"),
                      ("user info in Origin", "https://portal.example@evil.example"),
                      ("Cyrillic homograph in Origin", "https://p\u043ertal.example"),
                      ("plain http Origin off loopback", "http://portal.example"),
                      ("file Origin", "file://"),
                      ("extension Origin", "chrome-extension://abcdefghijklmnop"),
                      ("two origins in one header", ORIGIN + ", https://evil.example"),
                      ("trailing space after the Origin", ORIGIN + " "),
                      ("upper-case IPv6 literal in Origin", "http://[::FFFF:7F00:1]:8080"),
                      ("unterminated IPv6 literal in Origin", "https://[::1"),
                      ("long IPv6 loopback form in Origin", "http://[0:0:0:0:0:0:0:1]:8080"),
                      ("dotted IPv4-mapped IPv6 in Origin", "http://[::ffff:127.0.0.1]:8080"),
                      ("plain http to IPv4-mapped loopback (not loopback)",
                       "http://[::ffff:7f00:1]:8080"),
                      ("Origin of 300 bytes", "https://" + "a" * 300 + ".example")):
    handshake_row(O, title + " is 403", http(403), origin=origin)
handshake_row(O, "Origin with a NUL inside is 403", http(403), origin=ORIGIN + "\0.evil.example")
handshake_row(O, "second Origin header after the allowed one is 403", http(403),
              extra_headers=["Origin: https://evil.example"])
for title, origin in (("lookalike suffix", "https://portal.example.evil"),
                      ("lookalike port", "https://portal.example:8443"),
                      ("punycode lookalike", "https://xn--prtal-8ve.example"),
                      ("other loopback address", "http://127.0.0.2:8080")):
    add(O, title + " may say hello only; the user sees it and it is refused after",
        consent_denied(origin))


HOSTS = (("trailing dot", "localhost.:{p}"), ("no port", "127.0.0.1"), ("no port on localhost",
         "localhost"), ("wrong port", "127.0.0.1:1"), ("port with a leading zero",
         "127.0.0.1:0{p}"), ("two ports", "127.0.0.1:{p}:{p}"), ("long IPv6 loopback",
         "[0:0:0:0:0:0:0:1]:{p}"), ("IPv4-mapped IPv6", "[::ffff:127.0.0.1]:{p}"),
         ("IPv6 without port", "[::1]"), ("short IPv4 form", "127.1:{p}"),
         ("decimal IPv4", "2130706433:{p}"), ("hexadecimal IPv4", "0x7f000001:{p}"),
         ("other loopback address", "127.0.0.2:{p}"), ("rebinding name", "evil.example:{p}"),
         ("rebinding name with our address inside", "127.0.0.1.nip.io:{p}"),
         ("rebinding subdomain of localhost", "localhost.evil.example:{p}"),
         ("suffix after the port", "127.0.0.1:{p}.evil.example"), ("empty", ""),
         ("trailing space", "127.0.0.1:{p} "), ("200 bytes", "127.0.0.1:{p}" + "x" * 200))


def host_row(title, template, expect):
    add("host", title, lambda: expect(host=template.format(p=G["daemon"].port)))


for title, template in HOSTS:
    host_row("Host " + title + " is 403", template, http(403))
host_row("Host LOCALHOST in capitals is a loopback name (admitted)", "LOCALHOST:{p}", upgraded)
add("host", "second Host header naming another site is 403",
    lambda: http(403)(extra_headers=["Host: evil.example:%d" % G["daemon"].port]))


def no_host_header():
    s = socket.create_connection(("127.0.0.1", G["daemon"].port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              b"Origin: " + ORIGIN.encode() + b"\r\nSec-WebSocket-Protocol: cardbridge.v1\r\n\r\n")
    head = s.recv(4096)
    s.close()
    assert b" 403 " in head.split(b"\r\n")[0], head[:80]


add("host", "missing Host header is 403", no_host_header)
handshake_row("host", "missing subprotocol is 403", http(403), protocol=None)
handshake_row("host", "subprotocol with a NUL inside is 403", http(403),
              protocol="cardbridge.v1\0x")
host_row("Host with a NUL inside is 403", "127.0.0.1:{p}\0.evil.example", http(403))
handshake_row("host", "other subprotocol is not upgraded", not_upgraded, protocol="chat")
handshake_row("host", "subprotocol in other case is not upgraded", not_upgraded,
              protocol="CARDBRIDGE.V1")

# Requests that are not HTTP/1.1 WebSocket upgrades ----------------------------

H = "http"


def raw_request(title, data, expect):
    """Raw bytes on a fresh TCP connection, before any handshake."""
    def run():
        s = socket.create_connection(("127.0.0.1", G["daemon"].port), timeout=10)
        try:
            s.sendall(data(G["daemon"].port) if callable(data) else data)
            expect(s)
        finally:
            s.close()
    add(H, title, run)


def status(code):
    def check(s):
        line = s.recv(4096).split(b"\r\n")[0]
        assert line.startswith(b"HTTP/1.") and (b" %d " % code) in line + b" ", line
    return check


def closed(s):
    s.settimeout(5)
    assert s.recv(4096) == b"", "answered instead of closed"


raw_request("h2c upgrade is 403 over HTTP/1.1, never 101",
            lambda p: b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: Upgrade, "
            b"HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAP__AAIAAAAA\r\n"
            b"\r\n" % p, status(403))
raw_request("HTTP/2 prior-knowledge preface is 403 over HTTP/1.1",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status(403))
raw_request("CONNECT request line (a raw socket for lws) is closed at once",
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", closed)
raw_request("plain HTTP GET is 403",
            lambda p: b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % p, status(403))

# cardbridge:// links (the URL handler) -----------------------------------

URLS = ("cardbridge://start/../../x", "cardbridge://evil?cmd=$(id)",
        "cardbridge://start?cmd=$(touch {canary})", "cardbridge://start/" + "a" * 10240,
        "cardbridge://start;touch%20{canary}", "cardbridge://start`touch {canary}`",
        "cardbridge://start\n--control-socket={canary}", "cardbridge://start#frag",
        "cardbridge://START", "CARDBRIDGE://start", "cardbridge://user@start",
        "cardbridge://start:48801", "cardbridge://%73tart", "cardbridge://st\u00e4rt",
        "cardbridge:start", "cardbridge:///start", "http://start", "file:///etc/passwd",
        "javascript:alert(1)", "")


def spawned_by(tag):
    """Processes whose environment carries our private directory: anything the
    handler started, directly or through a shell."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if tag.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def url_row(template):
    def run():
        top = tempfile.mkdtemp(prefix="cb-url-")
        canary = os.path.join(top, "pwned")
        url = template.format(canary=canary)
        runtime = os.path.join(top, "run")
        os.mkdir(runtime, 0o700)
        env = {"PATH": "/usr/bin:/bin", "HOME": top, "LANG": "C.UTF-8",
               "XDG_RUNTIME_DIR": runtime, "XDG_CONFIG_HOME": os.path.join(top, "config"),
               "XDG_STATE_HOME": os.path.join(top, "state"), "DISPLAY": ":cardbridge-test"}
        try:
            p = subprocess.run([CLI, "open", url], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, timeout=20)
            err = p.stderr.decode(errors="replace")
            assert p.returncode == 2, (p.returncode, err, p.stdout)
            assert "refusing the URL" in err, err
            assert (len(url) < 8 or url not in err) and canary not in err, \
                "the message quotes the URL: " + err
            time.sleep(0.05)
            assert spawned_by(top) == [], "the handler left processes behind"
            assert sorted(os.listdir(top)) == ["run"] and os.listdir(runtime) == [], \
                "the handler created files: %r" % os.listdir(top)
        finally:
            shutil.rmtree(top, ignore_errors=True)
    title = "cardbridge open %r is refused, starts nothing" % (template[:40] +
                                                                 ("..." if len(template) > 40
                                                                  else ""))
    add("url", title, run)


for u in URLS:
    url_row(u)


# --- the tests ---------------------------------------------------------------

def make_test(case):
    def test():
        try:
            case.run()
        finally:
            invariants()
    test.todo = case.todo
    return test


TESTS = {}
for number, case in enumerate(CASES, 1):
    name = "test_%s: %s" % (case.group, case.title)
    assert name not in TESTS, name
    TESTS[name] = make_test(case)


def test_the_catalogue_is_complete():
    groups = {}
    for c in CASES:
        groups[c.group] = groups.get(c.group, 0) + 1
    print("# %d rows: %s" % (len(CASES), ", ".join("%s %d" % kv for kv in groups.items())),
          flush=True)
    assert len(CASES) >= 40
    for g in ("frame", "json", "method", "certificate", "origin", "host", "http", "url"):
        assert groups.get(g, 0) >= 3, g


def test_no_helper_crash_and_no_pin_in_the_log():
    log = G["daemon"].read_log()
    assert "stopped unexpectedly" not in log, "the helper died during the catalogue"
    assert softhsm.PIN not in log
    assert G["daemon"].alive()


TESTS["test_the catalogue is complete"] = test_the_catalogue_is_complete
TESTS["test_no helper crash and no PIN in the log"] = test_no_helper_crash_and_no_pin_in_the_log


if __name__ == "__main__":
    why = softhsm.missing()
    if why:
        tap.skip_all(why)
    for program in (cbtest.DAEMON, cbtest.HELPER, CLI):
        if not os.access(program, os.X_OK):
            tap.skip_all(program + " not built")
    tap.run(TESTS, setup, teardown)

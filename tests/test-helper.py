#!/usr/bin/python3
"""Black-box tests of cardbridge-pkcs11-helper against SoftHSM2 tokens.

The helper is spawned over a socketpair exactly as cardbridged does
(doc/HELPER-IPC.md) and spoken to in frames.  Outcomes are checked with
independent tools: pkcs11-tool for what the token holds, openssl for CSRs
and certificates, python3-cryptography for key material.

Environment: CB_HELPER (the program), CB_SRCDIR, CB_BUILDDIR.  Without
SoftHSM2, pkcs11-tool or openssl the whole file is skipped.

The fault hook used by test_failure_after_keygen_leaves_nothing_on_the_token
is CB_HELPER_FAULT=after-keygen, honoured only with CB_HELPER_TESTING=1.
"""
import hashlib
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("CB_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDDIR = os.environ.get("CB_BUILDDIR") or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, "tests"))

import softhsm  # noqa: E402
import tap  # noqa: E402

HELPER = os.environ.get("CB_HELPER") or os.path.join(BUILDDIR, "pkcs11", "cardbridge-pkcs11-helper")
PINENTRY = os.path.join(SRCDIR, "tests", "fake-pinentry")
ORIGIN = "https://portal.example"
PIN = "cb-pin-4711"
TOKEN_A = "cardbridge A"
TOKEN_B = "cardbridge B"
# A SoftHSM token labelled like OpenSC's OpenPGP emulation: the helper must
# go by what the token reports (manufacturer, model), not by a label anyone
# can choose, so this one is an ordinary token.
TOKEN_PGP = "OpenPGP card (test)"

why = softhsm.missing()
if why is None and not os.access(HELPER, os.X_OK):
    why = "helper not built: %s" % HELPER
try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:
    why = why or "python3-cryptography missing"
if why:
    tap.skip_all(why)

hsm = None
work = None
generated = {}      # name -> {"token": label, "uri", "keyId", "publicKey", "csr"}
uris = {}           # token label -> uri


class Helper:
    """One helper process; frames in and out over a socketpair."""

    def __init__(self, modules=None, script=(), env=None, timeout=30, extra_args=(), token_env=None):
        fd, self.script = tempfile.mkstemp(dir=work, prefix="script-")
        os.write(fd, "".join(line + "\n" for line in script).encode())
        os.close(fd)
        fd, self.log = tempfile.mkstemp(dir=work, prefix="pinentry-log-")
        os.close(fd)
        self.stderr = open(os.path.join(work, "helper-stderr.log"), "ab")
        mine, theirs = socket.socketpair()
        argv = [HELPER]
        for module in modules if modules is not None else [softhsm.MODULE]:
            argv += ["--module", module]
        argv += ["--pinentry", PINENTRY, "--prompt-timeout", str(timeout),
                 "--log-level", "debug"] + list(extra_args)
        environ = dict(token_env or hsm.env, CB_PINENTRY_SCRIPT=self.script,
                       CB_PINENTRY_LOG=self.log, XDG_STATE_HOME=os.path.join(work, "state"))
        environ.update(env or {})
        self.proc = subprocess.Popen(argv, stdin=theirs, stdout=theirs, stderr=self.stderr,
                                     env=environ)
        theirs.close()
        self.sock = mine
        self.buf = b""
        self.answers = {}
        self.events = []
        self.progress = {}   # request id -> its progress reports, in order
        self.states = {}     # request id -> "running" / "waiting", in order
        self.late = []       # progress or state that came after its request's answer
        self.answered = set()
        self.next_id = 100

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, method, params=None, origin=ORIGIN, request_id=None):
        if request_id is None:
            self.next_id += 1
            request_id = self.next_id
        msg = {"id": request_id, "method": method, "origin": origin}
        if params is not None:
            msg["params"] = params
        data = json.dumps(msg).encode()
        self.send_raw(struct.pack(">I", len(data)) + data)
        return request_id

    def _read_frame(self, deadline):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return json.loads(frame)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the helper")
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("helper closed the link")
                self.buf += chunk

    def wait(self, request_id, timeout=60):
        deadline = time.monotonic() + timeout
        while request_id not in self.answers:
            msg = self._read_frame(deadline)
            if "event" in msg:
                self.events.append(msg["event"])
            elif "progress" in msg:
                if msg["id"] in self.answered:
                    self.late.append(msg)
                self.progress.setdefault(msg["id"], []).append(msg["progress"])
            elif "state" in msg:
                if msg["id"] in self.answered:
                    self.late.append(msg)
                self.states.setdefault(msg["id"], []).append(msg["state"])
            else:
                self.answers[msg["id"]] = msg
                self.answered.add(msg["id"])
        return self.answers.pop(request_id)

    def stages(self, request_id):
        """The stages request_id reported, as "stage" or "stage/pin"."""
        return [p["stage"] + ("/" + p["pin"] if "pin" in p else "")
                for p in self.progress.get(request_id, [])]

    def call(self, method, params=None, timeout=60, **kw):
        return self.wait(self.send(method, params, **kw), timeout)

    def dialog_log(self):
        with open(self.log, encoding="utf-8") as f:
            return f.read()

    def close(self, expect=0):
        """Close the link; the helper's exit status (its log tail is shown if unexpected)."""
        self.sock.close()
        try:
            rc = self.proc.wait(timeout=60)
        finally:
            self.stderr.close()
        if rc != expect:
            with open(self.stderr.name, errors="replace") as f:
                tail = f.read().splitlines()[-15:]
            print("# helper pid %d exited with %d; its log ends:" % (self.proc.pid, rc))
            for line in tail:
                print("#   " + line)
        return rc


def result(answer):
    assert "result" in answer, "expected a result, got %r" % (answer,)
    return answer["result"]


def error(answer, reason):
    assert "error" in answer, "expected %s, got %r" % (reason, answer)
    assert answer["error"]["reason"] == reason, "expected %s, got %r" % (reason, answer)
    return answer["error"]


def openssl(*args, stdin=None):
    p = subprocess.run(["openssl"] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, "openssl %s: %s" % (args[0], p.stderr.decode(errors="replace"))
    return p.stdout


def path(name):
    return os.path.join(work, name)


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path(name), mode) as f:
        f.write(data)
    return path(name)


def object_count(label):
    return len(hsm.objects(label, login=True))


def rsa_alg(bits):
    return {"type": "RSA", "bits": bits}


def ec_curve(curve):
    return {"type": "EC", "curve": curve}


def setup():
    global hsm, work
    hsm = softhsm.SoftHSM([TOKEN_A, TOKEN_B, TOKEN_PGP], pin=PIN)
    work = tempfile.mkdtemp(prefix="cb-helper-test-", dir=hsm.dir)
    # A test CA made with the openssl CLI.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"),
            "-out", path("ca.pem"), "-subj", "/CN=cardbridge Test CA", "-days", "3",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def teardown():
    if hsm is not None:
        hsm.cleanup()


def token_uri(label):
    if not uris:
        h = Helper()
        for t in result(h.call("tokens.list"))["tokens"]:
            uris[t["label"]] = t["uri"]
        h.close()
    return uris[label]


def issue(csr_pem, name, days=30, ca=True):
    """The test CA's certificate for csr_pem, as PEM text."""
    out = path(name + ".pem")
    openssl("x509", "-req", "-in", write(name + ".csr", csr_pem), "-CA", path("ca.pem"),
            "-CAkey", path("ca.key"), "-set_serial", "0x%x" % int.from_bytes(os.urandom(8), "big"),
            "-days", str(days), "-out", out)
    with open(out) as f:
        return f.read()


def issue_expired(csr_pem):
    """A certificate for csr_pem that expired yesterday (openssl CLI cannot backdate)."""
    import datetime
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    with open(path("ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(path("ca.pem"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def nss_key_id(public_key):
    if isinstance(public_key, rsa.RSAPublicKey):
        n = public_key.public_numbers().n
        data = n.to_bytes((n.bit_length() + 7) // 8, "big")
    else:
        data = public_key.public_bytes(serialization.Encoding.X962,
                                       serialization.PublicFormat.UncompressedPoint)
    return hashlib.sha1(data).hexdigest()


def spki_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def generate(name, label, algorithm, subject=None, key_label=None):
    """keys.generate on the token, timed; stores and returns the result."""
    h = Helper(script=["pin " + PIN])
    params = {"token": token_uri(label), "algorithm": algorithm,
              "subject": subject or {"CN": "Test " + name}}
    if key_label:
        params["label"] = key_label
    start = time.monotonic()
    answer = h.call("keys.generate", params, timeout=300)
    elapsed = time.monotonic() - start
    log = h.dialog_log()
    assert h.close() == 0
    res = result(answer)
    print("# timing: %s keygen+CSR on SoftHSM: %.2f s" % (name, elapsed), flush=True)
    res.update(token=label, uri=token_uri(label), dialog=log, seconds=elapsed)
    generated[name] = res
    return res


def check_generated(res, expect_rsa_bits=None, expect_curve=None):
    """CSR verifies; its key is the token's key; key id and attributes as promised."""
    openssl("req", "-verify", "-noout", "-in", write("check.csr", res["csr"]))
    csr = x509.load_pem_x509_csr(res["csr"].encode())
    assert csr.is_signature_valid
    token_der = hsm.read_public_key(res["token"], res["keyId"])
    token_key = serialization.load_der_public_key(token_der)
    assert spki_der(csr.public_key()) == spki_der(token_key), "CSR key is not the token's key"
    returned = serialization.load_pem_public_key(res["publicKey"].encode())
    assert spki_der(returned) == spki_der(token_key), "publicKey is not the token's key"
    assert res["keyId"] == nss_key_id(token_key), "keyId is not SHA-1 of the public key"
    if expect_rsa_bits:
        assert isinstance(token_key, rsa.RSAPublicKey) and token_key.key_size == expect_rsa_bits
        assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    if expect_curve:
        assert isinstance(token_key, ec.EllipticCurvePublicKey)
        assert token_key.curve.name == expect_curve
    check_key_attributes(res["token"], res["keyId"], rsa_key=bool(expect_rsa_bits))


def check_key_attributes(label, key_id, rsa_key):
    mine = [o for o in hsm.objects(label, login=True) if o["id"] == key_id]
    kinds = sorted(o["kind"] for o in mine)
    assert kinds == ["Private Key", "Public Key"], "objects with the key id: %r" % mine
    priv = [o for o in mine if o["kind"] == "Private Key"][0]
    pub = [o for o in mine if o["kind"] == "Public Key"][0]
    for flag in ("sensitive", "always sensitive", "never extractable", "local"):
        assert flag in priv["access"], "private key not %s: %r" % (flag, priv)
    assert "extractable" not in priv["access"]
    wanted = ("sign", "decrypt") if rsa_key else ("sign", "derive")
    for use in wanted:
        assert use in priv["usage"], "private key cannot %s: %r" % (use, priv)
    for use in (("verify", "encrypt") if rsa_key else ("verify",)):
        assert use in pub["usage"], "public key cannot %s: %r" % (use, pub)
    # CKA_PRIVATE: without a login the private key is invisible, the public one is not.
    public_view = [o for o in hsm.objects(label, login=False) if o["id"] == key_id]
    assert [o["kind"] for o in public_view] == ["Public Key"], public_view


# --- hello and tokens.list ---------------------------------------------------

def test_hello_reports_the_module_ok_and_bogus_modules_failed_without_dying():
    bogus_file = write("not-a-module.so", b"\x7fELF this is not a library")
    h = Helper(modules=[softhsm.MODULE, "/nonexistent/pkcs11.so", bogus_file, work])
    modules = result(h.call("hello"))["modules"]
    by_path = {m["path"]: m for m in modules}
    assert len(modules) == 4
    assert by_path[softhsm.MODULE]["ok"] is True and by_path[softhsm.MODULE]["error"] is None
    assert by_path[softhsm.MODULE]["manufacturer"] == "SoftHSM"
    for bad in ("/nonexistent/pkcs11.so", bogus_file, work):
        assert by_path[bad]["ok"] is False and by_path[bad]["error"], by_path[bad]
    assert "regular file" in by_path[work]["error"]
    # Still serving the good module.
    assert len(result(h.call("tokens.list"))["tokens"]) == 3
    assert h.close() == 0


def test_tokens_list_gives_uri_reader_strings_flags_and_key_types():
    h = Helper()
    tokens = result(h.call("tokens.list"))["tokens"]
    assert h.close() == 0
    assert sorted(t["label"] for t in tokens) == sorted([TOKEN_A, TOKEN_B, TOKEN_PGP])
    for t in tokens:
        label = t["label"].replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        assert t["uri"].startswith("pkcs11:") and "token=" + label in t["uri"], t["uri"]
        assert "serial=" + t["serial"] in t["uri"]
        assert t["manufacturer"] == "SoftHSM project" and t["model"] == "SoftHSM v2"
        assert t["reader"].startswith("SoftHSM slot ID"), t["reader"]
        assert re.fullmatch(r"[0-9a-f]{16}", t["serial"]), t["serial"]
        assert t["flags"] == {"loginRequired": True, "protectedAuthPath": False,
                              "pinCountLow": False, "pinFinalTry": False, "pinLocked": False,
                              "writeProtected": False}, t["flags"]
        assert t["keyTypes"] == [{"type": "RSA", "bits": [2048, 3072, 4096]},
                                 {"type": "EC", "curves": ["P-256", "P-384"]}], t["keyTypes"]
        uris[t["label"]] = t["uri"]


def test_tokens_list_announces_tokens_changed_when_a_token_goes_away():
    other = softhsm.SoftHSM(["changing 1", "changing 2"])
    try:
        h = Helper(token_env=other.env)
        assert len(result(h.call("tokens.list"))["tokens"]) == 2
        assert len(result(h.call("tokens.list"))["tokens"]) == 2
        assert h.events == []
        other.run(["softhsm2-util", "--delete-token", "--token", "changing 1"])
        tokens = result(h.call("tokens.list"))["tokens"]
        assert [t["label"] for t in tokens] == ["changing 2"], tokens
        assert h.events == ["tokensChanged"], h.events
        assert h.close() == 0
    finally:
        other.cleanup()


# --- keys.generate -------------------------------------------------------------

def test_rsa_2048_keygen_gives_a_csr_signed_on_the_token_for_the_token_key():
    res = generate("RSA-2048", TOKEN_A, rsa_alg(2048),
                   {"CN": "Zoë Test", "emailAddress": "zoe@example.com", "C": "pl",
                    "O": "Example Sp. z o.o.", "serialNumber": "PNOPL-12345"}, key_label="Zoë key")
    check_generated(res, expect_rsa_bits=2048)
    csr = x509.load_pem_x509_csr(res["csr"].encode())
    rdns = [(a.oid.dotted_string, a.value, a._type.name) for a in csr.subject]
    assert rdns == [("2.5.4.6", "PL", "PrintableString"),
                    ("2.5.4.10", "Example Sp. z o.o.", "UTF8String"),
                    ("2.5.4.3", "Zoë Test", "UTF8String"),
                    ("2.5.4.5", "PNOPL-12345", "PrintableString"),
                    ("1.2.840.113549.1.9.1", "zoe@example.com", "IA5String")], rdns
    labels = {o["label"] for o in hsm.objects(TOKEN_A) if o["id"] == res["keyId"]}
    assert labels == {"Zoë key"}, labels


def test_the_pin_dialog_names_origin_operation_token_and_pin_but_never_logs_the_pin():
    log = generated["RSA-2048"]["dialog"]
    serial = token_uri(TOKEN_A).split("serial=")[1].split(";")[0]
    assert "SETTITLE cardbridge: %s\n" % ORIGIN in log
    desc = [line for line in log.splitlines() if line.startswith("SETDESC ")]
    assert len(desc) == 1, log
    for part in (ORIGIN, "generate an RSA 2048 key pair", '"%s"' % TOKEN_A, serial, "user PIN"):
        assert part in desc[0], "%r not in %r" % (part, desc[0])
    assert "SETPROMPT User PIN:" in log
    assert "SETTIMEOUT 30" in log
    assert PIN not in log
    with open(os.path.join(work, "helper-stderr.log"), encoding="utf-8", errors="replace") as f:
        assert PIN not in f.read()


def test_rsa_3072_keygen():
    check_generated(generate("RSA-3072", TOKEN_A, rsa_alg(3072)), expect_rsa_bits=3072)


def test_rsa_4096_keygen():
    check_generated(generate("RSA-4096", TOKEN_A, rsa_alg(4096)), expect_rsa_bits=4096)


def test_ec_p256_keygen_signs_with_ecdsa_on_the_token():
    res = generate("P-256", TOKEN_B, ec_curve("P-256"))
    check_generated(res, expect_curve="secp256r1")
    assert isinstance(x509.load_pem_x509_csr(res["csr"].encode()).signature_hash_algorithm,
                      hashes.SHA256)


def test_ec_p384_keygen():
    check_generated(generate("P-384", TOKEN_B, ec_curve("P-384")), expect_curve="secp384r1")


def test_without_a_label_the_key_is_named_after_a_cjk_common_name_of_22_characters():
    cn = "山田太郎電子署名用鍵証明書発行申請者本人確認"  # 22 characters, 66 bytes of UTF-8
    assert len(cn) == 22 and len(cn.encode()) == 66
    res = generate("CJK", TOKEN_A, ec_curve("P-256"), {"CN": cn})
    check_generated(res, expect_curve="secp256r1")
    labels = {o["label"] for o in hsm.objects(TOKEN_A) if o["id"] == res["keyId"]}
    assert labels == {cn}, labels


def test_bad_keygen_params_are_refused_before_any_pin_dialog():
    h = Helper(script=["pin " + PIN])
    uri = token_uri(TOKEN_A)
    cases = [
        ({"token": uri, "algorithm": rsa_alg(1024)}, "UNSUPPORTED_ALGORITHM", "2048"),
        ({"token": uri, "algorithm": {"type": "DSA", "bits": 2048}}, "UNSUPPORTED_ALGORITHM", "type"),
        ({"token": uri, "algorithm": ec_curve("P-521")}, "UNSUPPORTED_ALGORITHM", "P-256"),
        ({"token": uri, "algorithm": {"type": "RSA"}}, "INVALID_PARAMS", "algorithm.bits"),
        ({"token": uri, "algorithm": {"type": "RSA", "bits": "2048"}}, "INVALID_PARAMS", "algorithm.bits"),
        ({"algorithm": rsa_alg(2048)}, "INVALID_PARAMS", "params.token"),
        ({"token": uri, "algorithm": rsa_alg(2048), "subject": {"C": "POL"}}, "INVALID_PARAMS", "subject.C"),
        ({"token": uri, "algorithm": rsa_alg(2048), "subject": {"CN": "a\u0007b"}}, "INVALID_PARAMS", "subject.CN"),
        ({"token": uri, "algorithm": rsa_alg(2048), "subject": {"CN": "x" * 65}}, "INVALID_PARAMS", "subject.CN"),
        ({"token": uri, "algorithm": rsa_alg(2048), "subject": {"emailAddress": "no-at-sign"}},
         "INVALID_PARAMS", "subject.emailAddress"),
        ({"token": uri, "algorithm": rsa_alg(2048), "subject": {"XX": "y"}}, "INVALID_PARAMS", "XX"),
        ({"token": uri, "algorithm": rsa_alg(2048), "label": "bad\nlabel"}, "INVALID_PARAMS", "params.label"),
        ({"token": "pkcs11:token=nope", "algorithm": rsa_alg(2048)}, "TOKEN_NOT_PRESENT", "token"),
        ({"token": "file:///etc/passwd", "algorithm": rsa_alg(2048)}, "INVALID_PARAMS", "params.token"),
        ({"token": uri + ";id=%01", "algorithm": rsa_alg(2048)}, "INVALID_PARAMS", "params.token"),
        ({"token": "pkcs11:model=SoftHSM%20v2", "algorithm": rsa_alg(2048)}, "INVALID_PARAMS",
         "tokens; name one"),
    ]
    before = object_count(TOKEN_A)
    for params, reason, named in cases:
        err = error(h.call("keys.generate", params), reason)
        assert named in err["message"], "%r does not name %r" % (err["message"], named)
    assert "START" not in h.dialog_log(), "a PIN dialog was shown"
    assert h.close() == 0
    assert object_count(TOKEN_A) == before


def test_a_token_only_labelled_like_an_openpgp_card_is_an_ordinary_token():
    uri = token_uri(TOKEN_PGP)
    params = {"token": uri, "algorithm": ec_curve("P-256"), "overwrite": True}
    h = Helper(script=["pin " + PIN, "pin " + PIN])
    first = result(h.call("keys.generate", params))
    second = result(h.call("keys.generate", params))
    log = h.dialog_log()
    assert h.close() == 0
    # New objects with NSS-style ids, the user PIN, and no key slot in the words.
    for res in (first, second):
        key = serialization.load_pem_public_key(res["publicKey"].encode())
        assert res["keyId"] == nss_key_id(key), res["keyId"]
    assert first["keyId"] != second["keyId"]
    assert "SETPROMPT User PIN:" in log and "Admin PIN" not in log and "key slot" not in log


def test_wrong_pin_is_asked_again_and_the_third_is_pin_incorrect_writing_nothing():
    before = object_count(TOKEN_A)
    h = Helper(script=["pin wrong-pin-1", "pin wrong-pin-2", "pin wrong-pin-3", "pin " + PIN])
    err = error(h.call("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": ec_curve("P-256")}),
                "PIN_INCORRECT")
    assert "retriesLeft" not in err  # SoftHSM does not tell
    log = h.dialog_log()
    assert log.count("GETPIN -> pin") == 3, log  # three dialogs, the fourth line unused
    # SoftHSM sets CKF_USER_PIN_COUNT_LOW after a wrong PIN (it never locks).
    assert log.count("SETERROR Wrong PIN. Only a few tries are left before the PIN is locked.") \
        == 2, log
    # A PIN shorter than the token's minimum never reaches C_Login; the next dialog says why.
    h2 = Helper(script=["pin 12", "pin 12", "pin 12"])
    error(h2.call("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": ec_curve("P-256")}),
          "PIN_INVALID")
    assert "SETERROR The PIN must have at least 4 characters." in h2.dialog_log()
    assert h.close() == 0 and h2.close() == 0
    assert object_count(TOKEN_A) == before


def test_wrong_then_right_pin_succeeds_and_the_pin_is_never_sent_twice():
    h = Helper(script=["pin wrong-pin", "pin " + PIN])
    request = h.send("keys.generate", {"token": token_uri(TOKEN_B), "algorithm": ec_curve("P-256")})
    res = result(h.wait(request))
    log = h.dialog_log()
    assert h.close() == 0
    assert log.count("START") == 2 and "SETERROR Wrong PIN. " in log, log
    generated["retried-P-256"] = dict(res, token=TOKEN_B)
    # The second dialog is the same PIN still: its stages go once, all before the answer.
    assert h.stages(request) == ["waitingForPin/user", "pinAccepted/user", "generatingKey",
                                 "signingRequest"], h.progress
    assert not h.late, h.late


def test_requests_that_ask_for_nothing_report_no_progress():
    h = Helper()
    listed = h.send("tokens.list")
    result(h.wait(listed))
    certs = h.send("certificates.list", {"token": token_uri(TOKEN_A)})
    result(h.wait(certs))
    refused = h.send("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": rsa_alg(1024)})
    h.wait(refused)
    assert h.close() == 0
    assert h.progress == {}, h.progress


def test_cancelled_dialog_is_user_cancelled_and_leaves_no_objects():
    before = object_count(TOKEN_A)
    h = Helper(script=["cancel"])
    error(h.call("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": rsa_alg(2048)}),
          "USER_CANCELLED")
    assert "GETPIN -> cancel" in h.dialog_log()
    assert h.close() == 0
    assert object_count(TOKEN_A) == before


def test_failure_after_keygen_leaves_nothing_on_the_token():
    before = hsm.objects(TOKEN_A, login=True)
    h = Helper(script=["pin " + PIN], env={"CB_HELPER_TESTING": "1",
                                           "CB_HELPER_FAULT": "after-keygen"})
    err = error(h.call("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": rsa_alg(2048)}),
                "INTERNAL_ERROR")
    assert "fault" in err["message"]
    assert h.close() == 0
    assert hsm.objects(TOKEN_A, login=True) == before
    # The hook is inert unless CB_HELPER_TESTING=1.
    h = Helper(script=["pin " + PIN], env={"CB_HELPER_FAULT": "after-keygen"})
    res = result(h.call("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": ec_curve("P-256")}))
    assert h.close() == 0
    assert len(hsm.objects(TOKEN_A, login=True)) == len(before) + 2
    generated["unused-P-256"] = dict(res, token=TOKEN_A)


def starts(h):
    return h.dialog_log().count("START")


def test_one_dialog_at_a_time_and_cancel_ends_a_waiting_dialog():
    before_a = object_count(TOKEN_A)
    h = Helper(script=["hang", "pin " + PIN])
    slow = h.send("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": ec_curve("P-256")})
    deadline = time.monotonic() + 20
    while "GETPIN -> hang" not in h.dialog_log():
        assert time.monotonic() < deadline, "first dialog never opened"
        time.sleep(0.05)
    # While token A waits on its dialog, tokens.list is served...
    assert len(result(h.call("tokens.list", timeout=10))["tokens"]) == 3
    # ...but token B's dialog waits for A's: one dialog on the screen at a time.
    second = h.send("keys.generate", {"token": token_uri(TOKEN_B), "algorithm": ec_curve("P-256")})
    time.sleep(1.5)
    assert starts(h) == 1, h.dialog_log()
    assert slow not in h.answers and second not in h.answers
    cancelled = result(h.call("cancel", {"id": slow}, timeout=10))
    assert cancelled == {"cancelled": True}
    error(h.wait(slow, timeout=20), "USER_CANCELLED")
    res = result(h.wait(second, timeout=60))
    assert starts(h) == 2
    # The second request said it waited for the first one's dialog, and then went on.
    assert h.stages(second) == ["waitingForDialog", "waitingForPin/user", "pinAccepted/user",
                                "generatingKey", "signingRequest"], h.progress
    assert h.stages(slow) == ["waitingForPin/user"], h.progress
    generated["concurrent-P-256"] = dict(res, token=TOKEN_B)
    assert result(h.call("cancel", {"id": 999999}, timeout=10)) == {"cancelled": False}
    assert h.close() == 0
    assert object_count(TOKEN_A) == before_a


def test_a_request_waiting_for_the_dialog_gives_busy_after_the_prompt_timeout():
    h = Helper(script=["hang"], timeout=2)
    slow = h.send("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": ec_curve("P-256")})
    deadline = time.monotonic() + 20
    while "GETPIN -> hang" not in h.dialog_log():
        assert time.monotonic() < deadline, "first dialog never opened"
        time.sleep(0.05)
    start = time.monotonic()
    err = error(h.call("keys.generate", {"token": token_uri(TOKEN_B), "algorithm": ec_curve("P-256")},
                       timeout=30), "BUSY")
    waited = time.monotonic() - start
    assert 1.5 < waited < 6, waited
    assert "dialog" in err["message"]
    error(h.wait(slow, timeout=30), "TIMEOUT")
    assert starts(h) == 1
    assert h.close() == 0


def test_a_dialog_does_not_outlive_a_killed_helper():
    # The dialog starts with no signal blocked and SIGTERM as its
    # parent-death signal; killed as the daemon kills a hung helper.
    dialog_goes_with_the_helper({}, "blocked=none deathsig=term ")


def dialog_goes_with_the_helper(env, state):
    """Kill a helper whose dialog hangs; the dialog (started in this state) must go."""
    h = Helper(script=["hang"], env=env or None)
    h.send("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": ec_curve("P-256")})
    deadline = time.monotonic() + 20
    while "GETPIN -> hang" not in h.dialog_log():
        assert time.monotonic() < deadline, "the dialog never opened"
        time.sleep(0.05)
    start = re.search(r"START pid=(\d+) (.*)", h.dialog_log())
    pid = int(start.group(1))
    assert state in start.group(2), start.group(0)
    t0 = time.monotonic()
    h.proc.kill()
    h.close(expect=-9)
    deadline = time.monotonic() + 15
    while os.path.exists("/proc/%d" % pid) and not is_zombie(pid):
        if time.monotonic() > deadline:
            detail = proc_state(pid)
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("pinentry %d outlived the helper: %s; its log: %s"
                                 % (pid, detail, h.dialog_log()))
        time.sleep(0.05)
    print("# dialog (%s) gone %.0f ms after the helper was killed"
          % (state, (time.monotonic() - t0) * 1000))
    return h.dialog_log()


def test_without_its_death_signal_a_dialog_is_still_ended_by_its_guard():
    log = dialog_goes_with_the_helper({"CB_PINENTRY_NO_DEATHSIG": "1"}, "deathsig=none")
    assert log.rstrip().endswith("TERM"), log


def test_a_dialog_that_ignores_sigterm_is_killed_when_the_helper_dies():
    log = dialog_goes_with_the_helper({"CB_PINENTRY_IGNORE_TERM": "1"}, "ignored=pipe,term")
    assert "TERM" not in log, log


def test_a_finished_dialog_leaves_no_process_behind():
    h = Helper(script=["pin " + PIN])
    res = result(h.call("keys.generate", {"token": token_uri(TOKEN_B),
                                          "algorithm": ec_curve("P-256")}))
    generated["guard-P-256"] = dict(res, token=TOKEN_B)
    # The helper, its dialog and the dialog's guard all carry this Helper's
    # environment (its own log file): once the answer is in, only the
    # helper, which lives on, may be left.
    mine = ("CB_PINENTRY_LOG=" + h.log).encode()
    deadline = time.monotonic() + 10
    while True:
        left = [pid for pid in processes_with_env(mine) if not is_zombie(pid)]
        if left == [h.proc.pid]:
            break
        assert time.monotonic() < deadline, "left running besides the helper: %r" % left
        time.sleep(0.05)
    assert h.close() == 0


def processes_with_env(entry):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/environ" % name, "rb") as f:
                    if entry in f.read().split(b"\0"):
                        found.append(int(name))
            except OSError:
                pass
    return found


def proc_state(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return " ".join(line.strip() for line in f
                            if line.split(":")[0] in ("State", "PPid", "SigQ", "SigPnd", "ShdPnd",
                                                      "SigBlk", "SigIgn", "SigCgt", "NoNewPrivs"))
    except OSError as e:
        return str(e)


def is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_hung_dialog_times_out():
    h = Helper(script=["hang"], timeout=1)
    start = time.monotonic()
    error(h.call("keys.generate", {"token": token_uri(TOKEN_A), "algorithm": ec_curve("P-256")},
                 timeout=30), "TIMEOUT")
    assert time.monotonic() - start < 15
    assert h.close() == 0


# --- certificates.install -----------------------------------------------------

def certificates_on(label):
    return [o for o in hsm.objects(label, login=False) if o["kind"] == "Certificate"]


def test_install_puts_the_issued_certificate_next_to_its_key():
    gen = generated["RSA-2048"]
    cert_pem = issue(gen["csr"], "rsa2048-cert")
    gen["cert"] = cert_pem
    h = Helper(script=["pin " + PIN])
    request = h.send("certificates.install", {"token": gen["uri"], "certificate": cert_pem})
    res = result(h.wait(request))
    log = h.dialog_log()
    assert h.close() == 0
    assert h.stages(request) == ["waitingForPin/user", "pinAccepted/user",
                                 "writingCertificate"], h.progress
    assert res["token"] == gen["uri"] and res["keyId"] == gen["keyId"]
    assert res["alreadyPresent"] == [] and res["notStored"] == []
    assert len(res["installed"]) == 1
    entry = res["installed"][0]
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    assert entry["keyId"] == gen["keyId"]
    assert entry["issuer"] == "CN=cardbridge Test CA"
    assert "CN=Zoë Test" in entry["subject"], entry["subject"]
    assert int(entry["serial"], 16) == cert.serial_number
    assert "asks to store the certificate for Zoë Test issued by cardbridge Test CA on the token" \
        in log, log
    on_token = [o for o in certificates_on(TOKEN_A) if o["id"] == gen["keyId"]]
    assert len(on_token) == 1, certificates_on(TOKEN_A)
    assert on_token[0]["label"] == "Zoë key", on_token  # the key's label
    der = hsm.tool(TOKEN_A, "--read-object", "--type", "cert", "--id", gen["keyId"],
                   "-o", path("read-back.der"))
    assert der is not None
    with open(path("read-back.der"), "rb") as f:
        assert f.read() == cert.public_bytes(serialization.Encoding.DER)


def test_installing_the_same_certificate_again_is_already_present_without_a_pin():
    gen = generated["RSA-2048"]
    before = certificates_on(TOKEN_A)
    h = Helper(script=[])
    res = result(h.call("certificates.install", {"certificate": gen["cert"]}))
    assert "START" not in h.dialog_log(), "asked for a PIN"
    assert h.close() == 0
    assert res["installed"] == [] and len(res["alreadyPresent"]) == 1
    assert res["alreadyPresent"][0]["keyId"] == gen["keyId"]
    assert certificates_on(TOKEN_A) == before


def test_install_without_token_finds_the_key_and_stores_ca_certificates_from_the_chain():
    gen = generated["P-256"]
    cert_pem = issue(gen["csr"], "p256-cert")
    other = issue(generated["RSA-3072"]["csr"], "rsa3072-cert")  # not a CA
    with open(path("ca.pem")) as f:
        ca_pem = f.read()
    h = Helper(script=["pin " + PIN])
    res = result(h.call("certificates.install", {"certificate": cert_pem, "chain": [ca_pem, other],
                                                 "label": "My EC cert"}))
    assert h.close() == 0
    assert res["token"] == token_uri(TOKEN_B) and res["keyId"] == gen["keyId"]
    assert [e["subject"] for e in res["installed"]] == ["CN=Test P-256", "CN=cardbridge Test CA"]
    assert "keyId" not in res["installed"][1]
    assert res["notStored"] == [{"subject": "CN=Test RSA-3072", "reason": "not a CA certificate"}]
    certs = {o["label"]: o for o in certificates_on(TOKEN_B)}
    assert certs["My EC cert"]["id"] == gen["keyId"]
    assert "cardbridge Test CA" in certs
    assert not certificates_on(TOKEN_A) or all(o["label"] != "My EC cert" for o in certificates_on(TOKEN_A))


def test_install_of_a_certificate_for_a_foreign_key_is_key_not_found_and_writes_nothing():
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("foreign.key"),
            "-out", path("foreign.pem"), "-subj", "/CN=foreign", "-days", "2")
    with open(path("foreign.pem")) as f:
        foreign = f.read()
    before = (object_count(TOKEN_A), object_count(TOKEN_B))
    h = Helper(script=["pin " + PIN])
    error(h.call("certificates.install", {"certificate": foreign}), "KEY_NOT_FOUND")
    error(h.call("certificates.install", {"token": token_uri(TOKEN_B),
                                          "certificate": generated["RSA-2048"]["cert"]}),
          "KEY_NOT_FOUND")
    assert "START" not in h.dialog_log()
    assert h.close() == 0
    assert (object_count(TOKEN_A), object_count(TOKEN_B)) == before


def outer_sig_alg_changed(der):
    """der with the unsigned outer signatureAlgorithm made SHA-384 (same length)."""
    for oid in (b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b",   # sha256WithRSA
                b"\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"):      # ecdsa-with-SHA256
        at = der.rfind(oid)
        if at > 0 and der.find(oid) != at:
            last = at + len(oid) - 1
            return der[:last] + bytes([der[last] + 1]) + der[last + 1:]
    raise AssertionError("no SHA-256 signature algorithm found in and after the TBS part")


def test_install_refuses_garbage_truncated_and_expired_input_naming_the_problem():
    gen = generated["RSA-4096"]
    good = issue(gen["csr"], "rsa4096-cert")
    der = x509.load_pem_x509_certificate(good.encode()).public_bytes(serialization.Encoding.DER)
    import base64
    lines = good.strip().splitlines()
    cases = [
        ("hello, world", "neither PEM nor base64"),
        (base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), "not an X.509 certificate"),
        (base64.b64encode(der[:len(der) // 2]).decode(), "truncated"),
        (base64.b64encode(der + b"\x00\x00").decode(), "trailing data"),
        ("\n".join(lines[:len(lines) // 2]) + "\n", "not a PEM CERTIFICATE"),
        (good.replace("CERTIFICATE", "PUBLIC KEY"), "not a PEM CERTIFICATE"),
        (good + good, "more than one"),
        (base64.b64encode(outer_sig_alg_changed(der)).decode(), "two different signature"),
    ]
    expired = issue_expired(gen["csr"])
    before = object_count(TOKEN_A)
    h = Helper(script=["pin " + PIN])
    for text, named in cases:
        err = error(h.call("certificates.install", {"certificate": text}), "INVALID_PARAMS")
        assert named in err["message"] and "params.certificate" in err["message"], err
    err = error(h.call("certificates.install", {"certificate": expired}), "INVALID_PARAMS")
    assert "expired" in err["message"], err
    err = error(h.call("certificates.install", {"certificate": good, "chain": ["junk"]}),
                "INVALID_PARAMS")
    assert "params.chain[0]" in err["message"], err
    assert "START" not in h.dialog_log()
    assert object_count(TOKEN_A) == before
    # Base64 DER is accepted, and allowExpired lets an expired certificate in.
    res = result(h.call("certificates.install", {"certificate": base64.b64encode(der).decode()}))
    assert len(res["installed"]) == 1
    open(h.script, "w").write("pin %s\n" % PIN)
    # The key has the certificate just installed: a second one only with "add".
    error(h.call("certificates.install", {"certificate": expired, "allowExpired": True}),
          "KEY_HAS_CERTIFICATE")
    res = result(h.call("certificates.install", {"certificate": expired, "allowExpired": True,
                                                 "add": True}))
    assert len(res["installed"]) == 1
    assert h.close() == 0


# --- certificates.list --------------------------------------------------------

def test_certificates_list_shows_installed_certificates_with_key_ids_without_a_pin():
    h = Helper(script=[])
    listing = result(h.call("certificates.list", {"token": token_uri(TOKEN_A)}))["certificates"]
    everything = result(h.call("certificates.list"))["certificates"]
    assert "START" not in h.dialog_log()
    assert h.close() == 0
    gen = generated["RSA-2048"]
    mine = [c for c in listing if c["keyId"] == gen["keyId"]]
    assert len(mine) == 1, listing
    c = mine[0]
    assert c["token"] == gen["uri"] and c["hasPrivateKey"] is True
    assert c["label"] == "Zoë key" and c["issuer"] == "CN=cardbridge Test CA"
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.fullmatch(iso, c["notBefore"]) and re.fullmatch(iso, c["notAfter"]), c
    cert = x509.load_pem_x509_certificate(gen["cert"].encode())
    assert c["notAfter"] == cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(c["token"] == gen["uri"] for c in listing)
    ca = [c for c in everything if c["subject"] == "CN=cardbridge Test CA"]
    # A CA certificate is stored under the ID its own key would have, which no key here has.
    assert len(ca) == 1 and ca[0]["hasPrivateKey"] is False, ca
    assert re.fullmatch(r"[0-9a-f]{40}", ca[0]["keyId"]), ca
    assert ca[0]["keyId"] not in {g.get("keyId") for g in generated.values()}, ca
    assert len(everything) == len(listing) + 2  # token B: the EC certificate and the CA


# --- origin.confirm -------------------------------------------------------------

def test_origin_confirm_asks_with_three_buttons_and_answers_the_decision():
    h = Helper(script=["confirm", "notok", "deny"])
    answers = [result(h.call("origin.confirm", {}))["decision"] for _ in range(3)]
    log = h.dialog_log()
    assert answers == ["always", "once", "deny"], answers
    assert log.count("SETDESC Allow %s to use your smart cards?\\n\\n" % ORIGIN) == 3, log
    for line in ("SETOK _Always allow", "SETNOTOK Allow _once", "SETCANCEL _Deny",
                 "SETTITLE cardbridge: " + ORIGIN):
        assert log.count(line + "\n") == 3, (line, log)
    assert "GETPIN" not in log
    assert h.close() == 0


def test_origin_confirm_times_out_is_cancelled_and_checks_its_input():
    h = Helper(script=["hang", "hang"], timeout=1)
    error(h.call("origin.confirm", {}, timeout=30), "TIMEOUT")
    slow = h.send("origin.confirm", {})
    deadline = time.monotonic() + 20
    while h.dialog_log().count("CONFIRM -> hang") < 2:
        assert time.monotonic() < deadline, "second dialog never opened"
        time.sleep(0.05)
    result(h.call("cancel", {"id": slow}, timeout=10))
    error(h.wait(slow, timeout=20), "USER_CANCELLED")
    assert "params" in error(h.call("origin.confirm", {"origin": "x"}), "INVALID_PARAMS")["message"]
    assert "origin" in error(h.call("origin.confirm", {}, origin=""), "INVALID_PARAMS")["message"]
    assert "origin" in error(h.call("origin.confirm", {}, origin="https://a\x07b"),
                             "INVALID_PARAMS")["message"]
    assert h.dialog_log().count("START") == 2
    assert h.close() == 0


# --- the link itself --------------------------------------------------------------

def test_malformed_json_and_unknown_methods_get_errors_and_the_helper_lives_on():
    h = Helper()

    def frame(text):
        data = text.encode()
        h.send_raw(struct.pack(">I", len(data)) + data)

    frame("this is not json")                                   # no id: dropped
    frame('{"id": 7, "method": 5}')
    error(h.wait(7), "INVALID_PARAMS")
    frame('{"id": 8, "method": "tokens.list", "params": "x"}')
    assert "params" in error(h.wait(8), "INVALID_PARAMS")["message"]
    frame('{"id": 9}')
    assert "method" in error(h.wait(9), "INVALID_PARAMS")["message"]
    frame('{"id": 10, "method": "keys.destroyEverything"}')
    error(h.wait(10), "METHOD_NOT_FOUND")
    frame('{"id": 11, "method": "cancel", "params": {}}')
    error(h.wait(11), "INVALID_PARAMS")
    assert result(h.call("hello"))["modules"][0]["ok"] is True
    assert h.close() == 0


def test_a_malformed_frame_ends_the_helper_with_status_1():
    h = Helper()
    h.send_raw(struct.pack(">I", 2 * 1024 * 1024) + b"{}")
    assert h.proc.wait(timeout=10) == 1
    h.close(expect=1)
    h = Helper()
    h.send_raw(struct.pack(">I", 0))
    assert h.proc.wait(timeout=10) == 1
    h.close(expect=1)


def test_the_helper_process_cannot_dump_core():
    h = Helper()
    result(h.call("hello"))
    with open("/proc/%d/limits" % h.proc.pid) as f:
        core = [line.split()[4:6] for line in f if line.startswith("Max core file size")]
    assert core == [["0", "0"]], core
    assert h.close() == 0


def test_closing_the_link_ends_the_helper_cleanly():
    h = Helper()
    result(h.call("hello"))
    assert h.close() == 0


tap.run(globals(), setup=setup, teardown=teardown)

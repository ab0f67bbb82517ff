"""The PKCS#11 tier through the WebSocket, as a portal would use it.

A real cardbridged with the real helper and a throw-away SoftHSM2 token;
PIN dialogs answered by tests/fake-pinentry.  Every outcome is checked with
tools independent of cardbridge: openssl for CSRs, pkcs11-tool for what the
token holds.
"""
import hashlib
import json
import os
import re
import signal
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import cbtest
import pki
import softhsm
from cbtest import error_reason

hsm = daemon = ca = dialogs = None
TOKENS = {}


def setup():
    global hsm, daemon, ca, dialogs
    hsm = softhsm.SoftHSM(["alpha", "beta"])
    # The log keeps every dialog so far: the PIN check looks at all of them.
    dialogs = cbtest.Dialogs(keep_log=True)
    daemon = cbtest.Daemon(modules=[softhsm.MODULE],
                           env=dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf))
    ca = pki.TestCA()


def teardown():
    cbtest.cleanup(daemon, hsm)


def token_uri(label):
    if label not in TOKENS:
        ws = daemon.connect()
        for t in ws.result("tokens.list")["tokens"]:
            TOKENS[t["label"]] = t["uri"]
        ws.close()
    return TOKENS[label]


def key_id_of(public_der):
    """CKA_ID as NSS computes it: SHA-1 of the RSA modulus or of the EC point."""
    key = serialization.load_der_public_key(public_der)
    if isinstance(key, rsa.RSAPublicKey):
        n = key.public_numbers().n
        return hashlib.sha1(n.to_bytes((n.bit_length() + 7) // 8, "big")).hexdigest()
    point = key.public_bytes(serialization.Encoding.X962,
                             serialization.PublicFormat.UncompressedPoint)
    octet = bytes([0x04, len(point)]) + point if len(point) < 128 else \
        bytes([0x04, 0x81, len(point)]) + point
    return {hashlib.sha1(point).hexdigest(), hashlib.sha1(octet).hexdigest()}


def token_public_key(label, key_id):
    """The key's public half as the token holds it, read with pkcs11-tool.

    pkcs11-tool 0.23 cannot --read-object a P-384 public key, so EC keys are
    rebuilt from the CKA_EC_POINT and CKA_EC_PARAMS that `-O` prints.
    """
    blocks = [b[len("Public Key Object;"):] for b in
              re.split(r"^(?=\S[^\n]*Object;)", hsm.tool(label, "-O", login=True), flags=re.M)
              if b.startswith("Public Key Object;")]
    mine = [b for b in blocks if re.search(r"^\s+ID:\s+%s\s*$" % key_id, b, re.M)]
    assert len(mine) == 1, blocks
    if not mine[0].lstrip().startswith("EC"):
        return hsm.read_public_key(label, key_id)
    point = bytes.fromhex(re.search(r"EC_POINT:\s+([0-9a-f]+)", mine[0]).group(1))
    params = re.search(r"EC_PARAMS:\s+([0-9a-f]+)", mine[0]).group(1)
    point = point[3:] if point[1] == 0x81 else point[2:]   # unwrap the DER OCTET STRING
    curve = {"06082a8648ce3d030107": ec.SECP256R1(), "06052b81040022": ec.SECP384R1()}[params]
    key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def generate(label, algorithm, subject=None, ws=None):
    own = ws is None
    ws = ws or daemon.connect()
    dialogs.answers("pin " + softhsm.PIN)
    params = {"token": token_uri(label), "algorithm": algorithm, "label": "test key",
              "subject": subject or {"CN": "Joe Doe", "emailAddress": "joe@example.com",
                                     "C": "PL"}}
    reply = ws.call("keys.generate", params)
    if own:
        ws.close()
    return reply


def check_generated(label, algorithm):
    r = generate(label, algorithm)
    assert "result" in r, r
    res = r["result"]
    assert pki.verify_csr(res["csr"]), "CSR does not verify"
    csr_key = pki.csr_public_key_der(res["csr"])
    token_key = token_public_key(label, res["keyId"])
    assert csr_key == token_key, "CSR key differs from the key on the token"
    ids = key_id_of(token_key)
    assert res["keyId"] in (ids if isinstance(ids, set) else {ids}), res["keyId"]
    objs = [o for o in hsm.objects(label) if o["id"] == res["keyId"]]
    priv = [o for o in objs if o["kind"] == "Private Key"]
    assert len(priv) == 1, objs
    for flag in ("sensitive", "always sensitive", "never extractable"):
        assert flag in priv[0]["access"], (flag, priv[0])
    # CKA_PRIVATE: without a login the private key is not even visible.
    assert not [o for o in hsm.objects(label, login=False)
                if o["id"] == res["keyId"] and o["kind"] == "Private Key"]
    assert "sign" in priv[0]["usage"], priv[0]
    if algorithm["type"] == "RSA":
        assert "decrypt" in priv[0]["usage"], priv[0]
    else:
        assert "derive" in priv[0]["usage"], priv[0]
    return res


def test_tokens_list_shows_both_tokens_with_real_key_types():
    ws = daemon.connect()
    tokens = ws.result("tokens.list")["tokens"]
    ws.close()
    labels = sorted(t["label"] for t in tokens)
    assert labels == ["alpha", "beta"], labels
    t = tokens[0]
    assert t["uri"].startswith("pkcs11:") and "token=" in t["uri"]
    assert t["flags"]["loginRequired"] is True and t["flags"]["pinLocked"] is False
    assert {"type": "RSA", "bits": [2048, 3072, 4096]} in t["keyTypes"], t["keyTypes"]
    assert {"type": "EC", "curves": ["P-256", "P-384"]} in t["keyTypes"], t["keyTypes"]


def test_hello_reports_the_module_as_loaded():
    ws = daemon.connect()
    mods = ws.result("system.hello")["modules"]
    ws.close()
    assert any(m["ok"] and m["path"].endswith("libsofthsm2.so") for m in mods), mods


def test_keygen_rsa_2048_csr_verifies_and_matches_the_token():
    check_generated("alpha", {"type": "RSA", "bits": 2048})


def test_keygen_rsa_3072_csr_verifies_and_matches_the_token():
    check_generated("alpha", {"type": "RSA", "bits": 3072})


def test_keygen_rsa_4096_csr_verifies_and_matches_the_token():
    check_generated("alpha", {"type": "RSA", "bits": 4096})


def test_keygen_p256_csr_verifies_and_matches_the_token():
    check_generated("alpha", {"type": "EC", "curve": "P-256"})


def test_keygen_p384_csr_verifies_and_matches_the_token():
    check_generated("alpha", {"type": "EC", "curve": "P-384"})


def test_pin_dialog_names_origin_operation_and_token():
    generate("alpha", {"type": "EC", "curve": "P-256"})
    shown = dialogs.shown()
    assert cbtest.ORIGIN in shown, shown[-500:]
    assert "alpha" in shown, shown[-500:]
    assert softhsm.PIN not in shown


def test_unsupported_algorithm_is_refused_before_any_dialog():
    ws = daemon.connect()
    dialogs.answers()
    for alg in ({"type": "RSA", "bits": 1024}, {"type": "EC", "curve": "P-521"},
                {"type": "DSA", "bits": 2048}):
        r = ws.call("keys.generate", {"token": token_uri("alpha"), "algorithm": alg})
        assert "error" in r and error_reason(r) in ("UNSUPPORTED_ALGORITHM", "INVALID_PARAMS"), r
    ws.close()


def test_unknown_token_uri_is_token_not_present():
    ws = daemon.connect()
    r = ws.call("keys.generate", {"token": "pkcs11:token=nope;serial=0",
                                  "algorithm": {"type": "EC", "curve": "P-256"}})
    ws.close()
    assert error_reason(r) == "TOKEN_NOT_PRESENT", r


def test_hostile_subject_is_invalid_params_and_nothing_written():
    before = hsm.objects("beta")
    ws = daemon.connect()
    dialogs.answers("pin " + softhsm.PIN)
    for subject in ({"CN": "a\u0000b"}, {"C": "P1"}, {"CN": "x" * 65}, {"CN": "line\nbreak"}):
        r = ws.call("keys.generate", {"token": token_uri("beta"), "subject": subject,
                                      "algorithm": {"type": "EC", "curve": "P-256"}})
        assert error_reason(r) == "INVALID_PARAMS", (subject, r)
    ws.close()
    assert hsm.objects("beta") == before


def test_cancelled_pin_dialog_is_user_cancelled_and_leaves_no_objects():
    before = hsm.objects("beta")
    ws = daemon.connect()
    dialogs.answers("cancel")
    r = ws.call("keys.generate", {"token": token_uri("beta"),
                                  "algorithm": {"type": "RSA", "bits": 2048}})
    ws.close()
    assert error_reason(r) == "USER_CANCELLED", r
    assert hsm.objects("beta") == before


def test_wrong_pin_is_pin_incorrect_and_leaves_no_objects():
    before = hsm.objects("beta")
    ws = daemon.connect()
    dialogs.answers("pin 000000", "cancel")
    r = ws.call("keys.generate", {"token": token_uri("beta"),
                                  "algorithm": {"type": "EC", "curve": "P-256"}})
    ws.close()
    assert error_reason(r) in ("PIN_INCORRECT", "USER_CANCELLED"), r
    assert hsm.objects("beta") == before


def test_issued_certificate_installs_under_the_key_id():
    res = check_generated("beta", {"type": "RSA", "bits": 2048})
    cert = ca.issue(res["csr"])
    ws = daemon.connect()
    dialogs.answers("pin " + softhsm.PIN)
    r = ws.result("certificates.install", {"certificate": cert, "chain": [ca.pem()]})
    assert r["keyId"] == res["keyId"], r
    assert len(r["installed"]) >= 1, r
    certs = [o for o in hsm.objects("beta") if o["kind"] == "Certificate"
             and o["id"] == res["keyId"]]
    assert len(certs) == 1, hsm.objects("beta")
    # Second install: already there, nothing written, no dialog needed.
    dialogs.answers()
    r2 = ws.result("certificates.install", {"certificate": cert})
    assert r2["alreadyPresent"] and not r2["installed"], r2
    assert len([o for o in hsm.objects("beta") if o["kind"] == "Certificate"
                and o["id"] == res["keyId"]]) == 1
    listed = ws.result("certificates.list", {"token": token_uri("beta")})["certificates"]
    mine = [c for c in listed if c["keyId"] == res["keyId"]]
    assert mine and mine[0]["hasPrivateKey"] is True, listed
    ws.close()


def test_certificate_for_a_key_not_on_the_token_is_key_not_found():
    before = hsm.objects("alpha") + hsm.objects("beta")
    ws = daemon.connect()
    dialogs.answers("pin " + softhsm.PIN)
    r = ws.call("certificates.install", {"certificate": pki.foreign_certificate()})
    ws.close()
    assert error_reason(r) == "KEY_NOT_FOUND", r
    assert hsm.objects("alpha") + hsm.objects("beta") == before


def test_garbage_certificate_is_invalid_params():
    ws = daemon.connect()
    for junk in ("hello", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                 "MIIB", pki.foreign_certificate()[:200]):
        r = ws.call("certificates.install", {"certificate": junk})
        assert r["error"]["code"] == -32602, r
    ws.close()


def test_expired_certificate_is_refused_unless_allowed():
    res = check_generated("alpha", {"type": "EC", "curve": "P-256"})
    cert = ca.issue_expired(res["csr"])
    ws = daemon.connect()
    r = ws.call("certificates.install", {"certificate": cert})
    assert r["error"]["code"] == -32602 and "expired" in r["error"]["message"].lower(), r
    dialogs.answers("pin " + softhsm.PIN)
    r = ws.result("certificates.install", {"certificate": cert, "allowExpired": True})
    assert r["keyId"] == res["keyId"], r
    ws.close()


def test_hello_answers_while_rsa_4096_keygen_runs_on_another_client():
    busy = daemon.connect()
    dialogs.answers("pin " + softhsm.PIN)
    busy.send_frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "keys.generate",
                                "params": {"token": token_uri("alpha"),
                                           "algorithm": {"type": "RSA", "bits": 4096}}}))
    time.sleep(0.2)
    ws = daemon.connect()
    t0 = time.monotonic()
    ws.result("system.hello")
    took = time.monotonic() - t0
    early = busy.answer_if_any()
    busy.sock.settimeout(120)
    print("# system.hello took %.1f ms during an RSA-4096 keygen" % (took * 1000))
    assert early is None, "keygen finished before hello was asked: test proves nothing"
    assert "result" in busy.recv_answer(), "keygen failed"
    ws.close()
    busy.close()


def test_killed_helper_gives_a_clean_error_and_the_next_request_works():
    ws = daemon.connect()
    dialogs.answers("hang")
    ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": 5, "method": "keys.generate",
                              "params": {"token": token_uri("beta"),
                                         "algorithm": {"type": "EC", "curve": "P-256"}}}))
    helper = None
    deadline = time.time() + 10
    while helper is None and time.time() < deadline:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/stat" % pid) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                if int(fields[1]) == daemon.proc.pid and b"pkcs11-helper" in cmd:
                    helper = int(pid)
        time.sleep(0.1)
    assert helper, "helper process not found"
    time.sleep(0.3)
    os.kill(helper, signal.SIGKILL)
    r = ws.recv_answer()
    assert r["id"] == 5 and error_reason(r) == "MODULE_ERROR", r
    res = check_generated("beta", {"type": "EC", "curve": "P-256"})
    assert res["keyId"]
    ws.close()


def test_pin_never_reaches_the_daemon_log():
    log = daemon.read_log()
    assert softhsm.PIN not in log
    assert "debug" in log  # the daemon ran at debug level: the check means something


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, softhsm.missing)

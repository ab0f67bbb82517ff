"""The real card path: pcscd + vpcd + the virtual OpenPGP card + OpenSC.

A private pcscd (tests/pcscenv.py), our virtual OpenPGP card 3.4, OpenSC's
real opensc-pkcs11.so in the helper, and cardbridged's PC/SC card watcher,
all driven through the WebSocket as a portal would.  What the card holds is
checked with pkcs11-tool, independently of cardbridge.

OpenSC shows the card as two tokens, one per user PIN: keys.generate puts
the key in slot 01 on "OpenPGP card (User PIN (sig))" and in slot 03 on
"OpenPGP card (User PIN)"; the admin PIN generates, the user PIN signs the
CSR (doc/PROTOCOL.md).  Tests that lock the PIN or pull the card mid-keygen
swap in a card with a state file of their own, so the others keep theirs.
"""
import json
import os
import re
import socket
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import cbtest
import pcscenv
import pki
import softhsm
import tap
from cbtest import error_reason, wait_for

env = daemon = ca = dialogs = None
SIG = "OpenPGP card (User PIN (sig))"
USER = "OpenPGP card (User PIN)"
GENERATED = {}


def setup():
    global env, daemon, ca, dialogs
    env = pcscenv.PcscEnv()
    env.insert()
    dialogs = cbtest.Dialogs()
    daemon = cbtest.Daemon(modules=[pcscenv.OPENSC_MODULE],
                           env=dict(env.env, ASAN_OPTIONS=asan_options(dialogs.dir),
                                    **dialogs.env()))
    ca = pki.TestCA()


def asan_options(directory):
    """For a helper built with --enable-asan: OpenSC 0.23's OpenPGP driver reads
    freed memory while it generates a key (a memcpy in libopensc, under
    sc_pkcs15init_generate_key); that is OpenSC's bug, not ours, so reports
    from inside libopensc are suppressed.  Without ASan this changes nothing."""
    path = os.path.join(directory, "asan.supp")
    with open(path, "w") as f:
        f.write("interceptor_via_lib:libopensc.so\n")
    given = os.environ.get("ASAN_OPTIONS", "")
    return (given + ":" if given else "") + "suppressions=" + path


def teardown():
    if daemon:
        daemon.stop()
    if env:
        env.stop()


def next_event(ws, wanted, timeout=20):
    """Skip events until one of type `wanted` arrives; returns its params."""
    ws.sock.settimeout(timeout)
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = ws.recv()
        if msg.get("method") == "event" and msg["params"]["type"] == wanted:
            return msg["params"]
    raise AssertionError("no %s event" % wanted)


def card_tokens(ws):
    return [t for t in ws.result("tokens.list")["tokens"]
            if t["manufacturer"] == "OpenPGP project"]


def test_tokens_list_shows_the_openpgp_card():
    ws = daemon.connect()
    tokens = card_tokens(ws)
    ws.close()
    assert tokens, "no OpenPGP token listed"
    t = tokens[0]
    assert t["reader"].startswith("Virtual PCD"), t
    assert t["serial"] == "fffe00000001", t
    assert t["flags"]["pinLocked"] is False
    assert any(k["type"] == "RSA" for k in t["keyTypes"]), t["keyTypes"]


def test_card_removal_and_insertion_reach_a_subscribed_page():
    ws = daemon.connect()
    assert ws.result("events.subscribe")["subscribed"] is True
    env.remove()
    removed = next_event(ws, "cardRemoved")
    assert removed["reader"].startswith("Virtual PCD"), removed
    changed = next_event(ws, "tokensChanged")
    assert not [t for t in changed["tokens"] if t["manufacturer"] == "OpenPGP project"]
    env.insert()
    inserted = next_event(ws, "cardInserted")
    assert inserted["atr"].startswith("3b"), inserted
    changed = next_event(ws, "tokensChanged")
    assert [t for t in changed["tokens"] if t["manufacturer"] == "OpenPGP project"]
    ws.close()


def test_unsubscribed_page_gets_no_events():
    quiet = daemon.connect()
    loud = daemon.connect()
    loud.result("events.subscribe")
    quiet.result("events.subscribe")
    quiet.result("events.unsubscribe")
    env.remove()
    next_event(loud, "cardRemoved")
    env.insert()
    next_event(loud, "tokensChanged")
    quiet.sock.settimeout(0.5)
    try:
        msg = quiet.recv()
    except (socket.timeout, TimeoutError):
        msg = None
    assert msg is None, msg
    quiet.close()
    loud.close()


def test_pcscd_killed_and_restarted_is_survived():
    ws = daemon.connect()
    ws.result("events.subscribe")
    env.kill_pcscd()
    gone = next_event(ws, "readerRemoved")
    assert gone["reader"].startswith("Virtual PCD")
    assert ws.result("system.hello")["protocol"] == 1
    env.start_pcscd()
    next_event(ws, "readerAdded")
    env.insert()
    next_event(ws, "cardInserted")
    next_event(ws, "tokensChanged")
    assert card_tokens(ws), "card not listed after pcscd came back"
    ws.close()
    assert daemon.alive()


# --- keys and certificates on the card ----------------------------------------

def card_uri(ws, label):
    deadline = time.time() + 20
    while time.time() < deadline:
        uris = {t["label"]: t["uri"] for t in card_tokens(ws)}
        if label in uris:
            return uris[label]
        time.sleep(0.2)
    raise AssertionError("token %r not listed" % label)


def card_public_key(label, key_id):
    """The public key in slot key_id as pkcs11-tool reads it, DER SubjectPublicKeyInfo.

    pkcs11-tool 0.23 cannot --read-object every EC key (P-384: "cannot create
    EVP_PKEY"); EC keys are then rebuilt from what `-O` prints.
    """
    out = os.path.join(env.dir, "pub-%s.der" % key_id)
    if os.path.exists(out):
        os.unlink(out)
    env.pkcs11_tool("--token-label", label, "--read-object", "--type", "pubkey",
                    "--id", key_id, "-o", out, check=False)
    if os.path.exists(out) and os.path.getsize(out) > 0:
        with open(out, "rb") as f:
            return f.read()
    for obj in softhsm.parse_objects(env.pkcs11_tool("--token-label", label, "-O")):
        if obj["kind"] == "Public Key" and obj["id"] == key_id and "ec_point" in obj:
            return softhsm.ec_spki(obj["ec_point"], obj["ec_params"])
    raise AssertionError("pkcs11-tool cannot read the public key in slot " + key_id)


def card_objects(label):
    return softhsm.parse_objects(env.pkcs11_tool("--token-label", label, "-O"))


def generate(ws, label, algorithm, *answers):
    dialogs.answers(*answers)
    return ws.call("keys.generate", {"token": card_uri(ws, label), "algorithm": algorithm,
                                     "subject": {"CN": "Joe Doe", "C": "PL"}})


def check_generated(label, key_id, algorithm):
    ws = daemon.connect(timeout=120)
    r = generate(ws, label, algorithm, "pin " + pcscenv.ADMIN_PIN, "pin " + pcscenv.USER_PIN)
    ws.close()
    assert "result" in r, r
    res = r["result"]
    assert res["keyId"] == key_id, res["keyId"]
    assert pki.verify_csr(res["csr"]), "CSR does not verify"
    assert pki.csr_public_key_der(res["csr"]) == card_public_key(label, key_id), \
        "CSR key differs from the key pkcs11-tool reads from the card"
    returned = serialization.load_pem_public_key(res["publicKey"].encode())
    assert returned.public_bytes(serialization.Encoding.DER,
                                 serialization.PublicFormat.SubjectPublicKeyInfo) == \
        card_public_key(label, key_id)
    # Two dialogs: the admin PIN generates, the user PIN signs the CSR.
    log = dialogs.shown()
    prompts = re.findall(r"^SETPROMPT (.*)$", log, re.M)
    assert prompts == ["Admin PIN:", "User PIN:"], log
    assert "in key slot %s on the token \"%s\" (serial number fffe00000001)" % (key_id, label) \
        in log, log
    assert pcscenv.ADMIN_PIN not in log and pcscenv.USER_PIN not in log
    GENERATED[label] = res
    return res


def test_keygen_rsa_2048_goes_to_slot_01_of_the_signature_pin_token():
    res = check_generated(SIG, "01", {"type": "RSA", "bits": 2048})
    assert "generate an RSA 2048 key pair in key slot 01" in dialogs.shown()
    assert serialization.load_pem_public_key(res["publicKey"].encode()).key_size == 2048


def test_keygen_p256_goes_to_slot_03_of_the_user_pin_token():
    res = check_generated(USER, "03", {"type": "EC", "curve": "P-256"})
    assert "sign the certificate request for the new EC P-256 key in key slot 03" in \
        dialogs.shown()
    key = serialization.load_pem_public_key(res["publicKey"].encode())
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


def test_certificates_install_writes_the_issued_certificate_under_the_key_id():
    ws = daemon.connect(timeout=120)
    for label, key_id in ((SIG, "01"), (USER, "03")):
        cert = ca.issue(GENERATED[label]["csr"])
        GENERATED[label]["cert"] = cert
        dialogs.answers("pin " + pcscenv.ADMIN_PIN)
        r = ws.result("certificates.install", {"certificate": cert, "chain": [ca.pem()]})
        assert r["keyId"] == key_id and len(r["installed"]) == 1, r
        assert r["notStored"] == [{"subject": "CN=cardbridge Test CA",
                                   "reason": "the card has no room for CA certificates"}], r
        log = dialogs.shown()
        assert "SETPROMPT Admin PIN:" in log and \
            "store the certificate for Joe Doe issued by cardbridge Test CA" in log, log
        certs = [o for o in card_objects(label) if o["kind"] == "Certificate"]
        assert [o["id"] for o in certs] == [key_id], certs
        out = os.path.join(env.dir, "cert-%s.der" % key_id)
        env.pkcs11_tool("--token-label", label, "--read-object", "--type", "cert",
                        "--id", key_id, "-o", out)
        with open(out, "rb") as f:
            assert f.read() == x509.load_pem_x509_certificate(cert.encode()).public_bytes(
                serialization.Encoding.DER)
    listed = ws.result("certificates.list")["certificates"]
    ws.close()
    assert sorted(c["keyId"] for c in listed) == ["01", "03"], listed
    assert all(c["hasPrivateKey"] for c in listed), listed


def test_full_slots_are_slot_occupied_before_any_dialog_and_nothing_changes():
    before = {(label, key_id): card_public_key(label, key_id)
              for label, key_id in ((SIG, "01"), (USER, "03"))}
    ws = daemon.connect(timeout=120)
    dialogs.answers()
    for label, key_id in ((SIG, "01"), (USER, "03")):
        for overwrite in (False, True):
            r = ws.call("keys.generate", {"token": card_uri(ws, label), "overwrite": overwrite,
                                          "algorithm": {"type": "EC", "curve": "P-256"}})
            assert error_reason(r) == "SLOT_OCCUPIED", r
            assert ("key slot %s" % key_id) in r["error"]["message"], r
            assert ("cannot replace" in r["error"]["message"]) == overwrite, r
    # A second certificate for a key that has one cannot go on the card either.
    other = ca.issue(GENERATED[SIG]["csr"])
    r = ws.call("certificates.install", {"certificate": other})
    ws.close()
    assert error_reason(r) == "SLOT_OCCUPIED" and "certificate" in r["error"]["message"], r
    assert "START" not in dialogs.shown(), "a dialog for a request that cannot succeed"
    assert before == {(label, key_id): card_public_key(label, key_id) for label, key_id in before}
    certs = [o for o in card_objects(SIG) if o["kind"] == "Certificate"]
    assert len(certs) == 1


def swap_card(state, *args):
    """Pull the card and insert one whose state lives in `state`."""
    env.remove()
    env.state = state
    env.insert(*args)


def test_wrong_user_pins_count_down_and_the_third_locks_with_no_dialog_after():
    main_state = env.state
    swap_card(os.path.join(env.dir, "lockout.state"))
    try:
        ws = daemon.connect(timeout=120)
        admin, wrong = "pin " + pcscenv.ADMIN_PIN, "pin 000000"
        r = generate(ws, SIG, {"type": "EC", "curve": "P-256"}, admin, wrong, wrong, "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        # OpenSC tells nothing after the first wrong PIN, "final try" after the second.
        assert r["error"]["data"]["retriesLeft"] == 1, r
        assert "stays in key slot 01" in r["error"]["message"], r
        assert dialogs.lines("SETERROR") == [
            "Wrong PIN. Try again.", "Wrong PIN. This is the last try before the PIN is locked."]
        r = generate(ws, USER, {"type": "EC", "curve": "P-256"}, admin, wrong)
        assert error_reason(r) == "PIN_LOCKED", r
        assert r["error"]["data"]["retriesLeft"] == 0, r
        assert dialogs.lines("SETERROR") == ["This is the last try before the PIN is locked."]
        r = generate(ws, USER, {"type": "EC", "curve": "P-256"}, admin, "pin " + pcscenv.USER_PIN)
        assert error_reason(r) == "PIN_LOCKED", r
        assert "START" not in dialogs.shown(), "a dialog although the PIN is locked"
        flags = [t["flags"]["pinLocked"] for t in card_tokens(ws)]
        ws.close()
        assert flags == [True, True], flags
    finally:
        swap_card(main_state)


def test_keygen_reads_each_slots_pin_state_once_per_token_lookup():
    """On this card every C_GetTokenInfo is an APDU (VERIFY without data: the
    PIN's state).  keys.generate looks the token up twice (before, and after
    OpenSC is reloaded), two slots each; the PIN checks that follow a lookup
    must not ask the card again."""
    main_state = env.state
    count = os.path.join(env.dir, "apdus")
    swap_card(os.path.join(env.dir, "apdus.state"), "--apdu-count", count, "--verbose")
    log = os.path.join(env.dir, "vcard.log")
    try:
        ws = daemon.connect(timeout=120)
        card_uri(ws, SIG)
        at = os.path.getsize(log)
        with open(count) as f:
            before = int(f.read())
        r = generate(ws, SIG, {"type": "RSA", "bits": 2048},
                     "pin " + pcscenv.ADMIN_PIN, "pin " + pcscenv.USER_PIN)
        ws.close()
        assert "result" in r, r
        with open(count) as f:
            sent = int(f.read()) - before
        with open(log, errors="replace") as f:
            f.seek(at)
            status = re.findall(r"C: 0020008[123] \(4 bytes\)", f.read())
        print("# keys.generate RSA 2048 + CSR: %d APDUs, %d PIN state reads" % (
            sent, len(status)))
        assert len(status) == 4, status
    finally:
        swap_card(main_state)


def test_card_pulled_mid_keygen_is_card_removed_and_works_again_after_reinsertion():
    main_state = env.state
    # Every APDU takes 80 ms, so that the card can be pulled while it generates.
    swap_card(os.path.join(env.dir, "pulled.state"), "--delay-ms", "80")
    try:
        ws = daemon.connect(timeout=120)
        ws.result("events.subscribe")
        uri = card_uri(ws, SIG)
        dialogs.answers("pin " + pcscenv.ADMIN_PIN, "pin " + pcscenv.USER_PIN)
        ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": 77, "method": "keys.generate",
                                  "params": {"token": uri,
                                             "algorithm": {"type": "RSA", "bits": 2048}}}))
        # The admin PIN was given: the keygen starts.
        wait_for("the admin PIN dialog to end", lambda: "BYE" in dialogs.shown(), timeout=30)
        time.sleep(0.3)
        env.card.kill()
        env.card.wait()
        reply = removed = None
        ws.sock.settimeout(30)
        while reply is None or removed is None:
            msg = ws.recv()
            if msg.get("id") == 77:
                reply = msg
            elif msg.get("method") == "event" and msg["params"]["type"] == "cardRemoved":
                removed = msg["params"]
        assert error_reason(reply) == "CARD_REMOVED", reply
        assert removed["reader"].startswith("Virtual PCD"), removed
        assert "User PIN:" not in dialogs.shown(), "asked for the user PIN of a pulled card"
        failed = re.findall(r"debug: (.*): CK_RV 0x[0-9a-f]+$", daemon.read_log(), re.M)
        print("# the pulled card failed in: %s" % (failed[-1] if failed else "?"))
        # Back in, without the delay: the same card works again.
        env.insert()
        next_event(ws, "cardInserted")
        r = generate(ws, USER, {"type": "EC", "curve": "P-256"},
                     "pin " + pcscenv.ADMIN_PIN, "pin " + pcscenv.USER_PIN)
        ws.close()
        assert "result" in r and r["result"]["keyId"] == "03", r
        assert pki.verify_csr(r["result"]["csr"])
    finally:
        swap_card(main_state)


MOCK = os.path.join(cbtest.BUILDDIR, "tests", "mock-p11", "mock-p11.so")
VCARD_ATR = "3bda18ff81b1fe751f030031f573c00180059000f9"


def atr_daemon(pattern):
    """OpenSC plus a stand-in vendor module that claims cards matching pattern."""
    reader = card_tokens_reader()
    return cbtest.Daemon(config={"modules": [{"path": pcscenv.OPENSC_MODULE},
                                             {"path": MOCK, "atr": [pattern]}]},
                         env=dict(env.env, MOCK_P11_READER=reader, MOCK_P11_LABEL="vendor token"))


def card_tokens_reader():
    ws = daemon.connect()
    reader = card_tokens(ws)[0]["reader"]
    ws.close()
    return reader


def wait_for_tokens(d, want, timeout=15):
    """tokens.list once the daemon's view has caught up with the card watcher."""
    deadline = time.time() + timeout
    while True:
        ws = d.connect()
        tokens = ws.result("tokens.list")["tokens"]
        ws.close()
        if want(tokens) or time.time() > deadline:
            return tokens
        time.sleep(0.2)


def test_a_module_claiming_the_card_by_atr_hides_other_modules_tokens_there():
    if not os.path.exists(MOCK):
        tap.skip("tests/mock-p11/mock-p11.so not built")
    d = atr_daemon(VCARD_ATR[:-2] + "00/" + "ff" * 20 + "00")
    try:
        tokens = wait_for_tokens(d, lambda ts: not [t for t in ts
                                                    if t["manufacturer"] == "OpenPGP project"])
        labels = sorted(t["label"] for t in tokens)
        assert labels == ["vendor token"], labels
        assert all("module" not in t for t in tokens), tokens
    finally:
        d.stop()


def test_a_module_whose_atr_does_not_match_leaves_the_card_to_opensc():
    if not os.path.exists(MOCK):
        tap.skip("tests/mock-p11/mock-p11.so not built")
    d = atr_daemon("3b00")
    try:
        tokens = wait_for_tokens(d, lambda ts: [t for t in ts
                                                if t["manufacturer"] == "OpenPGP project"])
        assert [t for t in tokens if t["manufacturer"] == "OpenPGP project"], tokens
        assert "vendor token" in [t["label"] for t in tokens]
    finally:
        d.stop()


def test_no_pin_reached_the_daemon_or_helper_log():
    log = daemon.read_log()
    assert "debug" in log
    for pin in (pcscenv.ADMIN_PIN, pcscenv.USER_PIN):
        assert pin not in log


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, pcscenv.missing)

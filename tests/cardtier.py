"""The e2e card tier, once for every personality of the virtual card.

pcscd + vpcd + tests/vcard's card + Debian's own OpenSC in the helper +
cardbridged's card watcher, driven through the WebSocket as a portal
would; what the card holds is checked with pkcs11-tool and openssl,
independently of cardbridge.  The card generates keys slowly
(--keygen-delay-ms), so progress is seen as a page sees it on a real card.

A tier file picks a personality and adds the tests of its own:

    from cardtier import OpenPGP, run, tier
    def test_what_only_this_card_does(): ...
    if __name__ == "__main__":
        run(globals(), OpenPGP())       # the shared tests, then the file's

tests/test-card.py runs it on the OpenPGP card (OpenSC's openpgp driver,
keys under the admin PIN, fixed key slots), tests/test-card-isoapplet.py on
the IsoApplet card (the isoApplet driver and its pkcs15init profile, keys
under the user PIN, as on Certum-like PKCS#15 cards).  What differs
between them is in the two Personality classes below, nowhere else.
"""
import json
import os
import re
import shutil
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization

import cbtest
import pcscenv
import pki
import softhsm
from cbtest import error_reason

# How long the card takes to generate a key (a real one: seconds to minutes).
KEYGEN_DELAY_MS = 1500
RSA_2048 = {"type": "RSA", "bits": 2048}
P_256 = {"type": "EC", "curve": "P-256"}
ALL_FALSE = {"sensitive": False, "extractable": False, "local": False,
             "alwaysSensitive": False, "neverExtractable": False, "secretReadable": False}
TRUTH = {"sensitive": True, "extractable": False, "local": True,
         "alwaysSensitive": True, "neverExtractable": True, "secretReadable": False}


class Personality:
    """What a tier expects of one kind of card through OpenSC 0.23."""
    name = None
    manufacturer = model = serial = None
    key_types = ()             # what tokens.list offers
    rsa_token = ec_token = None  # the token keys.generate makes each key on
    rsa_key_id = ec_key_id = None
    ec_supported = True
    keygen_pins = ()           # the PINs keys.generate asks for, in order
    writer_pin = None          # the PIN certificates.install asks for
    key_attributes = None      # keyAttributes of a new key
    keeps_failed_keys = False  # a key made before a failure stays on the card
    chain_stored = True        # CA certificates go on the card too

    def prepare(self, env):
        """Make a new card usable, as its issuer would (before the daemon sees it)."""

    def prompt(self, pin):
        return "Admin PIN:" if pin == pcscenv.ADMIN_PIN else "User PIN:"

    def pin_stage(self, pin):
        return "admin" if pin == pcscenv.ADMIN_PIN else "user"


class OpenPGP(Personality):
    name = "openpgp"
    manufacturer, model, serial = "OpenPGP project", "PKCS#15 emulated", "fffe00000001"
    key_types = ("RSA", "EC")
    rsa_token, rsa_key_id = "OpenPGP card (User PIN (sig))", "01"
    ec_token, ec_key_id = "OpenPGP card (User PIN)", "03"
    # The admin PIN generates, the user PIN signs the CSR (doc/PROTOCOL.md).
    keygen_pins = (pcscenv.ADMIN_PIN, pcscenv.USER_PIN)
    writer_pin = pcscenv.ADMIN_PIN
    # OpenSC's OpenPGP emulation sets the flags itself (after the reload keygen needs).
    key_attributes = TRUTH
    keeps_failed_keys = True
    chain_stored = False


class IsoApplet(Personality):
    name = "isoapplet"
    manufacturer, model, serial = "unknown", "PKCS#15", "0000"
    key_types = ("RSA",)
    rsa_token = ec_token = pcscenv.LABEL + " (User PIN)"
    rsa_key_id = "45"          # OpenSC's first free ID; the next key gets 46
    # OpenSC 0.23 offers this card ECDSA-SHA1 only: no SHA-256 CSR, so no EC.
    ec_supported = False
    keygen_pins = (pcscenv.USER_PIN,)
    writer_pin = pcscenv.USER_PIN
    # The bug of OpenSC < 0.24, on Debian 12's own OpenSC, without a mock.
    key_attributes = ALL_FALSE

    def prepare(self, env):
        env.personalise_isoapplet()


class Tier:
    """The tier's fixtures: the card, the daemon, the dialogs, the CA."""
    p = env = daemon = dialogs = ca = None
    generated = {}             # token label -> keys.generate result


tier = Tier()


# --- fixtures --------------------------------------------------------------------

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


def daemon_env():
    return dict(tier.env.env, ASAN_OPTIONS=asan_options(tier.dialogs.dir), **tier.dialogs.env())


def fresh_state():
    """A copy of the card as its issuer handed it out, for swap_card()."""
    return os.path.join(tier.env.dir, "fresh.state")


def setup():
    tier.env = pcscenv.PcscEnv(tier.p.name)
    tier.env.insert("--keygen-delay-ms", str(KEYGEN_DELAY_MS))
    tier.p.prepare(tier.env)
    if os.path.exists(tier.env.state):
        shutil.copy(tier.env.state, fresh_state())
    tier.dialogs = cbtest.Dialogs()
    tier.daemon = cbtest.Daemon(modules=[pcscenv.OPENSC_MODULE], env=daemon_env())
    tier.ca = pki.TestCA()


def teardown():
    if tier.daemon:
        tier.daemon.stop()
    if tier.env:
        tier.env.stop()


def run(namespace, personality):
    """Run the shared tests on personality, in this file's order, then the tests
    of the file whose namespace is given, then the last checks (test_finally_*)."""
    tier.p = personality
    tests = dict(namespace)
    tests.update((name, fn) for name, fn in globals().items() if name.startswith("test_"))

    def order(fn):
        shared = fn.__code__.co_filename == __file__
        last = fn.__name__.startswith("test_finally_")
        return (2 if last else 0 if shared else 1, fn.__code__.co_firstlineno)
    cbtest.run_tests(tests, setup, teardown, pcscenv.missing, order=order)


# --- helpers ---------------------------------------------------------------------

def next_event(ws, wanted, timeout=20):
    """Skip messages until an event of type `wanted` arrives; returns its params."""
    ws.sock.settimeout(timeout)
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = ws.recv()
        if msg.get("method") == "event" and msg["params"]["type"] == wanted:
            return msg["params"]
    raise AssertionError("no %s event" % wanted)


def is_card_token(t):
    return t["manufacturer"] == tier.p.manufacturer and t["model"] == tier.p.model


def card_tokens(ws):
    return [t for t in ws.result("tokens.list")["tokens"] if is_card_token(t)]


def card_uri(ws, label):
    deadline = time.time() + 20
    while time.time() < deadline:
        uris = {t["label"]: t["uri"] for t in card_tokens(ws)}
        if label in uris:
            return uris[label]
        time.sleep(0.2)
    raise AssertionError("token %r not listed" % label)


def card_objects(label, login=False):
    """`pkcs11-tool -O` on the card's token label; private keys show only with login."""
    pin = ("--login", "--pin", pcscenv.USER_PIN) if login else ()
    return softhsm.parse_objects(tier.env.pkcs11_tool("--token-label", label, "-O", *pin))


def card_public_key(label, key_id):
    """The public key key_id as pkcs11-tool reads it, DER SubjectPublicKeyInfo.

    pkcs11-tool 0.23 cannot --read-object every EC key (P-384: "cannot create
    EVP_PKEY"); EC keys are then rebuilt from what `-O` prints.
    """
    out = os.path.join(tier.env.dir, "pub-%s.der" % key_id)
    if os.path.exists(out):
        os.unlink(out)
    tier.env.pkcs11_tool("--token-label", label, "--read-object", "--type", "pubkey",
                         "--id", key_id, "-o", out, check=False)
    if os.path.exists(out) and os.path.getsize(out) > 0:
        with open(out, "rb") as f:
            return f.read()
    for obj in card_objects(label):
        if obj["kind"] == "Public Key" and obj["id"] == key_id and "ec_point" in obj:
            return softhsm.ec_spki(obj["ec_point"], obj["ec_params"])
    raise AssertionError("pkcs11-tool cannot read the public key " + key_id)


def pin_answers(*pins):
    return ["pin " + pin for pin in pins]


def generate(ws, label, algorithm, *answers, request_id=1):
    """keys.generate on the card's token label: (its progress, its answer)."""
    tier.dialogs.answers(*answers)
    return ws.call_with_progress(request_id, "keys.generate", {
        "token": card_uri(ws, label), "algorithm": algorithm,
        "subject": {"CN": "Joe Doe", "C": "PL"}})


def stages(progress):
    return [p["stage"] + ("/" + p["pin"] if "pin" in p else "") for p in progress]


def keygen_stages():
    """What keys.generate on this card reports, in order."""
    pins = tier.p.keygen_pins
    first = ["waitingForPin/" + tier.p.pin_stage(pins[0]), "pinAccepted/" + tier.p.pin_stage(pins[0]),
             "generatingKey"]
    signer = ["waitingForPin/user", "pinAccepted/user"] if len(pins) > 1 else []
    return first + signer + ["signingRequest"]


def swap_card(state, *args):
    """Pull the card and insert the one whose state lives in `state`: a new card
    as the issuer handed it out, the first time."""
    tier.env.remove()
    if not os.path.exists(state) and os.path.exists(fresh_state()):
        shutil.copy(fresh_state(), state)
    tier.env.state = state
    tier.env.insert(*args)


def main_state():
    return os.path.join(tier.env.dir, "card.state")


# --- the card and its events -----------------------------------------------------

def test_tokens_list_shows_the_card():
    ws = tier.daemon.connect()
    tokens = card_tokens(ws)
    ws.close()
    assert tokens, "no %s token listed" % tier.p.name
    t = tokens[0]
    assert t["reader"].startswith("Virtual PCD"), t
    assert t["serial"] == tier.p.serial, t
    assert t["flags"]["pinLocked"] is False
    assert {k["type"] for k in t["keyTypes"]} == set(tier.p.key_types), t["keyTypes"]


def test_card_removal_and_insertion_reach_a_subscribed_page():
    ws = tier.daemon.connect()
    assert ws.result("events.subscribe")["subscribed"] is True
    tier.env.remove()
    removed = next_event(ws, "cardRemoved")
    assert removed["reader"].startswith("Virtual PCD"), removed
    changed = next_event(ws, "tokensChanged")
    assert not [t for t in changed["tokens"] if is_card_token(t)]
    tier.env.insert("--keygen-delay-ms", str(KEYGEN_DELAY_MS))
    inserted = next_event(ws, "cardInserted")
    assert inserted["atr"].startswith("3b"), inserted
    changed = next_event(ws, "tokensChanged")
    assert [t for t in changed["tokens"] if is_card_token(t)]
    ws.close()


def test_unsubscribed_page_gets_no_events():
    quiet = tier.daemon.connect()
    loud = tier.daemon.connect()
    loud.result("events.subscribe")
    quiet.result("events.subscribe")
    quiet.result("events.unsubscribe")
    tier.env.remove()
    next_event(loud, "cardRemoved")
    tier.env.insert("--keygen-delay-ms", str(KEYGEN_DELAY_MS))
    next_event(loud, "tokensChanged")
    msg = quiet.next_within(0.5)
    assert msg is None, msg
    quiet.close()
    loud.close()


def test_pcscd_killed_and_restarted_is_survived():
    ws = tier.daemon.connect()
    ws.result("events.subscribe")
    tier.env.kill_pcscd()
    gone = next_event(ws, "readerRemoved")
    assert gone["reader"].startswith("Virtual PCD")
    assert ws.result("system.hello")["protocol"] == 1
    tier.env.start_pcscd()
    next_event(ws, "readerAdded")
    tier.env.insert("--keygen-delay-ms", str(KEYGEN_DELAY_MS))
    next_event(ws, "cardInserted")
    next_event(ws, "tokensChanged")
    assert card_tokens(ws), "card not listed after pcscd came back"
    ws.close()
    assert tier.daemon.alive()


# --- keys and certificates on the card -------------------------------------------

def check_generated(label, key_id, algorithm):
    """keys.generate end to end: CSR, key on the card, dialogs, progress, keyAttributes."""
    ws = tier.daemon.connect(timeout=120)
    progress, r = generate(ws, label, algorithm, *pin_answers(*tier.p.keygen_pins))
    ws.close()
    assert "result" in r, r
    res = r["result"]
    assert res["keyId"] == key_id, res["keyId"]
    assert pki.verify_csr(res["csr"]), "CSR does not verify (openssl req -verify)"
    assert pki.csr_public_key_der(res["csr"]) == card_public_key(label, key_id), \
        "CSR key differs from the key pkcs11-tool reads from the card"
    returned = serialization.load_pem_public_key(res["publicKey"].encode())
    assert returned.public_bytes(serialization.Encoding.DER,
                                 serialization.PublicFormat.SubjectPublicKeyInfo) == \
        card_public_key(label, key_id)
    assert res["keyAttributes"] == tier.p.key_attributes, res["keyAttributes"]
    log = tier.dialogs.shown()
    prompts = re.findall(r"^SETPROMPT (.*)$", log, re.M)
    assert prompts == [tier.p.prompt(pin) for pin in tier.p.keygen_pins], log
    assert 'on the token "%s" (serial number %s)' % (label, tier.p.serial) in log, log
    assert pcscenv.ADMIN_PIN not in log and pcscenv.USER_PIN not in log
    # The page saw the card at work: each stage once, in order, before the answer,
    # and the card's own time between generatingKey and the next stage.
    assert stages(progress) == keygen_stages(), progress
    elapsed = {p["stage"]: p["elapsedMs"] for p in progress}
    after = progress[progress.index(next(p for p in progress
                                         if p["stage"] == "generatingKey")) + 1]
    assert after["elapsedMs"] - elapsed["generatingKey"] >= KEYGEN_DELAY_MS, progress
    tier.generated[label] = dict(res, keyIdExpected=key_id)
    return res


def test_keygen_rsa_2048_verifies_and_reports_the_cards_progress():
    res = check_generated(tier.p.rsa_token, tier.p.rsa_key_id, RSA_2048)
    assert serialization.load_pem_public_key(res["publicKey"].encode()).key_size == 2048


def test_keygen_p256_where_the_token_can_sign_sha256_else_refused_before_any_dialog():
    if tier.p.ec_supported:
        res = check_generated(tier.p.ec_token, tier.p.ec_key_id, P_256)
        key = serialization.load_pem_public_key(res["publicKey"].encode())
        assert key.curve.name == "secp256r1"
        return
    before = card_objects(tier.p.ec_token)
    ws = tier.daemon.connect(timeout=60)
    progress, r = generate(ws, tier.p.ec_token, P_256)
    ws.close()
    assert error_reason(r) == "UNSUPPORTED_ALGORITHM", r
    assert "SHA-256" in r["error"]["message"], r
    assert "START" not in tier.dialogs.shown() and progress == [], progress
    assert card_objects(tier.p.ec_token) == before


def test_certificates_install_writes_the_issued_certificate_under_the_key_id():
    ws = tier.daemon.connect(timeout=120)
    for label, gen in tier.generated.items():
        key_id = gen["keyId"]
        cert = tier.ca.issue(gen["csr"])
        gen["cert"] = cert
        tier.dialogs.answers(*pin_answers(tier.p.writer_pin))
        progress, r = ws.call_with_progress(2, "certificates.install",
                                            {"certificate": cert, "chain": [tier.ca.pem()]})
        assert "result" in r, r
        r = r["result"]
        assert r["keyId"] == key_id, r
        assert stages(progress)[-1] == "writingCertificate", progress
        if tier.p.chain_stored:
            assert len(r["installed"]) == 2 or r["alreadyPresent"], r
        else:
            assert len(r["installed"]) == 1 and r["notStored"] == [{
                "subject": "CN=cardbridge Test CA",
                "reason": "the card has no room for CA certificates"}], r
        log = tier.dialogs.shown()
        assert "SETPROMPT " + tier.p.prompt(tier.p.writer_pin) in log and \
            "store the certificate for Joe Doe issued by cardbridge Test CA" in log, log
        # Under the key's CKA_ID, as pkcs11-tool sees the card: that certificate only.
        mine = [o for o in card_objects(label) if o["kind"] == "Certificate" and o["id"] == key_id]
        assert len(mine) == 1 and "CN=Joe Doe" in mine[0].get("subject", ""), mine
        out = os.path.join(tier.env.dir, "cert-%s.der" % key_id)
        tier.env.pkcs11_tool("--token-label", label, "--read-object", "--type", "cert",
                             "--id", key_id, "-o", out)
        with open(out, "rb") as f:
            assert f.read() == x509.load_pem_x509_certificate(cert.encode()).public_bytes(
                serialization.Encoding.DER)
    listed = ws.result("certificates.list")["certificates"]
    ws.close()
    keys = sorted(g["keyId"] for g in tier.generated.values())
    assert sorted(c["keyId"] for c in listed if c["subject"] != "CN=cardbridge Test CA") == keys
    assert all(c["hasPrivateKey"] for c in listed if c["keyId"] in keys), listed
    # A CA certificate never takes a key's ID (OpenSC would give it 45 on a PKCS#15 card).
    ca = [c for c in listed if c["subject"] == "CN=cardbridge Test CA"]
    assert len(ca) == (1 if tier.p.chain_stored else 0), listed
    assert all(c["keyId"] not in keys for c in ca), ca


# --- PINs, and the card pulled --------------------------------------------------------

def test_wrong_pins_count_down_and_the_third_locks_with_no_dialog_after():
    """Admin PIN first where it generates; then the user PIN is wrong, wrong,
    cancelled; wrong once more locks it, and a locked PIN gets no dialog."""
    swap_card(os.path.join(tier.env.dir, "lockout.state"))
    try:
        ws = tier.daemon.connect(timeout=120)
        before = pin_answers(*tier.p.keygen_pins[:-1])
        wrong = "pin 000000"
        progress, r = generate(ws, tier.p.rsa_token, RSA_2048, *before, wrong, wrong, "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        # OpenSC tells nothing after the first wrong PIN, "final try" after the second.
        assert r["error"]["data"]["retriesLeft"] == 1, r
        assert ("stays in key slot" in r["error"]["message"]) == tier.p.keeps_failed_keys, r
        assert tier.dialogs.lines("SETERROR") == [
            "Wrong PIN. Try again.", "Wrong PIN. This is the last try before the PIN is locked."]
        assert stages(progress).count("waitingForPin/user") == 1, progress
        progress, r = generate(ws, tier.p.ec_token, RSA_2048, *before, wrong)
        assert error_reason(r) == "PIN_LOCKED", r
        assert r["error"]["data"]["retriesLeft"] == 0, r
        assert tier.dialogs.lines("SETERROR") == ["This is the last try before the PIN is locked."]
        progress, r = generate(ws, tier.p.ec_token, RSA_2048, *before,
                               "pin " + pcscenv.USER_PIN)
        assert error_reason(r) == "PIN_LOCKED", r
        assert "START" not in tier.dialogs.shown(), "a dialog although the PIN is locked"
        assert progress == [], progress
        flags = [t["flags"]["pinLocked"] for t in card_tokens(ws)]
        ws.close()
        assert flags and all(flags), flags
        if not tier.p.keeps_failed_keys:  # nothing was generated: the PIN came first
            assert not [o for o in card_objects(tier.p.rsa_token) if "Key" in o["kind"]]
    finally:
        swap_card(main_state(), "--keygen-delay-ms", str(KEYGEN_DELAY_MS))


def test_card_pulled_mid_keygen_is_card_removed_and_works_again_after_reinsertion():
    # The card takes 5 s to generate: it is pulled while the page sees generatingKey.
    swap_card(os.path.join(tier.env.dir, "pulled.state"), "--keygen-delay-ms", "5000")
    try:
        ws = tier.daemon.connect(timeout=120)
        ws.result("events.subscribe")
        uri = card_uri(ws, tier.p.rsa_token)
        tier.dialogs.answers(*pin_answers(*tier.p.keygen_pins))
        ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": 77, "method": "keys.generate",
                                  "params": {"token": uri, "algorithm": RSA_2048}}))
        reply = removed = None
        ws.sock.settimeout(30)
        while reply is None or removed is None:
            msg = ws.recv()
            if msg.get("method") == "progress" and msg["params"]["stage"] == "generatingKey":
                time.sleep(0.3)
                tier.env.card.kill()
                tier.env.card.wait()
            elif msg.get("id") == 77:
                reply = msg
            elif msg.get("method") == "event" and msg["params"]["type"] == "cardRemoved":
                removed = msg["params"]
        assert error_reason(reply) == "CARD_REMOVED", reply
        assert removed["reader"].startswith("Virtual PCD"), removed
        shown = tier.dialogs.shown()
        assert shown.count("START") == 1, "a dialog after the card was pulled: " + shown
        failed = re.findall(r"debug: (.*): CK_RV 0x[0-9a-f]+$", tier.daemon.read_log(), re.M)
        print("# the pulled card failed in: %s" % (failed[-1] if failed else "?"))
        # Back in, without the delay: the same card works again.
        tier.env.insert()
        next_event(ws, "cardInserted")
        label = tier.p.ec_token if tier.p.ec_supported else tier.p.rsa_token
        progress, r = generate(ws, label, P_256 if tier.p.ec_supported else RSA_2048,
                               *pin_answers(*tier.p.keygen_pins))
        ws.close()
        assert "result" in r, r
        assert pki.verify_csr(r["result"]["csr"])
    finally:
        swap_card(main_state(), "--keygen-delay-ms", str(KEYGEN_DELAY_MS))


def test_finally_no_pin_reached_the_daemon_or_helper_log():
    log = tier.daemon.read_log()
    assert "debug" in log
    for pin in (pcscenv.ADMIN_PIN, pcscenv.USER_PIN, pcscenv.PUK):
        assert pin not in log

"""Card faults, as a real card OS shows them (issue 12, item 7).

Each fault is reproduced on the virtual IsoApplet card (a PKCS#15 card that
OpenSC 0.23 drives through its isoApplet driver, tests/pcscenv.py) through
pcscd, vpcd and OpenSC, with the virtual card's fault injection, and driven
through the WebSocket as a portal would:

  - the card pulled while the PIN dialog is open: the dialog closes at once,
    the page gets CARD_REMOVED;
  - pcscd stopped while the PIN dialog is open, and during a key generation:
    SERVICE_STOPPED, not CARD_REMOVED;
  - the card pulled during certificates.install (--remove-after N
    --reinsert-after-ms M at points across the write): the answer is what
    the card holds once it is back, never "not stored" when it was, and
    data.maybeStored when the card stays away;
  - the card pulled during the clean-up of a failed keys.generate: the pair
    is remembered (across a helper restart) and removed after the next
    login on the same card; the log says what really happened;
  - MODULE_ERROR with the card present: PC/SC is asked, not the card (no
    status APDU, well under a second);
  - module by ATR: a module serves only the cards its list names, a card
    whose module failed to load is usable through no other module and is
    reported as waiting for it (tokens.list, `cardbridge status`), and two
    modules that drive one card give one token.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization

import cbtest
import pcscenv
import pki
import softhsm
import tap
from cbtest import error_reason, wait_for, helper_of, pinentry_of, send, reply_to, pending

SERIAL = "c0ffee01"
LABEL = "cardbridge test (User PIN)"
ATR = "3b8c800163622d49736f4170706c657448"     # the IsoApplet card's (tests/vcard/README.md)
OTHER_ATR = "3bda18ff81b1fe751f030031f573c00180059000f9"   # the OpenPGP card's
SPY = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so"
CLI = os.path.join(cbtest.BUILDDIR, "cli", "cardbridge")
RSA = {"type": "RSA", "bits": 2048}
E = {}


def setup():
    env = E["env"] = pcscenv.PcscEnv("isoapplet")
    env.insert()
    env.personalise_isoapplet(extra=("--serial", SERIAL))
    # A key made by OpenSC's own tool: the certificate tests need one whatever keys.generate does.
    env.pkcs11_tool("--login", "--pin", pcscenv.USER_PIN, "--keypairgen", "--key-type",
                    "rsa:2048", "--id", "01", "--label", "fixture")
    spki, der = os.path.join(env.dir, "fixture.der"), os.path.join(env.dir, "cert.der")
    env.pkcs11_tool("--read-object", "--type", "pubkey", "--id", "01", "-o", spki)
    E["ca"] = pki.TestCA()
    E["ca"].issue_for_public_key(spki, der, "Joe Doe")
    with open(der, "rb") as f:
        E["cert"] = x509.load_der_x509_certificate(f.read()).public_bytes(
            serialization.Encoding.PEM).decode()
    env.remove()
    E["base"] = os.path.join(env.dir, "base.state")
    shutil.copy(env.state, E["base"])
    E["apdus"] = os.path.join(env.dir, "apdus")
    E["dialogs"] = cbtest.Dialogs(prefix="cb-cardfaults-")
    E["daemon"] = daemon(CB_HELPER_CARD_BACK_MS="3000")


def teardown():
    for d in E.get("daemons", []):
        d.stop()
    if E.get("env"):
        E["env"].stop()
    if E.get("dialogs"):
        E["dialogs"].cleanup()


def daemon(config=None, **extra):
    """A cardbridged with OpenSC (or config's modules), the scripted dialogs, and the
    helper's test hooks (CB_HELPER_TESTING=1) with extra in its environment."""
    env = dict(E["env"].env, CB_HELPER_TESTING="1", **E["dialogs"].env())
    env.update(extra)
    d = cbtest.Daemon(modules=[] if config else [pcscenv.OPENSC_MODULE], config=config, env=env)
    E.setdefault("daemons", []).append(d)
    return d


def fresh_card(*args):
    """Pull the card, put its state back to the fixture's, insert it with these
    cardbridge-vcard options."""
    env = E["env"]
    if env.pcscd.poll() is not None:       # a test before this one stopped it
        env.start_pcscd()
    if env.card is not None and env.card.poll() is None:
        env.remove()
    shutil.copy(E["base"], env.state)
    env.insert(*args)


def card_uri(ws, label=LABEL):
    """The card's token URI once the daemon lists it."""
    return wait_for("the card's token", lambda: {t["label"]: t["uri"] for t in
                                               ws.result("tokens.list")["tokens"]}.get(label))


def apdus():
    try:
        with open(E["apdus"]) as f:
            return int(f.read())
    except (OSError, ValueError):
        return -1


def settled(quiet=0.4, timeout=20):
    """The card's APDU count once it has not changed for `quiet` seconds."""
    last, since, deadline = apdus(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.02)
        n = apdus()
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return n
    raise AssertionError("the card never went quiet")


def card_objects(login=False):
    """What OpenSC's own pkcs11-tool finds on the card, as (kind, id) pairs.  A card
    just put back may take a moment to show its token."""
    args = ["--login", "--pin", pcscenv.USER_PIN] if login else []

    def listed():
        if not E["env"].card_present():
            return None
        out = E["env"].pkcs11_tool("-O", *args, check=False)
        return None if "No slot with a token" in out else out

    out = wait_for("the card's token", listed, timeout=20, interval=0.2)
    return sorted((o["kind"], o["id"]) for o in softhsm.parse_objects(out))


def certificate_on_card():
    return ("Certificate", "01") in card_objects()


def pin():
    return "pin " + pcscenv.USER_PIN


# --- the PIN dialog ---------------------------------------------------------------

def start_keygen_and_wait_for_the_dialog(d, id):
    ws = d.connect(timeout=60)
    uri = card_uri(ws)
    helper = helper_of(d)
    E["dialogs"].answers("hang")
    send(ws, id, "keys.generate", {"token": uri, "algorithm": RSA})
    wait_for("the PIN dialog", lambda: "GETPIN" in E["dialogs"].shown() and pinentry_of(helper))
    return ws, helper


def test_a_card_pulled_while_the_pin_dialog_is_open_closes_it_with_card_removed():
    d = E["daemon"]
    fresh_card()
    ws, helper = start_keygen_and_wait_for_the_dialog(d, 11)
    t0 = time.monotonic()
    E["env"].card.kill()
    E["env"].card.wait()
    r = reply_to(ws, 11, timeout=15)
    took = time.monotonic() - t0
    print("# the page had CARD_REMOVED %.0f ms after the pull" % (took * 1000), flush=True)
    ws.close()
    assert error_reason(r) == "CARD_REMOVED", r
    assert "while the PIN dialog was open" in r["error"]["message"], r
    assert took < 5, "the dialog stayed up %.1f s" % took
    assert not pinentry_of(helper), "the dialog is still on the screen"
    assert "TERM" in E["dialogs"].shown()


def answer_after_killing_pcscd(ws, id):
    """Kill pcscd (and the card with it), then the answer to request id; pcscd is
    started again whatever happens."""
    E["env"].kill_pcscd()
    try:
        return reply_to(ws, id, timeout=30)
    finally:
        ws.close()
        E["env"].start_pcscd()


def test_pcscd_stopped_while_the_pin_dialog_is_open_is_service_stopped():
    d = E["daemon"]
    fresh_card()
    ws, helper = start_keygen_and_wait_for_the_dialog(d, 12)
    r = answer_after_killing_pcscd(ws, 12)
    assert error_reason(r) == "SERVICE_STOPPED", r
    assert "pcscd" in r["error"]["message"], r
    assert not pinentry_of(helper)


def test_pcscd_killed_during_a_keygen_is_service_stopped_not_card_removed():
    d = E["daemon"]
    fresh_card("--keygen-delay-ms", "4000")
    ws = d.connect(timeout=60)
    uri = card_uri(ws)
    E["dialogs"].answers(pin())
    send(ws, 13, "keys.generate", {"token": uri, "algorithm": RSA})
    wait_for("the PIN to be accepted", lambda: "BYE" in E["dialogs"].shown(), timeout=30)
    time.sleep(0.5)                  # the card is generating
    assert pending(ws) is None, "the keygen ended before pcscd was killed"
    r = answer_after_killing_pcscd(ws, 13)
    print("# pcscd killed mid-keygen: %s: %s" % (error_reason(r), r["error"]["message"]),
          flush=True)
    assert error_reason(r) == "SERVICE_STOPPED", r
    assert "smart-card service (pcscd) stopped" in r["error"]["message"], r


# --- certificates.install ----------------------------------------------------------

def install(d, *card_args):
    """certificates.install of the fixture's certificate on a card started with card_args;
    (the answer, the APDU count before it, after it)."""
    fresh_card("--apdu-count", E["apdus"], *card_args)
    ws = d.connect(timeout=60)
    card_uri(ws)
    before = settled()
    E["dialogs"].answers(pin())
    r = ws.call("certificates.install", {"certificate": E["cert"]})
    ws.close()
    return r, before, apdus()


def test_a_card_pulled_during_certificates_install_never_hides_a_stored_certificate():
    d = E["daemon"]
    r, first, last = install(d)
    assert "result" in r and len(r["result"]["installed"]) == 1, r
    # The same card, pulled after the Nth APDU and back 800 ms later, N across the write.
    points = sorted({n for n in (first + 1, (first + last) // 2, last - 9, last - 7, last - 5,
                                 last - 3, last - 1) if first < n < last})
    outcomes, stored_after_a_failed_write = [], 0
    for n in points:
        r, _, _ = install(d, "--remove-after", str(n), "--reinsert-after-ms", "800")
        stored = certificate_on_card()
        said = "installed" if "result" in r else "%s: %s" % (error_reason(r),
                                                              r["error"]["message"])
        outcomes.append("%d: %s / %s" % (n - first, "stored" if stored else "not stored", said))
        if "result" in r:
            assert stored, "installed, but the card has no certificate (pull at %d)" % n
            assert r["result"]["installed"][0]["keyId"] == "01", r
        else:
            assert not stored, "the page was told %r but the card holds it" % said
            assert "the certificate was not stored" in r["error"]["message"], r
            assert "maybeStored" not in r["error"]["data"], r
        log = d.read_log()
        stored_after_a_failed_write = log.count("the certificate was stored before the write")
    print("# pulls after APDU n of %d: %s" % (last - first, "; ".join(outcomes)), flush=True)
    assert stored_after_a_failed_write > 0, "no pull fell after the certificate was stored"


def test_a_card_that_stays_away_after_a_failed_write_says_it_may_be_stored():
    d = E["daemon"]
    r, first, last = install(d)
    assert "result" in r, r
    # Pulled after the certificate is written, before OpenSC is done; it stays out.
    r, _, _ = install(d, "--remove-after", str(last - 5))
    assert error_reason(r) == "CARD_REMOVED", r
    assert r["error"]["data"].get("maybeStored") is True, r
    assert "may have been stored" in r["error"]["message"], r
    fresh_card()                       # the card back for whatever runs next


# --- the clean-up of a failed keys.generate --------------------------------------

def journal(d):
    path = os.path.join(d.env["XDG_STATE_HOME"], "cardbridge", "cleanup.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)["cleanups"]


def test_a_card_pulled_during_keygen_clean_up_is_cleaned_up_after_the_next_login():
    # Every keys.generate fails once its pair is made (the helper's test hook).
    d = daemon(CB_HELPER_FAULT="after-keygen")
    fresh_card()
    before = card_objects(login=True)
    fresh_card("--delay-ms", "100")           # slow, so that it can be pulled mid-clean-up
    ws = d.connect(timeout=120)
    uri = card_uri(ws)
    E["dialogs"].answers(pin(), pin())
    send(ws, 21, "keys.generate", {"token": uri, "algorithm": RSA, "label": "half-made"})
    started = wait_for("the clean-up or the answer", lambda:
                       "removing the half-made key pair" in d.read_log() or pending(ws),
                       timeout=90)
    E["env"].card.kill()
    E["env"].card.wait()
    assert started is True, "the keygen ended without a clean-up to pull the card in: %r" % started
    r = reply_to(ws, 21)
    log = d.read_log()
    assert "error" in r, r
    assert "removed the half-made key pair" not in log, "the log claims a removal that failed"
    assert re.search(r"the half-made key pair \(CKA_ID \w+\) is still on the token", log), log
    left = journal(d)
    assert len(left) == 1 and left[0]["token"] == uri and left[0]["publicKey"], left
    # Back, as it was left: the pair is there.
    E["env"].insert()
    after_pull = card_objects(login=True)
    assert ("Private Key", left[0]["id"]) in after_pull, after_pull
    # The helper restarts: the journal outlives it.
    old = helper_of(d)
    os.kill(old, signal.SIGKILL)
    wait_for("a new helper", lambda: cbtest.children(d.proc.pid, b"pkcs11-helper") not in
             ([], [old]), timeout=20)
    E["dialogs"].answers(pin(), pin())
    r = ws.call("keys.generate", {"token": card_uri(ws), "algorithm": RSA})
    ws.close()
    assert "error" in r, r                     # the hook again; its own pair is removed
    log = d.read_log()
    assert re.search(r"removed the half-made key pair \(CKA_ID %s\) that request \d+ left"
                     % left[0]["id"], log), log
    assert card_objects(login=True) == before, "something is left on the card"
    assert journal(d) == []


# --- MODULE_ERROR with the card present ---------------------------------------------

class ApduClock(threading.Thread):
    """When the card's APDU count last changed, until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.last, self.changed, self.stop = apdus(), time.monotonic(), False

    def run(self):
        while not self.stop:
            n = apdus()
            if n != self.last:
                self.last, self.changed = n, time.monotonic()
            time.sleep(0.002)


def test_a_module_error_with_the_card_present_asks_pcsc_not_the_card():
    d = E["daemon"]
    fresh_card("--fail-keygen", "--apdu-count", E["apdus"])
    ws = d.connect(timeout=60)
    uri = card_uri(ws)
    settled()
    E["dialogs"].answers(pin())
    clock = ApduClock()
    clock.start()
    r = ws.call("keys.generate", {"token": uri, "algorithm": RSA})
    answered = time.monotonic()
    clock.stop = True
    clock.join()
    ws.close()
    after = answered - clock.changed
    print("# MODULE_ERROR answered %.0f ms after the card's last APDU" % (after * 1000),
          flush=True)
    assert error_reason(r) == "MODULE_ERROR", r
    assert after < 0.9, "%.2f s between the card's last answer and the page's" % after


def test_a_module_error_on_an_openpgp_card_sends_it_no_status_apdu():
    """The OpenPGP card answers each question of the old check with a VERIFY."""
    env = pcscenv.PcscEnv("openpgp")
    try:
        count = os.path.join(env.dir, "apdus")
        env.insert("--fail-keygen", "--verbose", "--apdu-count", count)
        d = cbtest.Daemon(modules=[pcscenv.OPENSC_MODULE],
                          env=dict(env.env, **E["dialogs"].env()))
        E["daemons"].append(d)
        ws = d.connect(timeout=60)
        uri = card_uri(ws, "OpenPGP card (User PIN (sig))")
        E["dialogs"].answers("pin " + pcscenv.ADMIN_PIN)
        with open(os.path.join(env.dir, "vcard.log")) as f:
            start = len(f.read())
        r = ws.call("keys.generate", {"token": uri, "algorithm": RSA})
        ws.close()
        time.sleep(0.5)
        with open(os.path.join(env.dir, "vcard.log")) as f:
            sent = re.findall(r" C: ([0-9a-f]+)", f.read()[start:])
        assert error_reason(r) == "MODULE_ERROR", r
        failed = sent.index("0047800002")    # GENERATE ASYMMETRIC KEY PAIR
        after = [c for c in sent[failed + 1:] if c == "00200081"]
        print("# APDUs of the failed keygen: %d, status checks after the failure: %d"
              % (len(sent), len(after)), flush=True)
        assert after == [], "status APDUs after the failure: %r" % sent[failed + 1:]
    finally:
        env.stop()


# --- module by ATR ----------------------------------------------------------------

def token_labels(d):
    ws = d.connect()
    r = ws.result("tokens.list")
    ws.close()
    return sorted(t["label"] for t in r["tokens"]), r.get("waitingCards", [])


def test_a_module_whose_atr_list_does_not_name_the_card_does_not_serve_it():
    hsm = softhsm.SoftHSM(["soft token"])
    try:
        fresh_card()
        d = daemon(config={"modules": [{"path": softhsm.MODULE},
                                       {"path": pcscenv.OPENSC_MODULE, "atr": [OTHER_ATR]}]},
                   SOFTHSM2_CONF=hsm.conf)
        labels, _ = wait_for("the tokens", lambda: token_labels(d)[0] and token_labels(d),
                             timeout=30)
        assert labels == ["soft token"], labels
        ws = d.connect()
        E["dialogs"].answers(pin())
        uri = "pkcs11:serial=%s;token=cardbridge%%20test%%20%%28User%%20PIN%%29" % SERIAL
        r = ws.call("keys.generate", {"token": uri, "algorithm": RSA})
        assert error_reason(r) == "TOKEN_NOT_PRESENT", r
        assert "atr list of the module %s does not name the card" % pcscenv.OPENSC_MODULE \
            in r["error"]["message"], r
        r = ws.call("certificates.list", {"token": uri})
        ws.close()
        assert error_reason(r) == "TOKEN_NOT_PRESENT", r
        assert "START" not in E["dialogs"].shown(), "a PIN dialog for a card nobody serves"
        d.stop()
    finally:
        hsm.cleanup()


def test_a_card_whose_module_failed_to_load_waits_for_it_and_no_other_module_serves_it():
    fresh_card()
    runtime = tempfile.mkdtemp(prefix="cb-run-")
    os.chmod(runtime, 0o700)
    vendor = os.path.join(runtime, "vendor-pkcs11.so")
    with open(vendor, "w") as f:
        f.write("not a PKCS#11 module\n")
    d = daemon(config={"modules": [{"path": pcscenv.OPENSC_MODULE},
                                   {"path": vendor, "atr": [ATR]}]},
               XDG_RUNTIME_DIR=runtime)
    _, waiting = wait_for("the card to wait", lambda: token_labels(d)[1] and token_labels(d))
    labels, _ = token_labels(d)
    assert LABEL not in labels, labels
    assert len(waiting) == 1, waiting
    w = waiting[0]
    assert w["reader"].startswith("Virtual PCD") and w["atr"] == ATR, w
    assert w["module"] == os.path.realpath(vendor) and "cannot load" in w["error"], w
    ws = d.connect()
    uri = "pkcs11:serial=%s;token=cardbridge%%20test%%20%%28User%%20PIN%%29" % SERIAL
    r = ws.call("keys.generate", {"token": uri, "algorithm": RSA})
    assert error_reason(r) == "TOKEN_NOT_PRESENT", r
    assert "which could not be loaded" in r["error"]["message"], r
    # Nothing reaches the card through OpenSC: not its certificates, not its key.
    assert ws.result("certificates.list", {})["certificates"] == []
    r = ws.call("certificates.install", {"certificate": E["cert"]})
    ws.close()
    assert error_reason(r) == "KEY_NOT_FOUND", r
    assert not certificate_on_card()
    # cardbridge tokens and status say which card waits for which module, and why.
    for command in ("tokens", "status"):
        p = subprocess.run([CLI, command], env=dict(d.env, LANG="C"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode()
        assert "cards waiting for their module:" in out, out
        assert os.path.realpath(vendor) in out and "cannot load" in out, out
    d.stop()
    shutil.rmtree(runtime, ignore_errors=True)


def test_two_modules_that_drive_one_card_give_one_token():
    if not os.path.exists(SPY):
        tap.skip("OpenSC's pkcs11-spy.so is not installed")
    fresh_card()
    spy = {"PKCS11SPY": pcscenv.OPENSC_MODULE,
           "PKCS11SPY_OUTPUT": os.path.join(E["env"].dir, "spy.log")}
    for second in ({"path": SPY}, {"path": SPY, "atr": [ATR]}):
        d = daemon(config={"modules": [{"path": pcscenv.OPENSC_MODULE}, second]}, **spy)
        labels, _ = wait_for("the card", lambda: LABEL in token_labels(d)[0] and token_labels(d))
        assert labels == [LABEL], labels
        ws = d.connect()
        r = ws.call("certificates.list", {"token": card_uri(ws)})
        ws.close()
        d.stop()
        assert "result" in r, "%s: %r" % (second, r)


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, pcscenv.missing)

"""The real card path on the virtual OpenPGP card: pcscd, vpcd, OpenSC.

The e2e tier itself (keygen, CSR, certificate install, wrong PINs,
lockout, a pulled card, progress, events) is tests/cardtier.py, shared
with the IsoApplet card (tests/test-card-isoapplet.py); here it runs on our
virtual OpenPGP card 3.4, which OpenSC shows as two tokens, one per user
PIN: keys.generate puts the key in slot 01 on "OpenPGP card (User PIN
(sig))" and in slot 03 on "OpenPGP card (User PIN)"; the admin PIN
generates, the user PIN signs the CSR (doc/PROTOCOL.md).  Below are the
tests of what only this card does: fixed key slots, and the module chosen
by the card's ATR.
"""
import os
import re
import time

import cbtest
import pcscenv
import tap
from cardtier import (OpenPGP, card_public_key, card_objects, card_tokens, card_uri, generate,
                      main_state, pin_answers, run, swap_card, tier)
from cbtest import error_reason

SIG = OpenPGP.rsa_token
USER = OpenPGP.ec_token


def test_full_slots_are_slot_occupied_before_any_dialog_and_nothing_changes():
    before = {(label, key_id): card_public_key(label, key_id)
              for label, key_id in ((SIG, "01"), (USER, "03"))}
    ws = tier.daemon.connect(timeout=120)
    tier.dialogs.answers()
    for label, key_id in ((SIG, "01"), (USER, "03")):
        for overwrite in (False, True):
            r = ws.call("keys.generate", {"token": card_uri(ws, label), "overwrite": overwrite,
                                          "algorithm": {"type": "EC", "curve": "P-256"}})
            assert error_reason(r) == "SLOT_OCCUPIED", r
            assert ("key slot %s" % key_id) in r["error"]["message"], r
            assert ("cannot replace" in r["error"]["message"]) == overwrite, r
    # A second certificate for a key that has one cannot go on the card either.
    other = tier.ca.issue(tier.generated[SIG]["csr"])
    r = ws.call("certificates.install", {"certificate": other})
    ws.close()
    assert error_reason(r) == "SLOT_OCCUPIED" and "certificate" in r["error"]["message"], r
    assert "START" not in tier.dialogs.shown(), "a dialog for a request that cannot succeed"
    assert before == {(label, key_id): card_public_key(label, key_id) for label, key_id in before}
    certs = [o for o in card_objects(SIG) if o["kind"] == "Certificate"]
    assert len(certs) == 1


def apdus_settled(count, quiet=1.0, limit=30.0):
    """The card's APDU count once it has not moved for `quiet` seconds."""
    deadline = time.monotonic() + limit
    with open(count) as f:
        last = int(f.read() or 0)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        with open(count) as f:
            now = int(f.read() or 0)
        if now == last:
            return now
        last = now
    raise AssertionError("the card was still busy after %d s" % limit)


def test_keygen_reads_each_slots_pin_state_once_per_token_lookup():
    """On this card every C_GetTokenInfo is an APDU (VERIFY without data: the
    PIN's state).  keys.generate looks the token up twice (before, and after
    OpenSC is reloaded), two slots each; the PIN checks that follow a lookup
    must not ask the card again."""
    count = os.path.join(tier.env.dir, "apdus")
    swap_card(os.path.join(tier.env.dir, "apdus.state"), "--apdu-count", count, "--verbose")
    log = os.path.join(tier.env.dir, "vcard.log")
    try:
        ws = tier.daemon.connect(timeout=120)
        card_uri(ws, SIG)
        # The card's insertion refreshes the token list in the background;
        # under load that read may still be going on here.
        before = apdus_settled(count)
        at = os.path.getsize(log)
        _, r = generate(ws, SIG, {"type": "RSA", "bits": 2048},
                        *pin_answers(pcscenv.ADMIN_PIN, pcscenv.USER_PIN))
        ws.close()
        assert "result" in r, r
        time.sleep(0.5)     # the card counts an APDU after answering it
        with open(count) as f:
            sent = int(f.read()) - before
        with open(log, errors="replace") as f:
            f.seek(at)
            status = re.findall(r"C: 0020008[123] \(4 bytes\)", f.read())
        print("# keys.generate RSA 2048 + CSR: %d APDUs, %d PIN state reads" % (
            sent, len(status)))
        assert len(status) == 4, status
    finally:
        swap_card(main_state())


MOCK = os.path.join(cbtest.BUILDDIR, "tests", "mock-p11", "mock-p11.so")
VCARD_ATR = "3bda18ff81b1fe751f030031f573c00180059000f9"


def atr_daemon(pattern):
    """OpenSC plus a stand-in vendor module that claims cards matching pattern."""
    reader = card_tokens_reader()
    return cbtest.Daemon(config={"modules": [{"path": pcscenv.OPENSC_MODULE},
                                             {"path": MOCK, "atr": [pattern]}]},
                         env=dict(tier.env.env, MOCK_P11_READER=reader,
                                  MOCK_P11_LABEL="vendor token"))


def card_tokens_reader():
    ws = tier.daemon.connect()
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
    """A module with an atr list serves only the cards the list names: the
    vendor module's token in the card's reader is not used (issue 12)."""
    if not os.path.exists(MOCK):
        tap.skip("tests/mock-p11/mock-p11.so not built")
    d = atr_daemon("3b00")
    try:
        tokens = wait_for_tokens(d, lambda ts: [t for t in ts
                                                if t["manufacturer"] == "OpenPGP project"])
        assert [t for t in tokens if t["manufacturer"] == "OpenPGP project"], tokens
        assert "vendor token" not in [t["label"] for t in tokens], tokens
    finally:
        d.stop()


if __name__ == "__main__":
    run(globals(), OpenPGP())

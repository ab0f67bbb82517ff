"""Card management (issue 13) on the virtual cards, through OpenSC 0.23.

A private pcscd, our virtual OpenPGP card 3.4 and IsoApplet card, OpenSC's
opensc-pkcs11.so in the helper, driven as a portal would (WebSocket) and
as the user would (`cardbridge card` over the control socket).  pkcs11-tool
is the independent view of the card; the IsoApplet card also counts the
APDUs it receives, so "nothing reached the card" is measured, not assumed.

What is checked, per card (doc/PROTOCOL.md, "Card management"):
  OpenPGP    PW1 locked by three wrong PINs, unblocked with the admin PIN
             (PW3: C_Login(CKU_SO) + C_InitPIN = RESET RETRY COUNTER 02),
             then a key generated; PW1 and PW3 changed; deleting refused.
  IsoApplet  the PIN locked through cardbridge, unblocked with the PUK
             (C_Login(CKU_SO, PUK) + C_InitPIN = RESET RETRY COUNTER 00), a
             wrong PUK asked for again; the PIN changed; a key pair and a
             certificate deleted; cancel and mismatches send no APDU.
The helper runs OpenSC with init_pin_in_so_session (pkcs11/opensc_conf.c):
the tests' own opensc.conf has no pkcs11 block, as a system one has none.
"""
import os
import re
import subprocess

import cbtest
import pcscenv
import pki
from cbtest import error_reason

CLI = os.path.join(cbtest.BUILDDIR, "cli", "cardbridge")
USER = "OpenPGP card (User PIN)"
SIG = "OpenPGP card (User PIN (sig))"
ISO = pcscenv.LABEL + " (User PIN)"


class Card:
    """A card in a private pcscd, a daemon with its control socket, the dialogs."""

    def __init__(self, personality, before_daemon=None):
        self.env = pcscenv.PcscEnv(personality)
        self.apdus = os.path.join(self.env.dir, "apdus")
        self.env.insert("--apdu-count", self.apdus, "--verbose")
        if personality == "isoapplet":
            self.env.personalise_isoapplet()
        if before_daemon:
            before_daemon(self)
        self.dialogs = cbtest.Dialogs()
        self.control = os.path.join(self.env.dir, "control")
        self.daemon = cbtest.Daemon(modules=[pcscenv.OPENSC_MODULE],
                                    env=dict(self.env.env, **self.dialogs.env()),
                                    args=["--control-socket", self.control])

    def stop(self):
        self.daemon.stop()
        self.env.stop()
        self.dialogs.cleanup()

    def uri(self, label):
        return self.token(label)["uri"]

    def token(self, label):
        ws = self.daemon.connect()
        try:
            return next(t for t in ws.result("tokens.list")["tokens"] if t["label"] == label)
        finally:
            ws.close()

    def call(self, method, params, *answers):
        self.dialogs.answers(*answers)
        ws = self.daemon.connect(timeout=300)
        try:
            return ws.call(method, params)
        finally:
            ws.close()

    def apdu_count(self):
        with open(self.apdus) as f:
            return int(f.read().strip() or 0)

    def cli(self, *args):
        p = subprocess.run([CLI, "--control-socket", self.control] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                           env=dict(os.environ, LANG="C"))
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def tool(self, *args):
        return self.env.pkcs11_tool(*args, check=False)

    def login_works(self, pin, *slot):
        return "CKR_" not in self.tool(*slot, "--login", "--pin", pin, "-O")

    def objects(self, pin, *slot):
        out = self.env.pkcs11_tool(*slot, "--login", "--pin", pin, "-O")
        return sorted(re.findall(r"^(Private Key|Public Key|Certificate) Object.*\n"
                                 r"(?:\s+.*\n)*?\s+ID:\s+(\S+)", out, flags=re.M))

    def sent_headers(self):
        """CLA INS P1 P2 of each APDU the card got (hex), from its --verbose log."""
        with open(os.path.join(self.env.dir, "vcard.log"), errors="replace") as f:
            return re.findall(r"\]: C: ([0-9a-f]{8})", f.read())


pgp = iso = None


def setup():
    global pgp, iso
    pgp = Card("openpgp")
    iso = Card("isoapplet", before_daemon=iso_objects)


def iso_objects(card):
    """A key pair and its certificate on the card, and a second key pair, made
    with OpenSC's own tools before the helper first reads the card."""
    ca = pki.TestCA()
    card.env.pkcs11_tool("--login", "--pin", pcscenv.USER_PIN, "--keypairgen", "--key-type",
                         "rsa:2048", "--id", "42", "--label", "old key")
    card.env.pkcs11_tool("--login", "--pin", pcscenv.USER_PIN, "--keypairgen", "--key-type",
                         "rsa:2048", "--id", "43", "--label", "other key")
    pub = os.path.join(card.env.dir, "pub42.der")
    card.env.pkcs11_tool("--read-object", "--type", "pubkey", "--id", "42", "-o", pub)
    cert = os.path.join(card.env.dir, "cert42.der")
    ca.issue_for_public_key(pub, cert, "Old Key")
    card.env.pkcs11_tool("--login", "--pin", pcscenv.USER_PIN, "--write-object", cert,
                         "--type", "cert", "--id", "42", "--label", "old key")


def teardown():
    for card in (pgp, iso):
        if card:
            card.stop()


# --- OpenPGP -----------------------------------------------------------------------

def test_openpgp_tokens_tell_the_admin_pin_unblocks_and_nothing_can_be_deleted():
    t = pgp.token(USER)
    assert t["pins"]["user"] == {"initialized": True, "state": "ok", "toBeChanged": None}, t
    assert t["pins"]["so"] is None and t["pins"]["minLength"] == 6
    m = t["manage"]
    assert m["canUnblockPin"] and m["unblockWith"] == "so" and m["canChangeSoPin"], m
    assert not m["canDeleteObjects"] and "openpgp-tool --erase" in m["why"]["canDeleteObjects"]
    assert not m["canInitializePin"]


def test_openpgp_deleting_is_refused_before_any_dialog():
    r = pgp.call("keys.delete", {"token": pgp.uri(SIG), "keyId": "01"}, "confirm")
    assert error_reason(r) == "NOT_SUPPORTED", r
    assert pgp.dialogs.shown() == ""


def test_openpgp_locked_pin_is_unblocked_with_the_admin_pin_then_makes_a_key():
    for _ in range(3):
        assert not pgp.login_works("999999")
    r = pgp.call("keys.generate", {"token": pgp.uri(SIG), "algorithm": {"type": "EC",
                                                                          "curve": "P-256"}})
    assert error_reason(r) == "PIN_LOCKED", r
    # Cancel at the admin PIN, then at the new PIN: still locked.
    for answers in (["cancel"], ["pin " + pcscenv.ADMIN_PIN, "cancel"]):
        r = pgp.call("pins.unblock", {"token": pgp.uri(USER)}, *answers)
        assert error_reason(r) == "USER_CANCELLED", r
    assert "CKR_PIN_LOCKED" in pgp.tool("--login", "--pin", pcscenv.USER_PIN, "-O")
    r = pgp.call("pins.unblock", {"token": pgp.uri(USER)}, "pin 11111111",
                 "pin " + pcscenv.ADMIN_PIN, "pin 246810", "pin 246810")
    assert r.get("result", {}).get("with") == "so", r
    assert pgp.dialogs.lines("SETPROMPT") == ["Admin PIN:", "Admin PIN:", "New user PIN:"]
    assert pgp.dialogs.lines("SETERROR") == ["Wrong PIN. Try again."]
    assert pgp.login_works("246810") and not pgp.login_works(pcscenv.USER_PIN)
    r = pgp.call("keys.generate", {"token": pgp.uri(SIG), "algorithm": {"type": "EC",
                                                                          "curve": "P-256"}},
                 "pin " + pcscenv.ADMIN_PIN, "pin 246810")
    assert r["result"]["keyId"] == "01", r
    assert ("Private Key", "01") in pgp.objects("246810", "--slot-index", "1")


def test_openpgp_pw1_and_pw3_are_changed():
    before = pgp.objects("246810", "--slot-index", "1")
    r = pgp.call("pins.change", {"token": pgp.uri(USER)}, "pin 246810", "pin 135790",
                 "pin 135790")
    assert "result" in r, r
    assert pgp.login_works("135790") and not pgp.login_works("246810")
    r = pgp.call("pins.change", {"token": pgp.uri(USER), "which": "so"},
                 "pin " + pcscenv.ADMIN_PIN, "pin 87654321", "pin 87654321")
    assert r.get("result", {}).get("pin") == "so", r
    out = pgp.tool("--login", "--login-type", "so", "--so-pin", "87654321", "-O")
    assert "CKR_" not in out, out
    assert pgp.objects("135790", "--slot-index", "1") == before


def test_openpgp_unblock_from_the_desktop():
    for _ in range(3):
        pgp.login_works("999999")
    pgp.dialogs.answers("pin 87654321", "pin 112233", "pin 112233")
    rc, out, err = pgp.cli("card", "unblock", "--token", USER)
    assert rc == 0, err
    assert out == "The user PIN was unblocked on the token \"%s\"\n" % USER, out
    assert pgp.dialogs.lines("SETTITLE") == ["cardbridge", "cardbridge"]
    assert pgp.login_works("112233")


# --- IsoApplet ---------------------------------------------------------------------

def test_isoapplet_token_unblocks_with_the_puk_and_tells_only_what_it_knows():
    t = iso.token(ISO)
    assert t["pins"] == {"user": {"initialized": True, "state": "unknown", "toBeChanged": None},
                         "so": None, "minLength": 4, "maxLength": 16}, t["pins"]
    m = t["manage"]
    assert m["canUnblockPin"] and m["unblockWith"] == "puk" and m["canDeleteObjects"], m
    assert not m["canChangeSoPin"] and not m["canInitializePin"], m


def test_isoapplet_cancel_and_mismatch_send_nothing_to_the_card():
    uri = iso.uri(ISO)
    n = iso.apdu_count()
    for answers in (["cancel"], ["pin " + pcscenv.PUK, "cancel"],
                    ["pin " + pcscenv.PUK, "pin 9999", "pin 8888", "cancel"]):
        r = iso.call("pins.unblock", {"token": uri}, *answers)
        assert error_reason(r) == "USER_CANCELLED", r
    assert "REPEATERROR The PINs do not match. Try again." in iso.dialogs.shown()
    r = iso.call("pins.change", {"token": uri}, "cancel")
    assert error_reason(r) == "USER_CANCELLED", r
    assert iso.apdu_count() == n, (n, iso.apdu_count())


def test_isoapplet_pin_locked_through_cardbridge_is_unblocked_with_the_puk():
    uri = iso.uri(ISO)
    before = iso.objects(pcscenv.USER_PIN)
    r = iso.call("pins.change", {"token": uri}, "pin 0000", "pin 1111", "pin 2222")
    assert error_reason(r) == "PIN_LOCKED" and r["error"]["data"]["retriesLeft"] == 0, r
    assert iso.token(ISO)["pins"]["user"]["state"] == "locked"
    assert not iso.login_works(pcscenv.USER_PIN)
    r = iso.call("pins.unblock", {"token": uri}, "pin 8765432187654321", "pin 4321", "pin 4321",
                 "pin " + pcscenv.PUK)
    assert r.get("result", {}).get("with") == "puk", r
    assert iso.dialogs.lines("SETPROMPT") == ["PUK:", "New user PIN:", "PUK:"]
    assert iso.dialogs.lines("SETERROR") == ["Wrong PUK. Try again."]
    assert "asks to unblock the user PIN on the token \"%s\"" % ISO in \
        iso.dialogs.lines("SETDESC")[0]
    # RESET RETRY COUNTER with the PUK (P1 00) for the user PIN (P2 01), twice.
    assert iso.sent_headers().count("002c0001") == 2, iso.sent_headers()
    assert iso.login_works("4321") and iso.objects("4321") == before


def test_isoapplet_unblocked_pin_makes_a_key():
    iso.env.pkcs11_tool("--login", "--pin", "4321", "--keypairgen", "--key-type", "rsa:2048",
                        "--id", "44", "--label", "made by pkcs11-tool")
    r = iso.call("keys.generate", {"token": iso.uri(ISO), "algorithm": {"type": "RSA",
                                                                          "bits": 2048},
                                   "subject": {"CN": "after unblock"}}, "pin 4321")
    assert "result" in r, r
    # OpenSC 0.23 reads the new key back as not sensitive; the key material stays out.
    assert r["result"]["keyAttributes"]["secretReadable"] is False, r


def test_isoapplet_pin_changed_from_the_desktop():
    before = iso.objects("4321")
    iso.dialogs.answers("pin 4321", "pin 56785678", "pin 56785678")
    rc, out, err = iso.cli("card", "change-pin")
    assert rc == 0, err
    assert iso.login_works("56785678") and iso.objects("56785678") == before


def test_isoapplet_key_pair_and_certificate_are_deleted():
    uri = iso.uri(ISO)
    before = iso.objects("56785678")
    r = iso.call("keys.delete", {"token": uri, "keyId": "42", "withCertificates": True},
                 "confirm", "pin 56785678")
    assert sorted(d["kind"] for d in r["result"]["deleted"]) == \
        ["certificate", "privateKey", "publicKey"], r
    assert "the RSA 2048 key pair \"old key\" (ID 42)" in iso.dialogs.lines("SETDESC")[0]
    assert iso.objects("56785678") == [o for o in before if o[1] != "42"]


def test_isoapplet_locked_pin_unblocked_from_the_desktop_then_makes_a_key():
    for _ in range(3):
        assert not iso.login_works("0000")
    assert not iso.login_works("56785678"), "three wrong PINs did not lock the PIN"
    iso.dialogs.answers("pin " + pcscenv.PUK, "pin 2468", "pin 2468")
    rc, out, err = iso.cli("card", "unblock")
    assert rc == 0, err
    assert out == "The user PIN was unblocked on the token \"%s\"\n" % ISO, out
    assert iso.dialogs.lines("SETPROMPT") == ["PUK:", "New user PIN:"], iso.dialogs.shown()
    assert iso.login_works("2468")
    r = iso.call("keys.generate", {"token": iso.uri(ISO), "algorithm": {"type": "RSA",
                                                                          "bits": 2048},
                                   "subject": {"CN": "after a desktop unblock"}}, "pin 2468")
    assert "result" in r, r
    assert ("Private Key", r["result"]["keyId"]) in iso.objects("2468"), r


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, pcscenv.missing,
                     programs=(cbtest.HELPER, CLI, pcscenv.VCARD))

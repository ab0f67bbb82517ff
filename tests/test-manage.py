"""Card management (issue 13) on SoftHSM2, from a page and from the desktop.

A real cardbridged, its helper and throw-away SoftHSM2 tokens; the PINs are
typed into tests/fake-pinentry (its log is what the user saw).  After every
operation pkcs11-tool, independently of cardbridge, checks which PIN opens
the token and that the objects on it are exactly what they were, or exactly
minus what was deleted.  Cancel at each dialog changes nothing, and a new
PIN typed differently twice never reaches the token.

SoftHSM2 never locks a PIN, but C_Login(CKU_SO) + C_InitPIN resets it: that
is pins.unblock's path on plain PKCS#11 tokens (unblockWith "so").  A token
made with an SO PIN only (pkcs11-tool --init-token) has no user PIN yet:
pins.initialize's case.  The desktop tests drive `cardbridge card` over the
control socket, through the same helper code.
"""
import json
import os
import subprocess

import cbtest
import pki
import softhsm
from cbtest import error_reason

CLI = os.path.join(cbtest.BUILDDIR, "cli", "cardbridge")
hsm = daemon = ca = dialogs = control = None
PINS = {}  # label -> the user PIN the token has now
SO_PINS = {}


def setup():
    global hsm, daemon, ca, dialogs, control
    hsm = softhsm.SoftHSM(["alpha", "beta", "desk"])
    for label in hsm.labels:
        PINS[label], SO_PINS[label] = softhsm.PIN, softhsm.SO_PIN
    # A token with an SO PIN and no user PIN, in the next free slot.
    hsm.run(["pkcs11-tool", "--module", softhsm.MODULE, "--slot-index", "3", "--init-token",
             "--label", "blank", "--so-pin", softhsm.SO_PIN])
    SO_PINS["blank"] = softhsm.SO_PIN
    dialogs = cbtest.Dialogs()
    control = os.path.join(dialogs.dir, "control")
    daemon = cbtest.Daemon(modules=[softhsm.MODULE],
                           env=dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf),
                           args=["--control-socket", control])
    ca = pki.TestCA()


def teardown():
    cbtest.cleanup(daemon, hsm, dialogs)


# --- what the token holds, seen by pkcs11-tool ---------------------------------

def tool(label, *args, check=False):
    p = subprocess.run(["pkcs11-tool", "--module", softhsm.MODULE, "--token-label", label]
                       + list(args), env=hsm.env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(p.stdout.decode(errors="replace"))
    return p.returncode, p.stdout.decode(errors="replace")


def user_pin_works(label, pin):
    return tool(label, "--login", "--pin", pin, "-O")[0] == 0


def so_pin_works(label, pin):
    """An SO login needs a read-write session (CKR_SESSION_READ_ONLY_EXISTS otherwise)."""
    return tool(label, "--session-rw", "--login", "--login-type", "so", "--so-pin", pin,
                "-O")[0] == 0


def objects(label):
    """Every object on the token (logged in with its PIN): (kind, id, label) each."""
    out = tool(label, "--login", "--pin", PINS[label], "-O", check=True)[1]
    return sorted((o["kind"], o["id"], o.get("label", "")) for o in softhsm.parse_objects(out))


def uri(label):
    ws = daemon.connect()
    try:
        return next(t["uri"] for t in ws.result("tokens.list")["tokens"] if t["label"] == label)
    finally:
        ws.close()


def token(label):
    ws = daemon.connect()
    try:
        return next(t for t in ws.result("tokens.list")["tokens"] if t["label"] == label)
    finally:
        ws.close()


def call(method, params):
    ws = daemon.connect()
    try:
        return ws.call(method, params)
    finally:
        ws.close()


def keygen(label, cn):
    dialogs.answers("pin " + PINS[label])
    r = call("keys.generate", {"token": uri(label), "algorithm": {"type": "EC", "curve": "P-256"},
                               "subject": {"CN": cn}})
    assert "result" in r, r
    return r["result"]


def install(label, csr):
    dialogs.answers("pin " + PINS[label])
    r = call("certificates.install", {"token": uri(label), "certificate": ca.issue(csr)})
    assert "result" in r, r
    return r["result"]["installed"][0]


def change(label, *answers, which="user"):
    """pins.change with these dialog answers; the answer, objects unchanged."""
    before = objects(label)
    dialogs.answers(*answers)
    r = call("pins.change", {"token": uri(label), "which": which})
    if "result" in r and which == "user":
        PINS[label] = answers[-1].split(" ", 1)[1]
    assert objects(label) == before
    return r


# --- status ---------------------------------------------------------------------

def test_tokens_list_tells_the_pins_and_what_can_be_managed():
    t = token("alpha")
    assert t["pins"] == {"user": {"initialized": True, "state": "ok", "toBeChanged": False},
                         "so": {"initialized": True, "state": "ok", "toBeChanged": False},
                         "minLength": 4, "maxLength": 255}, t["pins"]
    m = t["manage"]
    assert m["canChangePin"] and m["canChangeSoPin"] and m["canUnblockPin"], m
    assert m["canDeleteObjects"] and not m["canInitializePin"], m
    assert m["unblockWith"] == "so"
    assert m["why"] == {"canInitializePin": "the user PIN is set already"}, m


def test_a_token_without_a_user_pin_can_get_its_first_one_and_nothing_else():
    t = token("blank")
    assert t["pins"]["user"]["initialized"] is False
    m = t["manage"]
    assert m["canInitializePin"] and not m["canChangePin"] and not m["canUnblockPin"], m
    assert m["why"]["canChangePin"] == "the token has no user PIN yet"


# --- pins.change -----------------------------------------------------------------

def test_change_pin_asks_the_old_pin_then_the_new_one_twice():
    r = change("alpha", "pin 123456", "pin 24682468", "pin 24682468")
    assert r["result"] == {"token": uri("alpha"), "pin": "user"}, r
    assert user_pin_works("alpha", "24682468") and not user_pin_works("alpha", "123456")
    assert dialogs.lines("SETPROMPT") == ["User PIN:", "New user PIN:"]
    assert dialogs.lines("SETREPEAT") == ["Repeat the new PIN:"]
    assert dialogs.lines("SETREPEATERROR") == ["The PINs do not match. Try again."]
    desc = dialogs.lines("SETDESC")
    assert desc[0].startswith("Site: portal.example\\nhttps://portal.example asks to change "
                              "the user PIN on the token \"alpha\" (serial number "), desc
    assert desc[1].endswith("\\n\\nEnter the new user PIN twice. It must have from 4 to 255 "
                            "characters."), desc


def test_a_wrong_old_pin_is_asked_for_again_like_a_login():
    r = change("alpha", "pin 000000", "pin 24682468", "pin 13571357", "pin 13571357")
    assert "result" in r, r
    # SoftHSM2 sets CKF_USER_PIN_COUNT_LOW after a wrong PIN.
    assert dialogs.lines("SETERROR") == [
        "Wrong PIN. Only a few tries are left before the PIN is locked."]
    assert user_pin_works("alpha", "13571357")


def test_cancel_at_the_old_pin_changes_nothing():
    r = change("alpha", "cancel")
    assert error_reason(r) == "USER_CANCELLED", r
    assert user_pin_works("alpha", PINS["alpha"])


def test_cancel_at_the_new_pin_changes_nothing():
    r = change("alpha", "pin " + PINS["alpha"], "cancel")
    assert error_reason(r) == "USER_CANCELLED", r
    assert user_pin_works("alpha", PINS["alpha"])


def test_a_new_pin_typed_differently_twice_never_reaches_the_token():
    old = PINS["alpha"]
    r = change("alpha", "pin " + old, "pin 11112222", "pin 22221111", "cancel")
    assert error_reason(r) == "USER_CANCELLED", r
    assert dialogs.lines("REPEATERROR") == ["The PINs do not match. Try again."]
    assert user_pin_works("alpha", old)
    assert not user_pin_works("alpha", "11112222") and not user_pin_works("alpha", "22221111")


def test_a_new_pin_of_a_length_the_token_refuses_is_asked_for_again_before_it_is_sent():
    r = change("alpha", "pin " + PINS["alpha"], "pin 12", "pin 12", "pin 86428642",
               "pin 86428642")
    assert "result" in r, r
    assert dialogs.lines("SETERROR") == ["The PIN must have at least 4 characters."]
    assert not user_pin_works("alpha", "12") and user_pin_works("alpha", "86428642")


def test_the_so_pin_is_changed_with_the_so_pin():
    r = change("alpha", "pin " + softhsm.SO_PIN, "pin 87654321", "pin 87654321", which="so")
    assert r["result"]["pin"] == "so", r
    assert dialogs.lines("SETPROMPT") == ["Admin PIN:", "New admin PIN:"]
    assert so_pin_works("alpha", "87654321") and not so_pin_works("alpha", softhsm.SO_PIN)
    SO_PINS["alpha"] = "87654321"
    assert user_pin_works("alpha", PINS["alpha"])


# --- pins.unblock and pins.initialize --------------------------------------------

def test_unblock_resets_the_user_pin_with_the_so_pin():
    kid = keygen("beta", "before unblock")["keyId"]
    before = objects("beta")
    dialogs.answers("pin " + SO_PINS["beta"], "pin 55556666", "pin 55556666")
    r = call("pins.unblock", {"token": uri("beta")})
    assert r["result"] == {"token": uri("beta"), "pin": "user", "with": "so"}, r
    assert dialogs.lines("SETPROMPT") == ["Admin PIN:", "New user PIN:"]
    assert "asks to unblock the user PIN on the token \"beta\"" in dialogs.lines("SETDESC")[0]
    assert user_pin_works("beta", "55556666") and not user_pin_works("beta", softhsm.PIN)
    PINS["beta"] = "55556666"
    assert objects("beta") == before and any(o[1] == kid for o in before)
    keygen("beta", "after unblock")  # the new PIN makes keys


def test_cancel_in_unblock_changes_nothing():
    for answers in (["cancel"], ["pin " + SO_PINS["beta"], "cancel"]):
        dialogs.answers(*answers)
        r = call("pins.unblock", {"token": uri("beta")})
        assert error_reason(r) == "USER_CANCELLED", r
        assert user_pin_works("beta", PINS["beta"])


def test_initialize_sets_the_first_user_pin():
    dialogs.answers("pin " + SO_PINS["blank"], "pin 97531", "pin 97531")
    r = call("pins.initialize", {"token": uri("blank")})
    assert r["result"] == {"token": uri("blank"), "pin": "user"}, r
    assert "asks to set the first user PIN" in dialogs.lines("SETDESC")[0]
    assert user_pin_works("blank", "97531")
    assert token("blank")["pins"]["user"]["initialized"] is True


def test_initialize_is_refused_without_a_dialog_where_a_pin_is_set():
    dialogs.answers("pin " + softhsm.SO_PIN)
    r = call("pins.initialize", {"token": uri("beta")})
    assert error_reason(r) == "NOT_SUPPORTED", r
    assert r["error"]["message"] == "the user PIN is set already"
    assert dialogs.shown() == ""


# --- keys.list, keys.delete, certificates.delete ----------------------------------

def test_keys_list_shows_each_key_pair_once_with_its_certificates():
    a = keygen("desk", "Key A")
    install("desk", a["csr"])
    b = keygen("desk", "Key B")
    r = call("keys.list", {"token": uri("desk")})["result"]["keys"]
    by_id = {k["keyId"]: k for k in r}
    assert set(by_id) == {a["keyId"], b["keyId"]}, r
    assert by_id[a["keyId"]]["label"] == "Key A" and by_id[a["keyId"]]["certificates"] == 1
    assert by_id[b["keyId"]]["algorithm"] == "EC P-256" and by_id[b["keyId"]]["publicKey"]
    assert by_id[b["keyId"]]["certificates"] == 0


def key_ids():
    return {k["keyId"]: k for k in call("keys.list", {"token": uri("desk")})["result"]["keys"]}


def test_cancel_at_the_confirmation_or_the_pin_deletes_nothing():
    kid = next(k for k, v in key_ids().items() if v["label"] == "Key B")
    before = objects("desk")
    for answers in (["cancel"], ["confirm", "cancel"]):
        dialogs.answers(*answers)
        r = call("keys.delete", {"token": uri("desk"), "keyId": kid})
        assert error_reason(r) == "USER_CANCELLED", r
        assert objects("desk") == before


def test_delete_key_names_it_and_removes_exactly_its_two_objects():
    kid = next(k for k, v in key_ids().items() if v["label"] == "Key B")
    before = objects("desk")
    dialogs.answers("confirm", "pin " + PINS["desk"])
    r = call("keys.delete", {"token": uri("desk"), "keyId": kid})
    assert sorted(d["kind"] for d in r["result"]["deleted"]) == ["privateKey", "publicKey"], r
    confirm = dialogs.lines("SETDESC")[0]
    assert confirm.startswith("Site: portal.example\\nhttps://portal.example asks to delete "
                              "from the token \"desk\""), confirm
    assert "\u2022 the EC P-256 key pair \"Key B\" (ID %s\u2026)" % kid[:16] in confirm, confirm
    assert confirm.endswith("\\n\\nThis cannot be undone.")
    assert dialogs.lines("SETOK") == ["_Delete"]
    assert "asks to delete the EC P-256 key pair \"Key B\"" in dialogs.lines("SETDESC")[1]
    assert objects("desk") == [o for o in before if o[1] != kid]


def test_delete_key_keeps_its_certificate_unless_asked():
    kid = next(k for k, v in key_ids().items() if v["label"] == "Key A")
    before = objects("desk")
    dialogs.answers("confirm", "pin " + PINS["desk"])
    r = call("keys.delete", {"token": uri("desk"), "keyId": kid})
    assert "result" in r, r
    after = objects("desk")
    assert after == [o for o in before if o[1] != kid or o[0] == "Certificate"], after
    assert any(o[0] == "Certificate" and o[1] == kid for o in after)


def test_delete_certificate_by_serial_and_issuer():
    certs = call("certificates.list", {"token": uri("desk")})["result"]["certificates"]
    assert len(certs) == 1, certs
    before = objects("desk")
    dialogs.answers("confirm", "pin " + PINS["desk"])
    r = call("certificates.delete", {"token": uri("desk"), "serial": certs[0]["serial"],
                                     "issuer": certs[0]["issuer"]})
    assert [d["kind"] for d in r["result"]["deleted"]] == ["certificate"], r
    assert r["result"]["deleted"][0]["serial"] == certs[0]["serial"]
    assert "\u2022 the certificate for Key A issued by cardbridge Test CA (serial number " in \
        dialogs.lines("SETDESC")[0]
    assert objects("desk") == [o for o in before if o[0] != "Certificate"]


def test_delete_key_with_certificates_and_unknown_ids():
    c = keygen("desk", "Key C")
    install("desk", c["csr"])
    before = objects("desk")
    dialogs.answers("confirm", "pin " + PINS["desk"])
    r = call("keys.delete", {"token": uri("desk"), "keyId": c["keyId"],
                             "withCertificates": True})
    assert sorted(d["kind"] for d in r["result"]["deleted"]) == \
        ["certificate", "privateKey", "publicKey"], r
    assert objects("desk") == [o for o in before if o[1] != c["keyId"]]
    dialogs.answers("confirm", "pin " + PINS["desk"])
    for method in ("keys.delete", "certificates.delete"):
        r = call(method, {"token": uri("desk"), "keyId": "abcdef"})
        assert error_reason(r) == "KEY_NOT_FOUND", r
    assert dialogs.shown() == ""


def test_delete_params_are_checked_before_anything():
    for params, why in (({"keyId": "abc"}, "params.keyId: not whole bytes in hex"),
                        ({"keyId": "01", "serial": "01", "issuer": "CN=x"},
                         "params.keyId: not with serial and issuer"),
                        ({"serial": "01"}, "params.issuer: missing (with serial)"),
                        ({}, "params.keyId: missing (or serial and issuer)")):
        params["token"] = uri("desk")
        r = call("certificates.delete", params)
        assert error_reason(r) == "INVALID_PARAMS" and r["error"]["message"] == why, r


# --- from the desktop: cardbridge card --------------------------------------------

def cli(*args):
    p = subprocess.run([CLI, "--control-socket", control] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=200, env=dict(os.environ, LANG="C"))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_card_status_prints_the_pins_and_what_can_be_done():
    rc, out, err = cli("card", "status", "--token", "beta")
    assert rc == 0, err
    assert out.startswith("beta (SoftHSM project SoftHSM v2, serial "), out
    assert "  user PIN: ok (4 to 255 characters)\n" in out, out
    assert "  unblock the user PIN: yes, with the admin (SO) PIN\n" in out, out
    assert "  set a first user PIN: no: the user PIN is set already\n" in out, out
    rc, out, err = cli("--json", "card", "status")
    assert rc == 0 and {t["label"] for t in json.loads(out)} >= {"alpha", "beta", "desk"}, out


def test_card_change_pin_from_the_desktop_names_cardbridge_in_its_dialogs():
    before = objects("beta")
    dialogs.answers("pin " + PINS["beta"], "pin 31415926", "pin 31415926")
    rc, out, err = cli("card", "change-pin", "--token", "beta")
    assert rc == 0, err
    assert out == "The user PIN was changed on the token \"beta\"\n", out
    assert dialogs.lines("SETTITLE") == ["cardbridge", "cardbridge"]
    assert dialogs.lines("SETDESC")[0].startswith("cardbridge asks to change the user PIN on "
                                                  "the token \"beta\"")
    PINS["beta"] = "31415926"
    assert user_pin_works("beta", "31415926") and objects("beta") == before


def test_card_unblock_list_and_delete_from_the_desktop():
    dialogs.answers("pin " + SO_PINS["beta"], "pin 27182818", "pin 27182818")
    rc, out, err = cli("card", "unblock", "--token", "beta")
    assert rc == 0 and "unblocked" in out, err
    PINS["beta"] = "27182818"
    assert user_pin_works("beta", "27182818")
    rc, out, err = cli("card", "list", "--token", "beta", "--json")
    keys = json.loads(out)["keys"]
    assert rc == 0 and len(keys) == 2, out
    rc, text, err = cli("card", "list", "--token", "beta")
    assert "Keys (ID, type, label):\n  %s  EC P-256  \"" % keys[0]["keyId"] in text, text
    before = objects("beta")
    dialogs.answers("confirm", "pin 27182818")
    rc, out, err = cli("card", "delete-key", keys[0]["keyId"], "--token", "beta")
    assert rc == 0 and out.startswith("Deleted 2 objects from the token \"beta\"\n"), (out, err)
    assert objects("beta") == [o for o in before if o[1] != keys[0]["keyId"]]


def test_card_errors_say_why_and_exit_1():
    dialogs.answers("cancel")
    rc, out, err = cli("card", "change-pin", "--token", "beta")
    assert rc == 1 and err == "cardbridge: cancelled (the user cancelled the dialog)\n", err
    rc, out, err = cli("card", "init-pin", "--token", "beta")
    assert rc == 1 and err.startswith("cardbridge: this token cannot do that (the user PIN is "
                                      "set already)"), err
    rc, out, err = cli("card", "unblock")
    assert rc == 1 and "several tokens match" in err, err
    rc, out, err = cli("card", "delete-key", "--token", "beta")
    assert rc == 2 and err.startswith("cardbridge: usage: cardbridge card"), err


def test_no_pin_reaches_the_daemon_log():
    log = daemon.read_log()
    for pin in ("24682468", "13571357", "87654321", "55556666", "31415926", "27182818"):
        assert pin not in log, pin


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, softhsm.missing, programs=(cbtest.HELPER, CLI))

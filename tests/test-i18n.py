"""Dialogs in the user's language (issue 4, section 6), and po/ itself.

The catalogs come from po/: pl.po must compile cleanly (msgfmt --check),
translate every text the sources mark, and match the checked-in template.
Then a real cardbridged and helper, run by a Polish user, show the PIN
dialog, the error lines of a wrong PIN, the PIN-pad notice and the consent
question in Polish, and in English for LANG=C.  tests/fake-pinentry's log
(CB_PINENTRY_LOG) is what the user saw.

The helper reads the build tree's catalogs (po/locale) through
CARDBRIDGE_LOCALEDIR, which it honours only with CB_HELPER_TESTING=1.

glibc translates only in a locale that is installed: if pl_PL.UTF-8 is not
(`locale -a`), the test compiles it with localedef from the `locales`
package into a temporary directory and points LOCPATH there, which needs
neither root nor a change to the system.  Without the locale sources the
Polish tests skip.
"""
import os
import re
import shlex
import shutil
import subprocess
import tempfile

import cbtest
import pki
import softhsm
import tap
from cbtest import error_reason

MOCK = os.path.join(cbtest.BUILDDIR, "tests", "mock-p11", "mock-p11.so")
PO = os.path.join(cbtest.SRCDIR, "po")
CATALOGS = os.environ.get("CB_LOCALEDIR_BUILD", os.path.join(cbtest.BUILDDIR, "po", "locale"))
MO = os.path.join(CATALOGS, "pl", "LC_MESSAGES", "cardbridge.mo")
TESTING = {"CB_HELPER_TESTING": "1", "CARDBRIDGE_LOCALEDIR": CATALOGS}
UNKNOWN = "https://shop.example"

hsm = ca = dialogs = None
WORK = None
POLISH = None   # the environment of a Polish user, or the reason there is none


def gettext_tool(name):
    """A gettext program: the one configure found, else the one on $PATH."""
    found = os.environ.get("CB_MSGFMT", "")
    if found and found != "no":
        path = os.path.join(os.path.dirname(found), name)
        if os.access(path, os.X_OK):
            return path
    path = shutil.which(name)
    if path is None:
        tap.skip("%s not installed (Debian: gettext)" % name)
    return path


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, **kw)
    return p.returncode, p.stdout.decode(errors="replace")


def polish_environment():
    """LC_ALL=pl_PL.UTF-8, with LOCPATH when the system lacks that locale."""
    rc, out = run(["locale", "-a"])
    if rc == 0 and re.search(r"^pl_PL\.utf-?8$", out, re.M | re.I):
        return {"LC_ALL": "pl_PL.UTF-8", "LANG": "pl_PL.UTF-8"}
    localedef = shutil.which("localedef")
    if localedef is None or not os.path.exists("/usr/share/i18n/locales/pl_PL"):
        return "no pl_PL.UTF-8 locale and no locale sources to make one " \
               "(Debian: apt-get install locales; ./dev does)"
    locales = os.path.join(WORK, "locales")
    os.mkdir(locales)
    # localedef exits 1 for mere warnings: the compiled locale is what counts.
    rc, out = run([localedef, "-i", "pl_PL", "-f", "UTF-8",
                   os.path.join(locales, "pl_PL.UTF-8")])
    if not os.path.exists(os.path.join(locales, "pl_PL.UTF-8", "LC_MESSAGES")):
        return "localedef could not compile pl_PL.UTF-8: " + out[-200:].replace("\n", " ")
    print("# pl_PL.UTF-8 is not installed: compiled with localedef into LOCPATH", flush=True)
    return {"LOCPATH": locales, "LC_ALL": "pl_PL.UTF-8", "LANG": "pl_PL.UTF-8"}


def setup():
    global hsm, ca, dialogs, WORK, POLISH
    WORK = tempfile.mkdtemp(prefix="cb-i18n-")
    dialogs = cbtest.Dialogs(prefix="cb-i18n-")
    POLISH = polish_environment()
    if softhsm.missing() is None:
        hsm = softhsm.SoftHSM(["karta"])
        ca = pki.TestCA()


def teardown():
    if hsm:
        hsm.cleanup()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)
    if dialogs:
        dialogs.cleanup()


def needs(what):
    """Skip unless the helper, the built catalog, SoftHSM (and the mock) are here."""
    if not os.access(cbtest.HELPER, os.X_OK):
        tap.skip("cardbridge-pkcs11-helper not built")
    if not os.path.exists(MO):
        tap.skip("po/locale/pl/LC_MESSAGES/cardbridge.mo not built (configure found no msgfmt)")
    why = softhsm.missing()
    if why:
        tap.skip(why)
    if "polish" in what and isinstance(POLISH, str):
        tap.skip(POLISH)
    if "mock" in what and not os.path.exists(MOCK):
        tap.skip("tests/mock-p11/mock-p11.so not built (make check builds it)")


def daemon(locale, modules=None, origins=(cbtest.ORIGIN,), **env):
    """A cardbridged whose helper runs in the given locale environment."""
    environ = dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf,
                   LANGUAGE="", LC_ALL="", LC_MESSAGES="", LANG="")
    environ.update(TESTING)
    environ.update(locale)
    environ.update(env)
    environ = {k: v for k, v in environ.items() if v is not None}
    return cbtest.Daemon(modules=modules or [softhsm.MODULE], origins=origins, env=environ)


def keygen(d, token, *answers):
    dialogs.answers(*answers)
    ws = d.connect(timeout=60)
    uri = {t["label"]: t["uri"] for t in ws.result("tokens.list")["tokens"]}[token]
    r = ws.call("keys.generate", {"token": uri, "algorithm": {"type": "EC", "curve": "P-256"},
                                  "subject": {"CN": "Jan Kowalski"}})
    ws.close()
    return r


# --- po/ ---------------------------------------------------------------------

def test_pl_po_passes_msgfmt_check():
    rc, out = run([gettext_tool("msgfmt"), "--check", "--statistics", "-o", os.devnull,
                   os.path.join(PO, "pl.po")])
    assert rc == 0, out
    assert "fuzzy" not in out and "untranslated" not in out, out


def test_every_marked_text_is_in_the_template_and_translated_into_polish():
    fresh = os.path.join(WORK, "fresh.pot")
    flags = shlex.split(os.environ.get("CB_XGETTEXT_FLAGS", "--language=C --keyword=_ "
                                       "--keyword=N_ --keyword=P_:1,2 --from-code=UTF-8"))
    rc, out = run([gettext_tool("xgettext")] + flags + ["-D", cbtest.SRCDIR, "-f",
                  os.path.join(PO, "POTFILES"), "-o", fresh])
    assert rc == 0 and os.path.exists(fresh), out
    msgcmp = gettext_tool("msgcmp")
    pot = os.path.join(PO, "cardbridge.pot")
    rc, out = run([msgcmp, "--use-untranslated", pot, fresh])
    assert rc == 0, "po/cardbridge.pot lacks texts (run make update-po):\n" + out
    rc, out = run([msgcmp, "--use-untranslated", fresh, pot])
    assert rc == 0, "po/cardbridge.pot has texts no source marks (run make update-po):\n" + out
    rc, out = run([msgcmp, os.path.join(PO, "pl.po"), fresh])
    assert rc == 0, "po/pl.po does not translate every text:\n" + out


# --- the dialogs ----------------------------------------------------------------

def test_a_polish_user_gets_the_pin_dialog_in_polish():
    needs("polish")
    d = daemon(POLISH)
    try:
        r = keygen(d, "karta", "pin " + softhsm.PIN)
        assert "result" in r and pki.verify_csr(r["result"]["csr"]), r
        desc = dialogs.lines("SETDESC")
        assert len(desc) == 1, dialogs.shown()
        assert re.fullmatch(
            re.escape(cbtest.ORIGIN) + r" chce wygenerować parę kluczy EC P-256 na tokenie "
            r"„karta” \(numer seryjny [0-9a-f]+\)\.\\n\\n"
            r"Wprowadź PIN użytkownika tego tokena, aby na to zezwolić\.", desc[0]), desc[0]
        assert dialogs.lines("SETPROMPT") == ["PIN użytkownika:"], dialogs.shown()
        assert dialogs.lines("SETTITLE") == ["cardbridge: " + cbtest.ORIGIN], dialogs.shown()
        assert "OPTION default-cancel=Anuluj" in dialogs.shown(), dialogs.shown()
        assert softhsm.PIN not in dialogs.shown()
    finally:
        d.stop()


def test_with_lang_c_the_same_dialog_is_in_english():
    needs("")
    d = daemon({"LANG": "C", "LC_ALL": "C"})
    try:
        r = keygen(d, "karta", "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        desc = dialogs.lines("SETDESC")
        assert len(desc) == 1 and desc[0].startswith(
            cbtest.ORIGIN + " asks to generate an EC P-256 key pair on the token \"karta\" "
            "(serial number "), dialogs.shown()
        assert desc[0].endswith("\\n\\nEnter the user PIN of this token to allow it."), desc
        assert dialogs.lines("SETPROMPT") == ["User PIN:"], dialogs.shown()
        assert "OPTION default-cancel=Cancel" in dialogs.shown(), dialogs.shown()
    finally:
        d.stop()


def test_a_wrong_pin_and_a_short_one_get_polish_error_lines():
    needs("polish")
    d = daemon(POLISH)
    try:
        # SoftHSM2's PINs have at least 4 characters: the plural form for 2-4.
        r = keygen(d, "karta", "pin 000000", "pin 12", "pin " + softhsm.PIN)
        assert "result" in r, r
        errors = dialogs.lines("SETERROR")
        assert len(errors) == 2, dialogs.shown()
        assert errors[0].startswith("Nieprawidłowy PIN. "), errors
        assert errors[1] == "PIN musi mieć co najmniej 4 znaki.", errors
        assert "000000" not in dialogs.shown() and softhsm.PIN not in dialogs.shown()
    finally:
        d.stop()


def test_the_tries_left_and_the_last_try_are_said_in_polish():
    needs("polish mock")
    d = daemon(POLISH, modules=[MOCK], MOCK_P11_TRIES="3")
    try:
        r = keygen(d, "mock token", "pin 0000", "pin 1111", "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        assert dialogs.lines("SETERROR") == [
            "Nieprawidłowy PIN. Zostało tylko kilka prób przed zablokowaniem PIN-u.",
            "Nieprawidłowy PIN. To ostatnia próba przed zablokowaniem PIN-u."], \
            dialogs.shown()
        # The next request starts with the warning; the page's message stays
        # English (it is for the portal's developers).
        r = keygen(d, "mock token", "pin 2222")
        assert error_reason(r) == "PIN_LOCKED", r
        assert dialogs.lines("SETERROR") == [
            "To ostatnia próba przed zablokowaniem PIN-u."], dialogs.shown()
        assert "locked" in r["error"]["message"], r
        assert not re.search("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ„”]", d.read_log()), "Polish in the log"
    finally:
        d.stop()


def test_the_pin_pad_notice_is_in_polish():
    needs("polish mock")
    d = daemon(POLISH, modules=[MOCK], MOCK_P11_PINPAD="1", MOCK_P11_PINPAD_MS="300")
    try:
        r = keygen(d, "mock token")
        assert "result" in r, r
        desc = dialogs.lines("SETDESC")
        assert len(desc) == 1 and desc[0].endswith(
            "\\n\\nWprowadź PIN użytkownika na klawiaturze czytnika."), dialogs.shown()
        assert "GETPIN" not in dialogs.shown()
    finally:
        d.stop()


def test_the_consent_question_is_in_polish():
    needs("polish")
    d = daemon(POLISH, origins=(), XDG_RUNTIME_DIR=WORK)
    try:
        dialogs.answers("deny")
        ws = d.connect(origin=UNKNOWN, timeout=60)
        r = ws.call("tokens.list")
        ws.close()
        assert error_reason(r) == "ORIGIN_NOT_ALLOWED", r
        assert dialogs.lines("SETDESC") == [
            "Zezwolić %s na korzystanie z Twoich kart inteligentnych?\\n\\n"
            "Strona zobaczy Twoje karty i tokeny oraz będzie mogła prosić o wygenerowanie "
            "na nich kluczy i zapisanie certyfikatów. PIN nadal będzie wymagany za każdym "
            "razem." % UNKNOWN], dialogs.shown()
        assert dialogs.lines("SETOK") == ["_Zawsze zezwalaj"], dialogs.shown()
        assert dialogs.lines("SETNOTOK") == ["Zezwól _tym razem"], dialogs.shown()
        assert dialogs.lines("SETCANCEL") == ["_Odmów"], dialogs.shown()
    finally:
        d.stop()


def test_language_is_followed_under_c_utf8_but_not_under_c():
    # glibc ignores LANGUAGE only when the messages locale is plain "C";
    # C.UTF-8 (Debian's default in containers) follows it.
    needs("")
    for locale, polish in (({"LC_ALL": "C.UTF-8", "LANGUAGE": "pl"}, True),
                           ({"LC_ALL": "C", "LANGUAGE": "pl"}, False)):
        d = daemon(locale)
        try:
            r = keygen(d, "karta", "cancel")
            assert error_reason(r) == "USER_CANCELLED", r
            assert dialogs.lines("SETPROMPT") == [
                "PIN użytkownika:" if polish else "User PIN:"], (locale, dialogs.shown())
        finally:
            d.stop()


def test_the_catalog_directory_from_the_environment_needs_the_testing_hook():
    needs("polish")
    installed = os.path.join(os.environ.get("CB_LOCALEDIR_INSTALLED", "/usr/local/share/locale"),
                             "pl", "LC_MESSAGES", "cardbridge.mo")
    if os.path.exists(installed):
        tap.skip("a Polish catalog is installed in %s" % installed)
    d = daemon(POLISH, CB_HELPER_TESTING=None)
    try:
        r = keygen(d, "karta", "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        assert dialogs.lines("SETPROMPT") == ["User PIN:"], dialogs.shown()
    finally:
        d.stop()


if __name__ == "__main__":
    tap.run(globals(), setup, teardown)

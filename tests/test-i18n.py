"""Dialogs and the cardbridge tool in the user's language (issue 4,
section 6), and po/ itself.

The catalogs come from po/: pl.po must compile cleanly (msgfmt --check),
translate every text the sources mark, and match the checked-in template;
every source that marks texts must be in po/POTFILES.
Then a real cardbridged and helper, run by a Polish user, show the PIN
dialog, the error lines of a wrong PIN, the PIN-pad notice and the consent
question in Polish, and in English for LANG=C.  tests/fake-pinentry's log
(CB_PINENTRY_LOG) is what the user saw.  The cardbridge tool answers a
Polish user in Polish (its help, status, origin changes and errors) and
keeps what programs read (exit statuses, origins, paths) as they are.

The helper and the cardbridge tool read the build tree's catalogs
(po/locale) through CARDBRIDGE_LOCALEDIR, which they honour only with
CB_HELPER_TESTING=1.

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
CLI = os.path.join(cbtest.BUILDDIR, "cli", "cardbridge")
PO = os.path.join(cbtest.SRCDIR, "po")
CATALOGS = os.environ.get("CB_LOCALEDIR_BUILD", os.path.join(cbtest.BUILDDIR, "po", "locale"))
MO = os.path.join(CATALOGS, "pl", "LC_MESSAGES", "cardbridge.mo")
TESTING = {"CB_HELPER_TESTING": "1", "CARDBRIDGE_LOCALEDIR": CATALOGS}
UNKNOWN = "https://shop.example"
USER_ORIGIN = "https://other-portal.example"
ENGLISH = {"LANG": "C", "LC_ALL": "C"}

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
    """Skip unless the built catalog and what the words of `what` name are here:
    "helper" (and SoftHSM), "cli" (the cardbridge tool), "polish" (pl_PL.UTF-8),
    "mock"."""
    words = what.split()
    if "helper" in words and not os.access(cbtest.HELPER, os.X_OK):
        tap.skip("cardbridge-pkcs11-helper not built")
    if "cli" in words and not os.access(CLI, os.X_OK):
        tap.skip("cli/cardbridge not built")
    if not os.path.exists(MO):
        tap.skip("po/locale/pl/LC_MESSAGES/cardbridge.mo not built (configure found no msgfmt)")
    why = softhsm.missing() if "helper" in words else None
    if why:
        tap.skip(why)
    if "polish" in words and isinstance(POLISH, str):
        tap.skip(POLISH)
    if "mock" in words and not os.path.exists(MOCK):
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


def skip_if_a_polish_catalog_is_installed():
    """Skip where LOCALEDIR has a Polish catalog: ignoring the hook would not show."""
    installed = os.path.join(os.environ.get("CB_LOCALEDIR_INSTALLED", "/usr/local/share/locale"),
                             "pl", "LC_MESSAGES", "cardbridge.mo")
    if os.path.exists(installed):
        tap.skip("a Polish catalog is installed in %s" % installed)


def cardbridge(locale, *args, **env):
    """The cardbridge tool run in a locale: (exit status, stdout, stderr)."""
    runtime = os.path.join(WORK, "no-daemon")
    os.makedirs(runtime, exist_ok=True)
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "XDG_RUNTIME_DIR": runtime}
    environ.update(TESTING)
    environ.update(locale)
    environ.update(env)
    environ = {k: v for k, v in environ.items() if v is not None}
    p = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=environ, timeout=30)
    # Strict UTF-8: a Polish user's terminal gets whole characters.
    return p.returncode, p.stdout.decode(), p.stderr.decode()


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


def test_every_source_that_marks_texts_is_in_potfiles():
    with open(os.path.join(PO, "POTFILES")) as f:
        listed = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    marking = set()
    for folder in ("cli", "daemon", "pkcs11", "protocol"):
        for name in sorted(os.listdir(os.path.join(cbtest.SRCDIR, folder))):
            if name.endswith(".c"):
                with open(os.path.join(cbtest.SRCDIR, folder, name), encoding="utf-8") as f:
                    if re.search(r'\b(?:_|N_|P_)\(\s*"', f.read()):
                        marking.add(folder + "/" + name)
    assert {"cli/cardbridge.c", "cli/client.c", "cli/launch.c"} <= marking, marking
    assert marking <= listed, "not in po/POTFILES: %s" % sorted(marking - listed)


# --- the dialogs ----------------------------------------------------------------

def test_a_polish_user_gets_the_pin_dialog_in_polish():
    needs("helper polish")
    d = daemon(POLISH)
    try:
        r = keygen(d, "karta", "pin " + softhsm.PIN)
        assert "result" in r and pki.verify_csr(r["result"]["csr"]), r
        desc = dialogs.lines("SETDESC")
        assert len(desc) == 1, dialogs.shown()
        assert re.fullmatch(
            r"Witryna: portal\.example\\n" +
            re.escape(cbtest.ORIGIN) + r" chce wygenerować parę kluczy EC P-256 „Jan Kowalski” "
            r"na tokenie „karta” \(numer seryjny [0-9a-f]+\)\.\\n\\n"
            r"Wprowadź PIN użytkownika tego tokena, aby na to zezwolić\.", desc[0]), desc[0]
        assert dialogs.lines("SETPROMPT") == ["PIN użytkownika:"], dialogs.shown()
        assert dialogs.lines("SETTITLE") == ["cardbridge: portal.example"], dialogs.shown()
        assert "OPTION default-cancel=Anuluj" in dialogs.shown(), dialogs.shown()
        assert softhsm.PIN not in dialogs.shown()
    finally:
        d.stop()


def test_with_lang_c_the_same_dialog_is_in_english():
    needs("helper")
    d = daemon({"LANG": "C", "LC_ALL": "C"})
    try:
        r = keygen(d, "karta", "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        desc = dialogs.lines("SETDESC")
        assert len(desc) == 1 and desc[0].startswith(
            "Site: portal.example\\n" + cbtest.ORIGIN + " asks to generate an EC P-256 key pair "
            "\"Jan Kowalski\" on the token \"karta\" (serial number "), dialogs.shown()
        assert desc[0].endswith("\\n\\nEnter the user PIN of this token to allow it."), desc
        assert dialogs.lines("SETPROMPT") == ["User PIN:"], dialogs.shown()
        assert "OPTION default-cancel=Cancel" in dialogs.shown(), dialogs.shown()
    finally:
        d.stop()


def test_a_wrong_pin_and_a_short_one_get_polish_error_lines():
    needs("helper polish")
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
    needs("helper polish mock")
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
    needs("helper polish mock")
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
    needs("helper polish")
    d = daemon(POLISH, origins=(), XDG_RUNTIME_DIR=WORK)
    try:
        dialogs.answers("deny")
        ws = d.connect(origin=UNKNOWN, timeout=60)
        r = ws.call("tokens.list")
        ws.close()
        assert error_reason(r) == "ORIGIN_NOT_ALLOWED", r
        assert dialogs.lines("SETDESC") == [
            "Witryna: shop.example\\n"
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
    needs("helper")
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
    needs("helper polish")
    skip_if_a_polish_catalog_is_installed()
    d = daemon(POLISH, CB_HELPER_TESTING=None)
    try:
        r = keygen(d, "karta", "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        assert dialogs.lines("SETPROMPT") == ["User PIN:"], dialogs.shown()
    finally:
        d.stop()


# --- the cardbridge tool ---------------------------------------------------------

def test_a_polish_user_gets_cardbridge_help_in_polish():
    needs("cli polish")
    rc, out, err = cardbridge(POLISH, "--help")
    assert rc == 0 and err == "", (rc, err)
    assert out.startswith("Użycie: cardbridge [OPTION]... COMMAND [ARG]...\n"
                          "Steruje cardbridged, "), out
    assert "\nPolecenia:\n  open URL               obsługuje łącze cardbridge://: " in out, out
    assert "\n  origins allow ORIGIN   zezwala portalowi, np. https://portal.example\n" in out
    assert "\nOpcje:\n  --control-socket PATH  gniazdo sterujące cardbridged\n" in out, out
    assert out.endswith("  --help                 wypisuje tę pomoc i kończy działanie\n"), out
    assert "Usage" not in out and "Commands:" not in out, out


def test_with_lang_c_cardbridge_help_is_in_english():
    needs("cli")
    rc, out, err = cardbridge(ENGLISH, "--help")
    assert rc == 0 and err == "", (rc, err)
    assert out.startswith("Usage: cardbridge [OPTION]... COMMAND [ARG]...\n"
                          "Control cardbridged, the local smart-card helper for web portals.\n"
                          "\nCommands:\n"), out
    assert out.endswith("  --help                 print this help and exit\n"), out
    assert not re.search("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]", out), out


def test_cardbridge_status_without_a_daemon_says_so_in_the_users_language():
    needs("cli polish")
    for locale, want in ((POLISH, "cardbridge: cardbridged nie działa\n"),
                         (ENGLISH, "cardbridge: cardbridged is not running\n")):
        rc, out, err = cardbridge(locale, "status")
        assert rc == 3, (locale, rc, err)     # exit statuses are the same in every language
        assert out == "" and err == want, (locale, out, err)


def test_a_refused_url_is_reported_in_polish_with_the_reason_in_english():
    needs("cli polish")
    rc, out, err = cardbridge(POLISH, "open", "cardbridge://evil?x=1")
    assert rc == 2 and out == "", (rc, out, err)
    assert err.startswith("cardbridge: odrzucono adres URL: "), err
    # The reason comes from protocol/url.c, which stays English; the URL is never quoted.
    assert re.fullmatch(r"cardbridge: odrzucono adres URL: [ -~]+\n", err), err
    assert "evil" not in err, err
    rc, out, err = cardbridge(ENGLISH, "open", "cardbridge://evil?x=1")
    assert rc == 2 and err.startswith("cardbridge: refusing the URL: "), (rc, err)


def test_cardbridge_usage_errors_are_in_polish_and_keep_the_command_line():
    needs("cli polish")
    rc, out, err = cardbridge(POLISH, "open")
    assert rc == 2 and err == "cardbridge: użycie: cardbridge open URL (dokładnie jeden URL)\n", \
        (rc, err)
    rc, out, err = cardbridge(POLISH, "frobnicate")
    assert rc == 2 and err == ("cardbridge: nieznane polecenie lub złe argumenty "
                               "(zob. cardbridge --help)\n"), (rc, err)
    rc, out, err = cardbridge(POLISH, "status", XDG_RUNTIME_DIR=None)
    assert rc == 1 and err.startswith("cardbridge: nie ma ani zmiennej XDG_RUNTIME_DIR, "
                                      "ani katalogu /run/user/UID") and \
        "--control-socket PATH" in err, (rc, err)


def test_cardbridge_status_and_origin_changes_are_in_polish():
    needs("helper cli polish")
    runtime = tempfile.mkdtemp(prefix="runtime-", dir=WORK)
    d = daemon(ENGLISH, XDG_RUNTIME_DIR=runtime)
    control = os.path.join(runtime, "cardbridge", "control")
    try:
        rc, out, err = cardbridge(POLISH, "--control-socket", control, "status")
        assert rc == 0 and err == "", (rc, err)
        lines = out.splitlines()
        assert re.fullmatch(r"cardbridged \S+ działa \(PID %d\)" % d.proc.pid, lines[0]), out
        values = {}
        for label in ("nasłuchuje na:", "gniazdo sterujące:", "połączenia:", "czytniki:",
                      "strony (admin):", "strony (Twoje):"):
            line = [l for l in lines if l.startswith("  " + label + " ")]
            assert len(line) == 1, (label, out)
            values[label] = (len(line[0]) - len(line[0][2 + len(label):].lstrip()),
                             line[0][2 + len(label):].strip())
        # The values line up after the longest label, "gniazdo sterujące:" (18 characters).
        assert {column for column, _ in values.values()} == {2 + 18 + 1}, out
        assert values["nasłuchuje na:"][1] == "127.0.0.1:%d" % d.port, out
        assert values["gniazdo sterujące:"][1] == control, out
        assert values["strony (admin):"][1] == cbtest.ORIGIN, out
        assert values["strony (Twoje):"][1] == "brak", out
        # The helper reports its modules once it has started: before that, or after.
        assert re.search(r"^  moduły:(\n    %s \(OK\)| {12}na razie brak informacji)$"
                         % re.escape(softhsm.MODULE), out, re.M), out

        rc, out, err = cardbridge(POLISH, "--control-socket", control, "origins", "allow",
                                  USER_ORIGIN)
        assert rc == 0 and out == USER_ORIGIN + ": zezwolono\n", (rc, out, err)
        rc, out, err = cardbridge(POLISH, "--control-socket", control, "origins", "allow",
                                  USER_ORIGIN)
        assert out == USER_ORIGIN + ": już dozwolona (przez Ciebie)\n", (rc, out, err)
        rc, out, err = cardbridge(POLISH, "--control-socket", control, "origins", "allow",
                                  cbtest.ORIGIN)
        assert out == cbtest.ORIGIN + ": już dozwolona (przez administratora)\n", (out, err)
        # The list is for programs too: its "administrator" and "user" stay.
        rc, out, err = cardbridge(POLISH, "--control-socket", control, "origins", "list")
        assert out == "%s\tadministrator\n%s\tuser\n" % (cbtest.ORIGIN, USER_ORIGIN), out
        # One open connection: the singular of the three Polish forms.
        ws = d.connect(origin=USER_ORIGIN)
        try:
            rc, out, err = cardbridge(POLISH, "--control-socket", control, "origins",
                                      "revoke", USER_ORIGIN)
        finally:
            ws.close()
        assert rc == 0 and out == (USER_ORIGIN + ": cofnięto zezwolenie (zamknięto 1 "
                                   "otwarte połączenie)\n"), (rc, out, err)
    finally:
        d.stop()


def test_card_management_from_the_desktop_is_in_polish():
    """Issue 13: `cardbridge card` and the dialogs it brings up, for a Polish user."""
    needs("helper cli polish")
    runtime = tempfile.mkdtemp(prefix="runtime-", dir=WORK)
    d = daemon(POLISH, XDG_RUNTIME_DIR=runtime)
    control = os.path.join(runtime, "cardbridge", "control")
    try:
        rc, out, err = cardbridge(POLISH, "--control-socket", control, "card", "status")
        assert rc == 0, (rc, err)
        assert "  PIN użytkownika: OK (od 4 do 255 znaków)\n" in out, out
        assert "  odblokowanie PIN-u użytkownika: tak, PIN-em administratora (SO)\n" in out, out
        assert ("  ustawienie pierwszego PIN-u użytkownika: nie: PIN użytkownika jest już "
                "ustawiony\n") in out, out
        dialogs.answers("pin " + softhsm.PIN, "pin 11112222", "pin 22221111", "cancel")
        rc, out, err = cardbridge(POLISH, "--control-socket", control, "card", "change-pin")
        assert rc == 1 and err == "cardbridge: anulowano (the user cancelled the dialog)\n", err
        desc = dialogs.lines("SETDESC")
        assert desc[0].startswith("cardbridge chce zmienić PIN użytkownika na tokenie „karta” "
                                  "(numer seryjny "), desc
        assert desc[1].endswith("\\n\\nWprowadź dwukrotnie nowy PIN użytkownika. Musi mieć od 4 "
                                "do 255 znaków."), desc
        assert dialogs.lines("SETPROMPT") == ["PIN użytkownika:", "Nowy PIN użytkownika:"]
        assert dialogs.lines("SETREPEAT") == ["Powtórz nowy PIN:"]
        assert dialogs.lines("REPEATERROR") == ["Wpisane PIN-y różnią się. Spróbuj ponownie."]
    finally:
        d.stop()


def test_the_cardbridge_tool_reads_the_catalog_directory_only_under_the_testing_hook():
    needs("cli polish")
    skip_if_a_polish_catalog_is_installed()
    rc, out, err = cardbridge(POLISH, "status", CB_HELPER_TESTING=None)
    assert rc == 3 and err == "cardbridge: cardbridged is not running\n", (rc, err)


if __name__ == "__main__":
    tap.run(globals(), setup, teardown)

"""PIN dialogs through the daemon, as a portal sees them.

A real cardbridged and helper; SoftHSM2 tokens for the ordinary paths and
tests/mock-p11 (a PKCS#11 module that counts PIN tries and can be a PIN-pad
reader) for what SoftHSM cannot show.  Dialogs are answered by
tests/fake-pinentry, whose log (CB_PINENTRY_LOG) is what the user saw; one
test drives the real pinentry-tty inside tmux instead.  The canary test
proves the PIN reaches no log, no WebSocket frame and no core dump of
cardbridged.
"""
import json
import os
import re
import shutil
import subprocess
import time

import cbtest
import pki
import softhsm
import tap
from cbtest import error_reason, wait_for

MOCK = os.path.join(cbtest.BUILDDIR, "tests", "mock-p11", "mock-p11.so")
CANARY = "314159"

hsm = daemon = ca = dialogs = None
TOKENS = {}


def setup():
    global hsm, daemon, ca, dialogs
    hsm = softhsm.SoftHSM(["pin one", "pin two"])
    dialogs = cbtest.Dialogs()
    daemon = start_daemon([softhsm.MODULE])
    ca = pki.TestCA()


def teardown():
    if daemon:
        daemon.stop()
    if hsm:
        hsm.cleanup()


def start_daemon(modules, env=None, **kw):
    environ = dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf)
    environ.update(env or {})
    return cbtest.Daemon(modules=modules, env=environ, **kw)


def token_uri(label, d=None):
    d = d or daemon
    ws = d.connect()
    uris = {t["label"]: t["uri"] for t in ws.result("tokens.list")["tokens"]}
    ws.close()
    return uris[label]


def keygen_params(uri, curve="P-256"):
    return {"token": uri, "algorithm": {"type": "EC", "curve": curve},
            "subject": {"CN": "Joe Doe"}}


def pid_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --- SoftHSM: retry, cancel, timeout, disconnect, one dialog at a time --------

def test_wrong_then_right_pin_succeeds_with_an_error_line_on_the_second_prompt():
    dialogs.answers("pin 000000", "pin " + softhsm.PIN)
    ws = daemon.connect()
    res = ws.result("keys.generate", keygen_params(token_uri("pin one")))
    ws.close()
    assert pki.verify_csr(res["csr"])
    log = dialogs.shown()
    assert log.count("GETPIN -> pin") == 2, log
    first, second = log.split("START")[1:3]
    assert "SETERROR" not in first, first
    assert re.search(r"^SETERROR Wrong PIN\. ", second, re.M), second
    assert softhsm.PIN not in log and "000000" not in log


def test_cancel_is_user_cancelled_and_nothing_is_written():
    before = hsm.objects("pin two")
    dialogs.answers("cancel")
    ws = daemon.connect()
    r = ws.call("keys.generate", keygen_params(token_uri("pin two")))
    ws.close()
    assert error_reason(r) == "USER_CANCELLED", r
    assert hsm.objects("pin two") == before


def test_a_dialog_that_gets_no_answer_is_timeout():
    short = start_daemon([softhsm.MODULE], config={"promptTimeoutSeconds": 2})
    try:
        dialogs.answers("hang")
        ws = short.connect(timeout=60)
        start = time.monotonic()
        r = ws.call("keys.generate", keygen_params(token_uri("pin two", short)))
        took = time.monotonic() - start
        ws.close()
        assert error_reason(r) == "TIMEOUT", r
        assert took < 15, took
        assert "SETTIMEOUT 2" in dialogs.shown()
    finally:
        short.stop()


def test_disconnecting_closes_the_pending_dialog():
    before = hsm.objects("pin two")
    dialogs.answers("hang")
    ws = daemon.connect()
    ws.send_frame('{"jsonrpc":"2.0","id":1,"method":"keys.generate","params":%s}'
                  % json.dumps(keygen_params(token_uri("pin two"))))
    wait_for("the dialog", lambda: "GETPIN -> hang" in dialogs.shown())
    pid = int(re.search(r"START pid=(\d+)", dialogs.shown()).group(1))
    assert not pid_gone(pid)
    ws.close()
    wait_for("the pinentry to go", lambda: pid_gone(pid), timeout=10)
    assert "TERM" in dialogs.shown()
    assert hsm.objects("pin two") == before


def test_a_second_request_on_another_token_waits_for_the_first_dialog():
    dialogs.answers("hang", "pin " + softhsm.PIN)
    first = daemon.connect()
    first.send_frame('{"jsonrpc":"2.0","id":1,"method":"keys.generate","params":%s}'
                     % json.dumps(keygen_params(token_uri("pin one"))))
    wait_for("the first dialog", lambda: "GETPIN -> hang" in dialogs.shown())
    second = daemon.connect(timeout=60)
    second.send_frame('{"jsonrpc":"2.0","id":2,"method":"keys.generate","params":%s}'
                      % json.dumps(keygen_params(token_uri("pin two"))))
    time.sleep(1.5)
    assert dialogs.shown().count("START") == 1, "a second dialog opened while the first was up"
    first.close()  # the first page leaves: its dialog closes, the second one opens
    reply = second.recv_answer()
    second.close()
    assert "result" in reply, reply
    log = dialogs.shown()
    assert log.count("START") == 2 and log.index("TERM") < log.rindex("START"), log


# --- the mock module: PIN-pad readers and counted tries -----------------------

def mock_daemon(**env):
    if not os.path.exists(MOCK):
        tap.skip("tests/mock-p11/mock-p11.so not built (make check builds it)")
    return start_daemon([MOCK], env={"MOCK_P11_" + k: str(v) for k, v in env.items()})


def mock_keygen(d, *answers):
    return mock_keygen_with_progress(d, *answers)[1]


def mock_keygen_with_progress(d, *answers):
    dialogs.answers(*answers)
    ws = d.connect(timeout=60)
    progress, r = ws.call_with_progress(1, "keys.generate",
                                        keygen_params(token_uri("mock token", d)))
    ws.close()
    return [p["stage"] + ("/" + p["pin"] if "pin" in p else "") for p in progress], r


def test_pin_pad_reader_shows_a_notice_logs_in_without_a_pin_and_closes_it():
    d = mock_daemon(PINPAD=1, PINPAD_MS=800)
    try:
        stages, r = mock_keygen_with_progress(d)  # no answers queued: nothing may ask for a PIN
        assert "result" in r and pki.verify_csr(r["result"]["csr"]), r
        # The page knows the reader's keypad waits, not a dialog.
        assert stages == ["waitingForPinPad/user", "pinAccepted/user", "generatingKey",
                          "signingRequest"], stages
        log = dialogs.shown()
        assert "GETPIN" not in log, log
        assert "Enter the user PIN on the reader's keypad." in log, log
        assert log.index("MESSAGE") < log.index("TERM"), "the notice was not closed"
        pid = int(re.search(r"START pid=(\d+)", log).group(1))
        wait_for("the notice to go", lambda: pid_gone(pid), timeout=5)
    finally:
        d.stop()


def test_pin_pad_wrong_pin_shows_the_notice_again_with_the_error():
    d = mock_daemon(PINPAD=1, PINPAD_INPUT="0000,123456", PINPAD_MS=100)
    try:
        r = mock_keygen(d)
        assert "result" in r, r
        assert dialogs.shown().count("MESSAGE") == 2
        assert dialogs.lines("SETERROR") == [
            "Wrong PIN. Only a few tries are left before the PIN is locked."]
    finally:
        d.stop()


def test_pin_pad_change_pin_lets_the_keypad_take_both_pins():
    """pins.change (issue 13) on a PIN-pad reader: C_SetPIN with no PINs, the
    keypad asks; the notice says what to type, and then the new PIN logs in."""
    d = mock_daemon(PINPAD=1, PINPAD_INPUT="123456,24682468,24682468", PINPAD_MS=100)
    try:
        ws = d.connect(timeout=60)
        r = ws.call("pins.change", {"token": token_uri("mock token", d)})
        ws.close()
        assert r.get("result", {}).get("pin") == "user", r
        log = dialogs.shown()
        assert "GETPIN" not in log, log
        assert "Enter the current user PIN, then the new one twice, on the reader's keypad." \
            in log, log
        r = mock_keygen(d)  # the keypad's next entry, the new PIN, logs in
        assert "result" in r, r
    finally:
        d.stop()


def test_retry_dialogs_count_down_and_right_on_the_last_try_succeeds():
    d = mock_daemon(TRIES=3)
    try:
        r = mock_keygen(d, "pin 0000", "pin 1111", "pin 123456")
        assert "result" in r, r
        assert dialogs.lines("SETERROR") == [
            "Wrong PIN. Only a few tries are left before the PIN is locked.",
            "Wrong PIN. This is the last try before the PIN is locked."]
    finally:
        d.stop()


def test_three_wrong_pins_lock_and_then_no_dialog_is_shown():
    d = mock_daemon(TRIES=3)
    try:
        r = mock_keygen(d, "pin 0000", "pin 1111", "cancel")
        assert error_reason(r) == "USER_CANCELLED", r
        assert r["error"]["data"]["retriesLeft"] == 1, r
        # The next request starts with the warning; its wrong PIN locks.
        r = mock_keygen(d, "pin 2222")
        assert error_reason(r) == "PIN_LOCKED", r
        assert r["error"]["data"]["retriesLeft"] == 0, r
        assert dialogs.lines("SETERROR") == ["This is the last try before the PIN is locked."]
        r = mock_keygen(d, "pin 123456")
        assert error_reason(r) == "PIN_LOCKED", r
        assert "START" not in dialogs.shown(), "a dialog for a locked PIN"
        ws = d.connect()
        flags = ws.result("tokens.list")["tokens"][0]["flags"]
        ws.close()
        assert flags["pinLocked"] is True, flags
    finally:
        d.stop()


def test_the_third_wrong_pin_in_one_request_is_pin_incorrect_with_retries_left():
    d = mock_daemon(TRIES=4)
    try:
        r = mock_keygen(d, "pin 0000", "pin 1111", "pin 2222", "pin 123456")
        assert error_reason(r) == "PIN_INCORRECT", r
        assert r["error"]["data"]["retriesLeft"] == 1, r
        assert dialogs.shown().count("GETPIN") == 3
    finally:
        d.stop()


def test_stopping_the_daemon_closes_the_dialog_and_the_helper_finalizes_its_modules():
    finalized = os.path.join(dialogs.dir, "finalized-1")
    d = mock_daemon(FINALIZE_LOG=finalized)
    dialogs.answers("hang")
    ws = d.connect()
    ws.send_frame('{"jsonrpc":"2.0","id":1,"method":"keys.generate","params":%s}'
                  % json.dumps(keygen_params(token_uri("mock token", d))))
    wait_for("the dialog", lambda: "GETPIN -> hang" in dialogs.shown())
    pid = int(re.search(r"START pid=(\d+)", dialogs.shown()).group(1))
    start = time.monotonic()
    assert d.stop() == 0
    print("# stopped with a dialog open in %.0f ms" % ((time.monotonic() - start) * 1000))
    wait_for("the pinentry to go", lambda: pid_gone(pid), timeout=10)
    assert "TERM" in dialogs.shown()
    with open(finalized) as f:
        assert f.read() == "C_Finalize\n"
    log = d.read_log()
    assert re.search(r"PKCS#11 helper \(pid \d+\) finished: cardbridged is stopping", log), \
        log[-2000:]


def test_a_helper_hanging_on_the_way_out_is_killed_and_the_daemon_still_stops():
    finalized = os.path.join(dialogs.dir, "finalized-2")
    d = mock_daemon(FINALIZE_LOG=finalized, FINALIZE_MS=600000)
    token_uri("mock token", d)
    helpers = [p for p in children(d.proc.pid) if p != d.proc.pid]
    assert len(helpers) == 1, helpers
    assert d.stop(timeout=60) == 0
    wait_for("the helper to go", lambda: pid_gone(helpers[0]), timeout=10)
    assert not os.path.exists(finalized)
    log = d.read_log()
    assert re.search(r"PKCS#11 helper \(pid \d+\) stopped: cardbridged is stopping", log), \
        log[-2000:]


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        found = [int(c) for c in f.read().split()]
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            found += [int(c) for c in f.read().split()]
    return sorted(set(found))


# --- the real pinentry-tty in tmux ------------------------------------------

def tmux(*args):
    return subprocess.run(["tmux"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=10).stdout.decode(errors="replace")


def test_real_pinentry_tty_in_tmux_takes_typed_pins():
    program = shutil.which("pinentry-tty") or "/usr/bin/pinentry-tty"
    if shutil.which("tmux") is None or not os.access(program, os.X_OK):
        tap.skip("tmux or pinentry-tty not installed")
    session = "cbpin%d" % os.getpid()
    tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "40", "sleep 600")
    d = None
    try:
        tty = tmux("display", "-p", "-t", session, "#{pane_tty}").strip()
        d = start_daemon([softhsm.MODULE], pinentry=program,
                         env={"GPG_TTY": tty, "TERM": "screen", "LC_ALL": "C.UTF-8"})
        ws = d.connect(timeout=60)
        ws.send_frame('{"jsonrpc":"2.0","id":1,"method":"keys.generate","params":%s}'
                      % json.dumps(keygen_params(token_uri("pin one", d))))

        def screen():
            return tmux("capture-pane", "-p", "-J", "-t", session)

        wait_for("the PIN prompt on the pane", lambda: "User PIN:" in screen())
        text = screen()
        assert cbtest.ORIGIN in text and "generate an EC P-256 key pair" in text, text
        assert '"pin one"' in text, text
        tmux("send-keys", "-t", session, "000000", "Enter")
        wait_for("the retry prompt", lambda: "Wrong PIN." in screen())
        tmux("send-keys", "-t", session, softhsm.PIN, "Enter")
        reply = ws.recv_answer()
        ws.close()
        assert "result" in reply and pki.verify_csr(reply["result"]["csr"]), reply
        assert softhsm.PIN not in screen() and "000000" not in screen(), "the PIN was echoed"
    finally:
        if d:
            d.stop()
        tmux("kill-session", "-t", session)


# --- the canary ---------------------------------------------------------------

class Recorder(cbtest.WS):
    """A client that keeps every frame it receives."""
    frames = []

    def recv_frame(self):
        op, data = super().recv_frame()
        Recorder.frames.append(data)
        return op, data


def core_of(pid, directory):
    """A core dump of pid taken with gcore (ptrace: needs root or CAP_SYS_PTRACE,
    because cardbridged is non-dumpable); None when that is not possible here."""
    if shutil.which("gcore") is None:
        return None
    prefix = os.path.join(directory, "core")
    p = subprocess.run(["gcore", "-o", prefix, str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    path = "%s.%d" % (prefix, pid)
    if p.returncode != 0 or not os.path.exists(path):
        print("# gcore failed: " + p.stdout.decode(errors="replace")[-300:].replace("\n", " "))
        return None
    return path


def test_the_pin_is_in_no_log_no_frame_and_no_core_dump_of_the_daemon():
    canary_hsm = softhsm.SoftHSM(["canary"], pin=CANARY)
    d = None
    try:
        d = cbtest.Daemon(modules=[softhsm.MODULE], log_level="debug",
                          env=dict(dialogs.env(), SOFTHSM2_CONF=canary_hsm.conf))
        ws = Recorder(d.port, timeout=60)
        uri = {t["label"]: t["uri"] for t in ws.result("tokens.list")["tokens"]}["canary"]
        dialogs.answers("pin " + CANARY)
        res = ws.result("keys.generate", keygen_params(uri))
        dialogs.answers("pin " + CANARY)
        ws.result("certificates.install", {"certificate": ca.issue(res["csr"])})
        dialogs.answers("pin 271828", "cancel")  # a failed login, then the user gives up
        r = ws.call("keys.generate", keygen_params(uri))
        assert error_reason(r) == "USER_CANCELLED", r
        assert len(Recorder.frames) >= 4
        for frame in Recorder.frames:
            assert CANARY.encode() not in frame, "the PIN in a WebSocket frame"
        log = d.read_log()
        assert "debug" in log and "keys.generate" in log, "the log proves nothing"
        assert CANARY not in log and "271828" not in log, "the PIN in the daemon/helper log"
        assert CANARY not in dialogs.shown(), "the PIN in the dialog log"
        core = core_of(d.proc.pid, canary_hsm.dir)
        ws.close()
        if core is None:
            tap.skip("no core dump of cardbridged (gcore needs root or CAP_SYS_PTRACE)")
        with open(core, "rb") as f:
            data = f.read()
        os.unlink(core)
        assert len(data) > 100000 and b"cardbridge" in data, "not a core of cardbridged"
        assert CANARY.encode() not in data, "the PIN in cardbridged's memory"
        assert CANARY.encode("utf-16-le") not in data
    finally:
        if d:
            d.stop()
        canary_hsm.cleanup()


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, softhsm.missing)

"""The installed-package tier: the Debian package as a user gets it.

lintian on the .changes (and so the .deb), the package's contents, then
`apt-get install ./cardbridge_*.deb` for real and black-box checks of the
installed programs only (/usr/bin/cardbridged finding its helper through
the compiled-in path, a SoftHSM2 token, the cardbridge:// handler through
xdg-open and gio, the man pages, the catalog, the fleet examples), then
`apt-get remove` and `apt-get purge`, after which no file of the package
may be left (dpkg -L taken while installed, and every path named
*cardbridge* under /etc, /usr and /var compared with before).

Run by `make check-package` (package.mk) as root, on a machine where the
package is not installed; it leaves it so (teardown purges what it
installed).  It never runs in `make check`.  Without root, a .deb or
lintian it skips, unless CB_PACKAGE_REQUIRED=1 (make check-package, CI):
then that is a failure.  The daemons it starts are its own, stopped by pid.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import cbtest
import pki
import softhsm
import tap
from cbtest import HandshakeRefused, WS

PACKAGE = "cardbridge"
DAEMON = "/usr/bin/cardbridged"
CLI = "/usr/bin/cardbridge"
HELPER = "/usr/libexec/cardbridge/cardbridge-pkcs11-helper"
DOC = "/usr/share/doc/cardbridge"
WANTS = "/etc/systemd/user/sockets.target.wants/cardbridge.socket"
ORIGIN = "https://portal.example"
FILES = [   # the Debian places (issue 16)
    DAEMON, CLI, HELPER, "/etc/cardbridge/config.json",
    "/usr/lib/systemd/user/cardbridge.service", "/usr/lib/systemd/user/cardbridge.socket",
    "/usr/share/applications/cardbridge.desktop",
    "/usr/share/man/man1/cardbridge.1.gz", "/usr/share/man/man8/cardbridged.8.gz",
    "/usr/share/locale/pl/LC_MESSAGES/cardbridge.mo",
    DOC + "/copyright", DOC + "/changelog.gz", DOC + "/README.md.gz",
    DOC + "/PROTOCOL.md.gz", DOC + "/BROWSERS.md.gz", DOC + "/SECURITY.md.gz",
    DOC + "/clients/js/cardbridge.js", DOC + "/clients/js/contract.js",
    DOC + "/clients/js/cardbridge.d.ts",
    DOC + "/examples/README.md", DOC + "/examples/chromium/cardbridge.json",
    DOC + "/examples/firefox/policies.json", DOC + "/examples/allow-list/config.json",
]
PLACES = ("/etc/cardbridge/", "/usr/bin/", "/usr/libexec/cardbridge/",
          "/usr/lib/systemd/user/", "/usr/share/applications/", DOC + "/",
          "/usr/share/locale/", "/usr/share/man/")

T = {"installed": False, "daemons": []}


def cannot_run(why):
    if os.environ.get("CB_PACKAGE_REQUIRED") == "1":
        print("1..1\nnot ok 1 - the package tier can run\n# " + why, flush=True)
        raise SystemExit(1)
    tap.skip_all(why)


def run(cmd, env=None, timeout=120, check=False):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=timeout, universal_newlines=True)
    assert not check or p.returncode == 0, "%s failed (%d):\n%s%s" % (
        " ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


def apt_get(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return run(["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"] + list(args),
               env=env, timeout=600, check=True)


def status():
    p = run(["dpkg-query", "-W", "-f=${Status} ${Version}", PACKAGE])
    return p.stdout.strip() if p.returncode == 0 else ""


def upstream_version():
    with open(os.path.join(cbtest.SRCDIR, "configure.ac")) as f:
        return re.search(r"AC_INIT\(\[cardbridge\], \[([^]]+)\]", f.read()).group(1)


def named_cardbridge():
    """Every path under /etc, /usr and /var whose name says cardbridge."""
    p = run(["find", "/etc", "/usr", "/var", "-xdev", "(", "-path", "/var/tmp", "-o",
             "-path", "/usr/local", ")", "-prune", "-o", "-name", "*cardbridge*", "-print"])
    return set(p.stdout.split())


def preflight():
    """Before the plan: what this tier needs, or cannot_run()."""
    if os.geteuid() != 0:
        cannot_run("needs root: it installs and purges the package (make check-package)")
    arch = run(["dpkg", "--print-architecture"], check=True).stdout.strip()
    version = upstream_version()
    where = os.environ.get("CB_DEB_DIR", cbtest.BUILDDIR)
    T["deb"] = os.path.join(where, "%s_%s_%s.deb" % (PACKAGE, version, arch))
    T["changes"] = os.path.join(where, "%s_%s_%s.changes" % (PACKAGE, version, arch))
    if not os.path.exists(T["deb"]):
        cannot_run("%s is not built (make deb)" % T["deb"])
    for tool in ("lintian", "apt-get", "xdg-mime", "xdg-open", "gio", "softhsm2-util"):
        if shutil.which(tool) is None:
            cannot_run(tool + " is not installed (./dev package installs what it needs)")
    T["version"] = version


def setup():
    T["top"] = tempfile.mkdtemp(prefix="cb-package-")
    T["home"] = os.path.join(T["top"], "home")
    T["runtime"] = os.path.join(T["top"], "run")
    os.makedirs(os.path.join(T["home"], ".config", "cardbridge"))
    os.makedirs(T["runtime"], mode=0o700)
    T["env"] = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": T["home"],
        "USER": "cbtest", "LOGNAME": "cbtest",
        "XDG_CONFIG_HOME": os.path.join(T["home"], ".config"),
        "XDG_DATA_HOME": os.path.join(T["home"], ".local", "share"),
        "XDG_STATE_HOME": os.path.join(T["home"], ".local", "state"),
        "XDG_DATA_DIRS": "/usr/share", "XDG_CONFIG_DIRS": "/etc/xdg",
        "XDG_RUNTIME_DIR": T["runtime"],
        # Any value: xdg-open only looks for a handler when there is a display.
        "DISPLAY": ":cardbridge-test",
        # Should the handler ever fail, xdg-open must not try a browser.
        "BROWSER": "false",
    }


def teardown():
    stop_daemons()
    if T["installed"] and status():
        apt_get("purge", PACKAGE)
    if T.get("top"):
        shutil.rmtree(T["top"], ignore_errors=True)


# --- daemons of this test ---------------------------------------------------

def start_daemon(config, args=(), env=None):
    """/usr/bin/cardbridged on a free port; no --helper: it must find its own."""
    port = cbtest.free_port()
    d = tempfile.mkdtemp(prefix="daemon-", dir=T["top"])
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        json.dump(dict(config, listen=["127.0.0.1:%d" % port], cardEvents=False), f)
    log = open(os.path.join(d, "log"), "w+")
    proc = subprocess.Popen([DAEMON, "--config", path, "--control-socket",
                             os.path.join(d, "control")] + list(args),
                            stdout=log, stderr=subprocess.STDOUT,
                            env=dict(T["env"], **(env or {})))
    T["daemons"].append(proc.pid)
    cbtest.wait_for("cardbridged to listen", lambda: proc.poll() is not None or listening(port))
    assert proc.poll() is None, read(log)
    return {"proc": proc, "port": port, "log": log, "control": os.path.join(d, "control")}


def read(log):
    log.flush()
    log.seek(0)
    return log.read()


def listening(port):
    try:
        WS(port, origin=ORIGIN, timeout=2).close()
    except HandshakeRefused:
        pass
    except OSError:
        return False
    return True


def ours(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid) == DAEMON
    except OSError:
        return False


def stop_daemons():
    for pid in T["daemons"]:
        if ours(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while any(ours(p) for p in T["daemons"]) and time.time() < deadline:
        time.sleep(0.05)
    for pid in T["daemons"]:
        if ours(pid):
            os.kill(pid, signal.SIGKILL)
    for pid in T["daemons"]:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    T["daemons"] = []


def cli(*args, env=None):
    return run([CLI] + list(args), env=env or T["env"], timeout=30)


# --- the built package ------------------------------------------------------

def test_lintian_reports_no_tag_at_all():
    p = run(["lintian", "--display-info", "--display-experimental", "--pedantic",
             "--show-overrides", T["changes"], T["deb"]], timeout=600)
    for line in (p.stdout + p.stderr).splitlines():
        print("# " + line, flush=True)
    # None at all: errors, warnings, and the informational, pedantic and
    # experimental ones too (README.md says so); and none overridden.
    tags = [l for l in p.stdout.splitlines() if re.match(r"^[EWIPXCO]: ", l)]
    assert p.returncode == 0 and not tags, tags or p.stderr


def test_the_package_has_its_files_in_debian_places():
    p = run(["dpkg-deb", "-c", T["deb"]], check=True)
    paths = [line.split(None, 5)[5].split(" -> ")[0][1:] for line in p.stdout.splitlines()]
    files = [x for x in paths if not x.endswith("/")]
    missing = [f for f in FILES if f not in files]
    assert not missing, missing
    astray = [f for f in files if not f.startswith(PLACES)]
    assert not astray, astray


def test_the_package_depends_on_a_pinentry_and_recommends_opensc_and_pcscd():
    fields = run(["dpkg-deb", "-f", T["deb"], "Version", "Depends", "Recommends"],
                 check=True).stdout
    assert "Version: %s\n" % T["version"] in fields, fields
    assert "pinentry-gnome3 | pinentry-gtk2 | pinentry-qt | pinentry" in fields, fields
    # libwebsockets-evlib-uv: lws loads its libuv plugin at run time (daemon/evloop.c).
    for lib in ("libc6", "libwebsockets17", "libwebsockets-evlib-uv", "libuv1", "libjson-c5",
                "libssl3", "libp11-kit0", "libassuan0", "libpcsclite1"):
        assert re.search(r"^Depends:.*\b%s\b" % lib, fields, re.M), (lib, fields)
    recommends = re.search(r"^Recommends: (.*)$", fields, re.M).group(1)
    assert set(recommends.split(", ")) >= {"opensc-pkcs11", "pcscd"}, recommends


def test_the_system_configuration_is_the_only_conffile():
    p = subprocess.run("dpkg-deb --ctrl-tarfile '%s' | tar -xO ./conffiles" % T["deb"],
                       shell=True, stdout=subprocess.PIPE, universal_newlines=True)
    assert p.stdout == "/etc/cardbridge/config.json\n", p.stdout


# --- apt-get install --------------------------------------------------------

def test_apt_get_installs_the_package():
    assert not status(), "%s is already on this machine (%s): purge it first" % (
        PACKAGE, status())
    p = run(["dpkg-deb", "-c", T["deb"]], check=True)
    T["shipped"] = [os.path.normpath(line.split(None, 5)[5].split(" -> ")[0][1:])
                    for line in p.stdout.splitlines()]
    T["existed"] = {x for x in T["shipped"] if os.path.lexists(x)}
    T["before"] = named_cardbridge()
    T["installed"] = True
    started = time.time()
    apt_get("install", os.path.abspath(T["deb"]))
    print("# apt-get install took %.1f s" % (time.time() - started), flush=True)
    assert status() == "install ok installed %s" % T["version"], status()
    T["listed"] = [os.path.normpath(x)
                   for x in run(["dpkg", "-L", PACKAGE], check=True).stdout.split()]
    assert set(FILES) <= set(T["listed"])


def test_installed_programs_know_their_version_and_their_places():
    for prog in (DAEMON, CLI):
        p = run([prog, "--version"], env=T["env"], check=True)
        assert T["version"] in p.stdout, (prog, p.stdout)
    p = run([DAEMON, "--help"], env=T["env"], check=True)
    assert "/etc/cardbridge/config.json" in p.stdout and HELPER in p.stdout, p.stdout
    assert os.access(HELPER, os.X_OK)


def test_the_socket_is_enabled_for_every_user_and_the_service_is_not():
    p = run(["systemctl", "--global", "is-enabled", "cardbridge.socket"])
    assert p.stdout.strip() == "enabled", (p.stdout, p.stderr)
    p = run(["systemctl", "--global", "is-enabled", "cardbridge.service"])
    assert p.stdout.strip() == "disabled", (p.stdout, p.stderr)
    assert os.readlink(WANTS) == "/usr/lib/systemd/user/cardbridge.socket"


def test_the_installed_units_pass_systemd_analyze_verify():
    if shutil.which("systemd-analyze") is None:
        tap.skip("systemd-analyze is not installed")
    p = run(["systemd-analyze", "verify", "--user", "/usr/lib/systemd/user/cardbridge.service",
             "/usr/lib/systemd/user/cardbridge.socket"], env=T["env"])
    assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr


def test_man_finds_both_pages():
    if shutil.which("man") is None:
        tap.skip("man-db is not installed")
    for section, page, path in (("1", "cardbridge", "/usr/share/man/man1/cardbridge.1.gz"),
                                ("8", "cardbridged", "/usr/share/man/man8/cardbridged.8.gz")):
        p = run(["man", "-w", section, page], env=T["env"])
        assert p.stdout.strip() == path, (page, p.stdout, p.stderr)


def test_the_tool_speaks_polish_from_the_installed_catalog():
    locale = {"LC_ALL": "pl_PL.UTF-8"}
    if "pl_PL.utf8" not in run(["locale", "-a"]).stdout.split():
        # Compiled into a directory of ours: the system stays as it is.
        if not os.path.exists("/usr/share/i18n/locales/pl_PL"):
            tap.skip("no pl_PL.UTF-8 locale and no locale sources (Debian: locales)")
        target = os.path.join(T["top"], "locales")
        os.mkdir(target)
        # localedef exits 1 for mere warnings: the compiled locale is what counts.
        run(["localedef", "-i", "pl_PL", "-f", "UTF-8", os.path.join(target, "pl_PL.UTF-8")])
        locale["LOCPATH"] = target
    p = cli("--help", env=dict(T["env"], **locale))
    assert p.stdout.startswith("Użycie: cardbridge"), p.stdout[:200]


def test_the_portal_developer_files_are_in_usr_share_doc():
    with open(DOC + "/clients/js/contract.js") as f:
        installed = f.read()
    with open(os.path.join(cbtest.SRCDIR, "clients/js/contract.js")) as f:
        assert f.read() == installed, "contract.js differs from the tree's"
    if shutil.which("node") is None:
        tap.skip("node is not installed (the import check)")
    p = run(["node", "--input-type=module", "-e",
             "const m = await import('%s/clients/js/cardbridge.js');"
             "console.log(Object.keys(m).length > 0 ? 'ok' : 'empty');" % DOC])
    assert p.stdout.strip() == "ok", p.stdout + p.stderr


# --- the installed programs -------------------------------------------------

def test_the_installed_daemon_generates_a_key_on_a_softhsm_token():
    hsm = softhsm.SoftHSM(["package test"])
    dialogs = cbtest.Dialogs()
    try:
        # Not --no-default-config: the package's /etc/cardbridge/config.json is read too.
        d = start_daemon({"allowedOrigins": [ORIGIN], "modules": [{"path": softhsm.MODULE}],
                          "pinentry": cbtest.FAKE_PINENTRY},
                         env=dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf))
        T["control"] = d["control"]
        ws = WS(d["port"], origin=ORIGIN)
        hello = ws.result("system.hello")
        assert hello["name"] == "cardbridge" and hello["version"] == T["version"], hello
        tokens = ws.result("tokens.list")["tokens"]
        uri = [t["uri"] for t in tokens if t["label"] == "package test"]
        assert len(uri) == 1, tokens
        dialogs.answers("pin " + softhsm.PIN)
        key = ws.result("keys.generate", {"token": uri[0], "subject": {"CN": "Joe Doe"},
                                          "algorithm": {"type": "EC", "curve": "P-256"}})
        ws.close()
        assert pki.verify_csr(key["csr"]), "the CSR does not verify"
        ids = [o["id"] for o in hsm.objects("package test") if o["kind"] == "Private Key"]
        assert ids == [key["keyId"]], (ids, key["keyId"])
        assert "GETPIN" in dialogs.shown(), dialogs.shown()
    finally:
        dialogs.cleanup()
        hsm.cleanup()


def test_cardbridge_status_reports_the_installed_daemon():
    p = cli("--control-socket", T["control"], "--json", "status")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert ours(s["pid"]) and s["pid"] in T["daemons"], s
    assert s["version"] == T["version"], s
    assert [m for m in s["modules"] if softhsm.MODULE in json.dumps(m)], s["modules"]
    stop_daemons()


def test_xdg_mime_names_the_installed_handler():
    # No mimeapps.list of ours: the package's .desktop file and the cache
    # desktop-file-utils' trigger wrote must be enough.
    p = run(["xdg-mime", "query", "default", "x-scheme-handler/cardbridge"], env=T["env"])
    assert p.stdout.strip() == "cardbridge.desktop", (p.stdout, p.stderr)


def open_starts_the_daemon(opener):
    port = cbtest.free_port()
    with open(os.path.join(T["home"], ".config", "cardbridge", "config.json"), "w") as f:
        json.dump({"listen": ["127.0.0.1:%d" % port], "allowedOrigins": [ORIGIN],
                   "cardEvents": False}, f)
    p = run(opener + ["cardbridge://start"], env=T["env"], timeout=30)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    cbtest.wait_for("the browser port", lambda: listening(port), timeout=10)
    s = json.loads(cli("--json", "status").stdout)
    T["daemons"].append(s["pid"])
    assert ours(s["pid"]) and s["listen"] == ["127.0.0.1:%d" % port], s
    ws = WS(port, origin=ORIGIN)
    assert ws.result("system.hello")["name"] == "cardbridge"
    ws.close()
    stop_daemons()


def test_xdg_open_cardbridge_start_starts_the_installed_daemon():
    open_starts_the_daemon(["xdg-open"])


def test_gio_open_cardbridge_start_starts_it_too():
    # Firefox opens the link through GIO, not xdg-open.
    open_starts_the_daemon(["gio", "open"])


# --- the fleet examples -----------------------------------------------------

def load(path):
    with open(path) as f:
        return json.load(f)


def test_browser_policy_prints_the_shipped_chromium_example():
    p = cli("browser-policy", "--origin", ORIGIN)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == load(DOC + "/examples/chromium/cardbridge.json"), p.stdout


def test_browser_policy_firefox_prints_the_shipped_firefox_example():
    p = cli("browser-policy", "--firefox", "--origin", ORIGIN)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == load(DOC + "/examples/firefox/policies.json"), p.stdout


def test_the_shipped_allow_list_admits_the_portal_and_refuses_other_sites():
    d = start_daemon(load(DOC + "/examples/allow-list/config.json"), ["--no-default-config"])
    ws = WS(d["port"], origin=ORIGIN)
    assert ws.result("system.hello")["name"] == "cardbridge"
    ws.close()
    try:
        WS(d["port"], origin="https://other.example").close()
        raise AssertionError("https://other.example was admitted")
    except HandshakeRefused as e:
        assert " 403 " in e.status + " ", e.status
    stop_daemons()


# --- apt-get remove and purge -----------------------------------------------

def test_apt_get_remove_keeps_only_the_configuration():
    apt_get("remove", PACKAGE)
    assert status().startswith("deinstall ok config-files"), status()
    assert os.path.exists("/etc/cardbridge/config.json")
    left = [x for x in T["listed"] if os.path.isfile(x) and x not in T["existed"]]
    assert left == ["/etc/cardbridge/config.json"], left


def test_apt_get_purge_leaves_no_file_behind():
    apt_get("purge", PACKAGE)
    assert status() == "", status()
    left = [x for x in T["listed"] if os.path.lexists(x) and x not in T["existed"]]
    assert not left, left
    assert not os.path.lexists(WANTS)
    appeared = sorted(named_cardbridge() - T["before"])
    assert not appeared, appeared
    p = run(["xdg-mime", "query", "default", "x-scheme-handler/cardbridge"], env=T["env"])
    assert p.stdout.strip() == "", p.stdout


preflight()
tap.run(globals(), setup=setup, teardown=teardown)

"""The APDUs each operation sends to a card, counted by the card itself.

bench/bench.py imports this; it needs the virtual card of tests/vcard (its
--apdu-count FILE) in a private pcscd (tests/pcscenv.py), for both of its
personalities: OpenPGP (OpenSC's openpgp driver, keys made with the admin
PIN) and IsoApplet (OpenSC's PKCS#15 emulation, keys made with the user PIN).

    measure(personalities, idle_seconds, runs, daemons, note) -> {personality: {...}}

daemons is a pair (start, stop): start(modules, env) returns a started
cbtest.Daemon, stop(daemon) stops it (bench.py's, which also clean up).

For each personality, on a card in its factory state (IsoApplet: then
personalised with pkcs15-init, as an issuer would):
  - start:    cardbridged started, until tokens.list lists the card
  - list:     tokens.list answered from the daemon's cache, per call
  - idle:     nothing asked for idle_seconds, the card inserted, a page connected
  - keygen:   keys.generate RSA 2048 + CSR (PIN dialogs scripted)
  - tool:     the same done by pkcs11-tool on the same card from the same
              state: --keypairgen, then --sign (SHA256-RSA-PKCS) with the key
  - tool_list: pkcs11-tool -L, what each pkcs11-tool process costs to bind
              the card before doing anything
All counts wait until the card has been quiet for SETTLE seconds: the card
writes its count after answering, and a module may send its last APDUs
(logout) after the operation returned.
"""
import os
import time

import cbtest
import pcscenv

SETTLE = 0.5
RSA = {"type": "RSA", "bits": 2048}


class Card:
    """A private pcscd with one virtual card that counts APDUs."""

    def __init__(self, personality):
        self.personality = personality
        self.env = pcscenv.PcscEnv(personality)
        self.count_file = os.path.join(self.env.dir, "apdus")

    def fresh(self):
        """Remove the card, forget its state, insert it new (and personalise it)."""
        if self.env.card is not None:
            self.env.remove()
        if os.path.exists(self.env.state):
            os.unlink(self.env.state)
        self.env.insert("--apdu-count", self.count_file)
        if self.personality == "isoapplet":
            self.env.personalise_isoapplet()

    def count(self):
        try:
            with open(self.count_file) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def settled(self, timeout=10):
        """The count once it has not moved for SETTLE seconds."""
        deadline = time.time() + timeout
        last, since = self.count(), time.time()
        while time.time() < deadline:
            time.sleep(0.05)
            now = self.count()
            if now != last:
                last, since = now, time.time()
            elif time.time() - since >= SETTLE:
                break
        return last

    def stop(self):
        self.env.stop()


def card_tokens(ws):
    return [t for t in ws.result("tokens.list")["tokens"]
            if t.get("reader", "").startswith("Virtual PCD")]


def keygen_token(personality, tokens):
    """The token keys.generate RSA goes to, and the PIN dialogs it shows."""
    if personality == "openpgp":
        sig = [t for t in tokens if t["label"].endswith("(sig))")]
        return sig[0], ("pin " + pcscenv.ADMIN_PIN, "pin " + pcscenv.USER_PIN)
    return tokens[0], ("pin " + pcscenv.USER_PIN,)


class Served:
    """cardbridged with OpenSC on one card: start, list, idle and keygen counts."""

    def __init__(self, card, daemons):
        self.card = card
        self.stop_daemon = daemons[1]
        self.dialogs = cbtest.Dialogs(prefix="cb-bench-pin-")
        before = card.settled()
        env = dict(card.env.env)
        env.update(self.dialogs.env())
        self.daemon = daemons[0]([pcscenv.OPENSC_MODULE], env)
        self.ws = self.daemon.connect(timeout=300)
        self.tokens = cbtest.wait_for("the card's tokens", lambda: card_tokens(self.ws), 60)
        self.start = card.settled() - before

    def list_cost(self, calls=10):
        before = self.card.settled()
        for _ in range(calls):
            card_tokens(self.ws)
        return (self.card.settled() - before) / calls

    def keygen_cost(self):
        token, answers = keygen_token(self.card.personality, self.tokens)
        self.dialogs.answers(*answers)
        before = self.card.settled()
        reply = self.ws.call("keys.generate", {"token": token["uri"], "algorithm": RSA,
                                               "subject": {"CN": "cardbridge bench"}})
        error = None if "result" in reply else cbtest.error_reason(reply)
        return self.card.settled() - before, error

    def stop(self):
        self.ws.close()
        self.stop_daemon(self.daemon)
        self.dialogs.cleanup()


def tool_cost(card):
    """pkcs11-tool -L, then --keypairgen and --sign on a fresh card."""
    card.fresh()
    data = os.path.join(card.env.dir, "tbs")
    with open(data, "wb") as f:
        f.write(b"cardbridge bench" * 16)
    out = {}
    steps = [("tool_list", ["-L"])]
    if card.personality == "openpgp":
        steps += [("tool_gen", ["--login", "--login-type", "so", "--so-pin", pcscenv.ADMIN_PIN,
                                "--keypairgen", "--key-type", "rsa:2048", "--id", "01"]),
                  ("tool_sign", ["--slot-index", "1", "--login", "--pin", pcscenv.USER_PIN,
                                 "--sign", "--id", "01", "-m", "SHA256-RSA-PKCS",
                                 "-i", data, "-o", data + ".sig"])]
    else:
        steps += [("tool_gen", ["--login", "--pin", pcscenv.USER_PIN, "--keypairgen",
                                "--key-type", "rsa:2048", "--id", "01"]),
                  ("tool_sign", ["--login", "--pin", pcscenv.USER_PIN, "--sign", "--id", "01",
                                 "-m", "SHA256-RSA-PKCS", "-i", data, "-o", data + ".sig"])]
    for name, argv in steps:
        before = card.settled()
        card.env.pkcs11_tool(*argv)
        out[name] = card.settled() - before
    out["tool"] = out["tool_gen"] + out["tool_sign"]
    return out


def measure(personalities, idle_seconds, runs, daemons, note):
    """{personality: {"start", "list", "keygen", "errors", "tool", ...: [one per run],
    "idle": [one]}}"""
    cards = {p: Card(p) for p in personalities}
    out = {p: {"start": [], "list": [], "idle": [], "keygen": [], "errors": [],
               "tool": [], "tool_gen": [], "tool_sign": [], "tool_list": []}
           for p in personalities}
    try:
        for run in range(runs):
            served = {}
            for p, card in cards.items():
                card.fresh()
                served[p] = Served(card, daemons)
                out[p]["start"].append(served[p].start)
                out[p]["list"].append(served[p].list_cost())
            if run == 0:
                # Both cards at once: one wait for the two of them.
                note("APDUs: %g s idle with the cards inserted" % idle_seconds)
                before = {p: c.settled() for p, c in cards.items()}
                time.sleep(idle_seconds)
                for p, c in cards.items():
                    out[p]["idle"].append(c.count() - before[p])
            for p, s in served.items():
                n, error = s.keygen_cost()
                out[p]["keygen"].append(n)
                out[p]["errors"].append(error)
                s.stop()
            for p, card in cards.items():
                for k, v in tool_cost(card).items():
                    out[p][k].append(v)
    finally:
        for card in cards.values():
            card.stop()
    return out

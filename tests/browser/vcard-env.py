#!/usr/bin/python3
"""For the browser tiers: a private pcscd with a virtual card (tests/pcscenv.py),
up until stdin closes.  Prints one JSON line: {"dir", "env"} (the variables a
cardbridged needs to see the card), or {"missing": why}.

    vcard-env.py isoapplet [--lock]     an IsoApplet card, personalised;
                                        --lock: its PIN locked by three wrong PINs
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pcscenv  # noqa: E402


def main():
    personality = sys.argv[1]
    why = pcscenv.missing()
    if why:
        print(json.dumps({"missing": why}), flush=True)
        return
    env = pcscenv.PcscEnv(personality)
    try:
        env.insert()
        if personality == "isoapplet":
            env.personalise_isoapplet()
        if "--lock" in sys.argv:
            for _ in range(3):
                env.pkcs11_tool("--login", "--pin", "999999", "-O", check=False)
        print(json.dumps({"dir": env.dir, "env": {
            "PCSCLITE_CSOCK_NAME": env.env["PCSCLITE_CSOCK_NAME"],
            "OPENSC_CONF": env.env["OPENSC_CONF"]}}), flush=True)
        sys.stdin.read()
    finally:
        env.stop()


if __name__ == "__main__":
    main()

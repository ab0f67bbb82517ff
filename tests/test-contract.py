#!/usr/bin/python3
"""The documents follow the table: doc/PROTOCOL.md, clients/js/cardbridge.d.ts,
clients/js/contract.js, doc/HELPER-IPC.md and doc/cardbridged.8 against
protocol/methods.c and protocol/errors.c, as `protocol/cb-contract json`
prints them.  Each check fails both ways: something in the code that the
document lacks, and something in the document the code does not have.

    test-contract.py                       the TAP tier (make check)
    test-contract.py --rewrite-reasons DOC CB_CONTRACT
                                           rewrite DOC's "Error reasons" table
                                           (make contract-docs)
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402

SRCDIR = os.environ.get("CB_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("CB_BUILDDIR", SRCDIR)
CB_CONTRACT = os.path.join(BUILDDIR, "protocol", "cb-contract")
REASONS_BEGIN = "<!-- reasons: generated from protocol/errors.c by `make contract-docs` -->"
REASONS_END = "<!-- end of reasons -->"


def contract_output(what, tool=CB_CONTRACT):
    return subprocess.run([tool, what], check=True, capture_output=True, text=True).stdout


def read(*parts):
    with open(os.path.join(SRCDIR, *parts), encoding="utf-8") as f:
        return f.read()


def rewrite_reasons(doc_path, tool):
    with open(doc_path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.index(REASONS_BEGIN), text.index(REASONS_END)
    text = (text[:start + len(REASONS_BEGIN)] + "\n" + contract_output("reasons-md", tool) +
            text[end:])
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(text)


if len(sys.argv) == 4 and sys.argv[1] == "--rewrite-reasons":
    rewrite_reasons(sys.argv[2], sys.argv[3])
    sys.exit(0)

if not os.path.exists(CB_CONTRACT):
    tap.skip_all("protocol/cb-contract is not built")

C = json.loads(contract_output("json"))
PAGE = [m for m in C["methods"] if "page" in m["flags"]]
CONTROL = [m for m in C["methods"] if "control" in m["flags"]]
LINK_ONLY = [m for m in C["methods"] if m["flags"][0] == "helper"]
REASONS = [r["reason"] for r in C["reasons"]]
EVENT = next(n for n in C["notifications"] if n["name"] == "event")
PROGRESS = next(n for n in C["notifications"] if n["name"] == "progress")


def differ(what, in_code, in_doc):
    """Assert two sets are equal, saying what each side lacks."""
    in_code, in_doc = set(in_code), set(in_doc)
    missing, extra = sorted(in_code - in_doc), sorted(in_doc - in_code)
    assert not missing and not extra, "%s: in the code but not the document: %s; " \
        "in the document but not the code: %s" % (what, missing, extra)


# --- doc/PROTOCOL.md ---------------------------------------------------------

def protocol_md():
    return read("doc", "PROTOCOL.md")


def sections(text, level):
    """{heading: body} for the headings of one level ("##" or "###")."""
    parts = re.split(r"^(%s [^\n]*)$" % re.escape(level), text, flags=re.M)
    return {parts[i][len(level) + 1:].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def method_sections():
    methods = sections(protocol_md(), "##")["Methods"]
    return {h.strip("`"): body for h, body in sections(methods, "###").items()
            if h.startswith("`")}


def backticked(text):
    return set(re.findall(r"`([^`\n]+)`", text))


def test_every_page_method_has_a_section_and_every_section_a_method():
    differ("methods in PROTOCOL.md", [m["name"] for m in PAGE], method_sections())


def param_rows(body):
    return re.findall(r"^\| `([A-Za-z]+)` \|[^\n]*$", body, flags=re.M)


def test_each_methods_params_table_lists_exactly_its_params():
    docs = method_sections()
    for m in PAGE:
        rows = param_rows(docs.get(m["name"], ""))
        if not m["params"]:
            assert not rows, "%s takes no params, PROTOCOL.md lists %s" % (m["name"], rows)
            assert re.search(r"No params", docs[m["name"]]), \
                "%s: PROTOCOL.md must say it takes no params" % m["name"]
            continue
        differ("params of %s" % m["name"], [p["name"] for p in m["params"]], rows)


def limits_of(p):
    words = []
    for key in ("maxBytes", "maxChars", "maxItems"):
        if key in p:
            words.append(str(p[key]))
    return words


def test_each_params_limits_and_choices_are_in_its_row():
    docs = method_sections()
    for m in PAGE:
        for p in m["params"]:
            row = re.search(r"^\| `%s` \|([^\n]*)$" % re.escape(p["name"]),
                            docs[m["name"]], flags=re.M).group(1)
            numbers = re.sub(r"(\d) (\d)", r"\1\2", row.replace("KiB", "* 1024"))
            for limit in limits_of(p):
                kib = int(limit) // 1024 if int(limit) % 1024 == 0 else None
                assert limit in numbers or (kib and "%d * 1024" % kib in numbers), \
                    "%s.%s: the limit %s is not in its row: %s" % (m["name"], p["name"],
                                                                   limit, row)
            for f in p.get("fields", []):
                assert "`%s`" % f["name"] in row, "%s.%s.%s is not in its row" % (
                    m["name"], p["name"], f["name"])
                for choice in f.get("choices", []):
                    assert str(choice) in row, "%s.%s.%s: %r is not in its row" % (
                        m["name"], p["name"], f["name"], choice)
                for limit in limits_of(f):
                    assert limit in row, "%s.%s.%s: the limit %s is not in its row" % (
                        m["name"], p["name"], f["name"], limit)


def test_each_method_names_exactly_the_reasons_it_may_fail_with():
    docs = method_sections()
    for m in PAGE:
        lines = re.findall(r"^Errors:([^\n]*(?:\n[^\n]+)*)", docs[m["name"]], flags=re.M)
        if not m["reasons"]:
            assert not lines, "%s has no reasons of its own, PROTOCOL.md lists some" % m["name"]
            continue
        assert len(lines) == 1, "%s: one paragraph starting 'Errors:' expected" % m["name"]
        differ("reasons of %s" % m["name"], m["reasons"],
               {w for w in backticked(lines[0]) if re.fullmatch(r"[A-Z_]+", w)})


def test_the_reason_table_is_generated_from_the_code():
    text = protocol_md()
    assert REASONS_BEGIN in text and REASONS_END in text, "PROTOCOL.md lost its reason markers"
    table = text[text.index(REASONS_BEGIN) + len(REASONS_BEGIN):text.index(REASONS_END)]
    assert table.strip() == contract_output("reasons-md").strip(), \
        "PROTOCOL.md's reason table differs from protocol/errors.c: run `make contract-docs`"


def test_every_card_event_is_documented():
    text = sections(protocol_md(), "##")
    events = text.get("Events", "")
    type_row = "".join(re.findall(r"^\| `type` \|.*$", events, flags=re.M))
    differ("event types in PROTOCOL.md, \"Events\"", EVENT["types"],
           {w for w in backticked(type_row) if re.fullmatch(r"[a-z]+[A-Z][A-Za-z]+", w)})
    differ("event members in PROTOCOL.md, \"Events\"", [p["name"] for p in EVENT["params"]],
           re.findall(r"^\| `([a-z]+[A-Za-z]*)` \|", events, flags=re.M))


def test_every_progress_stage_is_documented_in_order():
    text = sections(protocol_md(), "##").get("Progress", "")
    stages = re.findall(r"^\d+\. `([A-Za-z]+)`", text, flags=re.M)
    assert stages == PROGRESS["types"], "PROTOCOL.md, \"Progress\": %s, the code: %s" % (
        stages, PROGRESS["types"])
    differ("progress members in PROTOCOL.md", [p["name"] for p in PROGRESS["params"]],
           re.findall(r"^\| `([A-Za-z]+)` \|", text, flags=re.M))
    pin = next(p for p in PROGRESS["params"] if p["name"] == "pin")
    for kind in pin["choices"]:
        assert "`%s`" % kind in text, "progress pin %r is not documented" % kind


def test_nothing_that_works_is_listed_as_planned():
    planned = sections(protocol_md(), "###").get("Planned", "")
    names = {m["name"] for m in C["methods"]} | set(EVENT["types"])
    assert not backticked(planned) & names, "listed as planned: %s" % (backticked(planned) & names)


# --- clients/js ---------------------------------------------------------------

def dts():
    return read("clients", "js", "cardbridge.d.ts")


def union(name):
    m = re.search(r"export type %s =([^;]*);" % name, dts())
    assert m, "cardbridge.d.ts has no type " + name
    return re.findall(r"'([^']+)'", m.group(1))


def interface(name):
    m = re.search(r"export interface %s \{(.*?)^\}" % name, dts(), flags=re.M | re.S)
    assert m, "cardbridge.d.ts has no interface " + name
    body = re.sub(r"/\*\*.*?\*/", "", m.group(1), flags=re.S)
    return dict(re.findall(r"'?([A-Za-z.]+)'?(\??):", body))


def test_the_typescript_reasons_events_and_methods_are_the_tables():
    differ("ProtocolReason", REASONS, union("ProtocolReason"))
    differ("CardEventType", EVENT["types"], union("CardEventType"))
    differ("ProgressStage", PROGRESS["types"], union("ProgressStage"))
    differ("MethodName", [m["name"] for m in PAGE], union("MethodName"))


def test_the_typescript_params_of_each_method_are_the_schema():
    params = re.search(r"export interface MethodParams \{(.*?)^\}", dts(), flags=re.M | re.S)
    assert params, "cardbridge.d.ts has no MethodParams"
    types = dict(re.findall(r"'([a-z.]+)': ([A-Za-z<>, ]+);", params.group(1)))
    differ("MethodParams", [m["name"] for m in PAGE], types)
    for m in PAGE:
        t = types[m["name"]]
        if not m["params"]:
            assert t == "Record<string, never>", "%s takes no params, d.ts says %s" % (
                m["name"], t)
            continue
        members = interface(t)
        differ("members of %s" % t, [p["name"] for p in m["params"]], members)
        for p in m["params"]:
            assert (members[p["name"]] == "") == p["required"], \
                "%s.%s: required in one, optional in the other" % (t, p["name"])


def test_the_typescript_notification_params_are_the_tables():
    for note, name in ((EVENT, "CardEventParams"), (PROGRESS, "Progress")):
        members = interface(name)
        differ("members of %s" % name, [p["name"] for p in note["params"]], members)
        for p in note["params"]:
            assert (members[p["name"]] == "") == p["required"], \
                "%s.%s: required in one, optional in the other" % (name, p["name"])
    pin = next(p for p in PROGRESS["params"] if p["name"] == "pin")
    m = re.search(r"^\tpin\?: ([^;]*);", re.search(
        r"export interface Progress \{(.*?)^\}", dts(), flags=re.M | re.S).group(1), flags=re.M)
    differ("Progress.pin's values", pin["choices"], re.findall(r"'([^']+)'", m.group(1)))


def test_the_typescript_subject_and_algorithm_are_the_schema():
    keygen = next(m for m in PAGE if m["name"] == "keys.generate")
    fields = {p["name"]: p for p in keygen["params"]}
    differ("Subject", [f["name"] for f in fields["subject"]["fields"]], interface("Subject"))
    algorithm = re.search(r"export type Algorithm =(.*?);$", dts(), flags=re.M).group(1)
    literals = set(re.findall(r"'([^']+)'|(\d+)", algorithm))
    literals = {a or b for a, b in literals}
    choices = {str(c) for f in fields["algorithm"]["fields"] for c in f.get("choices", [])}
    differ("Algorithm's values", choices, literals)


def test_contract_js_is_what_cb_contract_writes_now():
    assert read("clients", "js", "contract.js") == contract_output("js"), \
        "clients/js/contract.js is stale: run make"


def test_the_js_package_has_the_release_version():
    version = re.search(r"export const VERSION = '([^']+)'", contract_output("js")).group(1)
    package = json.loads(read("clients", "js", "package.json"))
    assert package["version"] == version, (package["version"], version)
    assert "contract.js" in package["files"]


def test_the_invisible_code_points_are_what_the_generator_prints():
    generated = subprocess.run(["/usr/bin/python3", os.path.join(SRCDIR, "protocol",
                                                                 "gen-invisible.py")],
                               check=True, capture_output=True, text=True).stdout
    assert read("protocol", "invisible.h") == generated, \
        "protocol/invisible.h differs from protocol/gen-invisible.py's output"


# --- the other ends -----------------------------------------------------------

def test_the_helper_link_methods_are_in_helper_ipc_md():
    text = read("doc", "HELPER-IPC.md")
    for m in LINK_ONLY + [m for m in PAGE if "helper" in m["flags"]]:
        assert "`%s`" % m["name"] in text, "HELPER-IPC.md does not mention " + m["name"]


def test_the_control_methods_and_their_own_params_are_in_cardbridged_8():
    text = read("doc", "cardbridged.8").replace("\\&", "").replace("\\-", "-")
    for m in CONTROL:
        assert m["name"] in text, "cardbridged.8 does not mention " + m["name"]
    # The page's methods take the params PROTOCOL.md lists ("the same
    # params"); the control socket's own are spelled out in the page.
    for m in CONTROL:
        if "page" not in m["flags"]:
            for p in m["params"]:
                assert '"%s"' % p["name"] in text, \
                    "cardbridged.8 does not give %s's param %s" % (m["name"], p["name"])


tap.run(globals())

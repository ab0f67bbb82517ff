#!/usr/bin/python3
"""No call loops between the files of one folder (daemon/, pkcs11/, cli/,
protocol/): a file calls functions of another only in one direction.

How: Universal Ctags lists the functions each .c file defines; a file
"calls" another when its code, without comments and strings, names one of
the other's functions followed by "(" or takes its address.  Function
pointers set up elsewhere are not calls: a callback registered with lws or
a table of handlers is the one allowed way back.  The strongly connected
components of that graph must all be single files.

    test-layering.py            the TAP tier (make check)
    test-layering.py --graph    print each folder's file graph
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402

SRCDIR = os.environ.get("CB_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDERS = ("protocol", "daemon", "pkcs11", "cli")


def functions(path):
    out = subprocess.run(["ctags", "-x", "--c-kinds=f", "--language-force=C", path],
                         check=True, capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def code_of(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", text)


def graph(folder):
    files = sorted(f for f in os.listdir(os.path.join(SRCDIR, folder)) if f.endswith(".c"))
    defined = {f: functions(os.path.join(SRCDIR, folder, f)) for f in files}
    owner = {}
    for f, names in defined.items():
        for n in names:
            owner.setdefault(n, f)
    edges = {f: {} for f in files}
    for f in files:
        if f.startswith("cb-"):
            continue  # build tools with a main() of their own
        for name in set(re.findall(r"\b([A-Za-z_]\w*)\b", code_of(os.path.join(SRCDIR, folder, f)))):
            g = owner.get(name)
            if g and g != f and name not in defined[f]:
                edges[f].setdefault(g, set()).add(name)
    return edges


def loops(edges):
    """Tarjan: the strongly connected components of more than one file."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def describe(folder, edges, comp):
    lines = []
    for f in comp:
        for g, names in sorted(edges[f].items()):
            if g in comp:
                lines.append("%s/%s -> %s: %s" % (folder, f, g, ", ".join(sorted(names))))
    return "\n".join(lines)


def check(folder):
    edges = graph(folder)
    found = loops(edges)
    assert not found, "call loops in %s/:\n%s" % (
        folder, "\n".join(describe(folder, edges, c) for c in found))


if len(sys.argv) == 2 and sys.argv[1] == "--graph":
    for folder in FOLDERS:
        edges = graph(folder)
        for f in sorted(edges):
            for g, names in sorted(edges[f].items()):
                print("%s/%s -> %s (%s)" % (folder, f, g, ", ".join(sorted(names))))
        for comp in loops(edges):
            print("LOOP in %s: %s" % (folder, comp))
    sys.exit(0)

if shutil.which("ctags") is None:
    tap.skip_all("ctags is not installed (Debian: universal-ctags)")


def test_protocol_files_call_each_other_in_one_direction():
    check("protocol")


def test_daemon_files_call_each_other_in_one_direction():
    check("daemon")


def test_pkcs11_files_call_each_other_in_one_direction():
    check("pkcs11")


def test_cli_files_call_each_other_in_one_direction():
    check("cli")



tap.run(globals())

"""TAP runner for cardbridge's Python test tiers.

Each test module defines functions named test_* (run in the order they are
defined) and ends with `tap.run(globals())`.  Output is TAP for automake's
tap-driver: one `ok`/`not ok` line per function, failures explained in `#`
comments.  A function may call tap.skip("why") to be reported as skipped.
A module whose requirements are missing calls tap.skip_all("why").
A known failure is marked by raising tap.Todo("why"), or by giving the function
a `todo` attribute: then a failure is reported "not ok ... # TODO why" and does
not fail the file (and a pass shows up as an unexpected pass).
"""
import inspect
import os
import sys
import traceback


class Skip(Exception):
    pass


class Todo(Exception):
    """A known failure to report as TODO (automake counts it as XFAIL)."""


def skip(why):
    raise Skip(why)


def todo(why):
    raise Todo(why)


def skip_all(why):
    print("1..0 # SKIP " + why, flush=True)
    sys.exit(0)


def run(namespace, setup=None, teardown=None, order=None):
    """order: a key on the test functions; by default the line each begins on
    (a file whose tests come from two modules gives its own, see cardtier.py)."""
    tests = [(name, fn) for name, fn in namespace.items()
             if name.startswith("test_") and inspect.isfunction(fn)]
    tests.sort(key=lambda item: (order or (lambda fn: fn.__code__.co_firstlineno))(item[1]))
    # CB_TEST_ONLY=WORDS runs only the tests whose names contain WORDS
    # (for reproducing one failure; make check never sets it).
    only = os.environ.get("CB_TEST_ONLY", "").replace(" ", "_")
    if only:
        tests = [(name, fn) for name, fn in tests if only in name]
    print("1..%d" % len(tests), flush=True)
    failed = 0
    try:
        if setup:
            setup()
        for i, (name, fn) in enumerate(tests, 1):
            title = name[len("test_"):].replace("_", " ")
            known = getattr(fn, "todo", None)
            mark = " # TODO " + known if known else ""
            try:
                fn()
            except Skip as e:
                print("ok %d - %s # SKIP %s" % (i, title, e), flush=True)
            except Todo as e:
                print("not ok %d - %s # TODO %s" % (i, title, e), flush=True)
            except Exception:
                if not known:
                    failed += 1
                print("not ok %d - %s%s" % (i, title, mark), flush=True)
                for line in traceback.format_exc().splitlines():
                    print("# " + line, flush=True)
            else:
                print("ok %d - %s%s" % (i, title, mark), flush=True)
    finally:
        if teardown:
            teardown()
    sys.exit(1 if failed else 0)

#!/bin/sh
# Generate the build system.  automake does not install its TAP driver on
# its own, so copy it next to the other auxiliary files.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
autoreconf -fi

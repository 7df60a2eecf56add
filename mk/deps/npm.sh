#!/bin/sh
# SPDX-License-Identifier: MIT
# npm for ui/ (make ui): Debian's package, unless an npm is there already
# (a nodejs from elsewhere that bundles its own npm conflicts with it).
set -eu
command -v npm >/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "massaged: npm missing. Install it as root with: apt-get install -y npm" >&2
	exit 1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm

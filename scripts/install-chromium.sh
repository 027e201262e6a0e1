#!/usr/bin/env bash
# Installs Debian's chromium package, the headless browser that
# scripts/ui-test.sh loads the dashboard (/ui/) in:
#
#   scripts/install-chromium.sh
#
# Does nothing when chromium is already installed, so it is safe to run
# before every browser test; installs with scripts/apt-install.sh (about
# 100 MiB). Exits non-zero with a message saying why when chromium cannot
# be installed. Prints `chromium --version` at the end.
set -euo pipefail

found() {
	command -v chromium 2>/dev/null || { [ -x /usr/bin/chromium ] && echo /usr/bin/chromium; }
}

if path=$(found); then
	echo "install-chromium: chromium already installed at $path"
else
	# fonts-dejavu-core: the page's font, so screenshots look the same on
	# every machine.
	bash "$(dirname "$0")/apt-install.sh" install-chromium chromium fonts-dejavu-core
	path=$(found) || {
		echo "install-chromium: chromium still not found after installing" >&2
		exit 1
	}
fi
"$path" --version

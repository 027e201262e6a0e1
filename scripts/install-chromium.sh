#!/usr/bin/env bash
# Installs Debian's chromium package, the headless browser that
# scripts/ui-test.sh loads the dashboard (/ui/) in:
#
#   scripts/install-chromium.sh
#
# Does nothing when chromium is already installed, so it is safe to run
# before every browser test. Runs apt-get directly as root, through sudo
# otherwise. Updates the package index first (a fresh container has none),
# waits up to two minutes for another apt to release its lock, and exits
# non-zero with a message saying why when chromium cannot be installed.
set -euo pipefail

found() {
	command -v chromium 2>/dev/null || { [ -x /usr/bin/chromium ] && echo /usr/bin/chromium; }
}

if path=$(found); then
	echo "install-chromium: chromium already installed at $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "install-chromium: chromium missing and apt-get not found; install a Chromium or Chrome build by hand" >&2
	exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "install-chromium: need root (or sudo) to install chromium" >&2
		exit 1
	fi
	sudo=(sudo)
fi
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120)
echo "install-chromium: updating the package index"
if ! "${apt[@]}" update -qq; then
	echo "install-chromium: apt-get update failed (no network to the package mirror?)" >&2
	exit 1
fi
echo "install-chromium: installing chromium with apt-get (about 100 MiB)"
if ! "${apt[@]}" install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
	echo "install-chromium: apt-get install chromium failed" >&2
	exit 1
fi
path=$(found) || { echo "install-chromium: chromium installed but not found on PATH or in /usr/bin" >&2; exit 1; }
echo "install-chromium: installed $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"

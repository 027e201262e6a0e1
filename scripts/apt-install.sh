#!/usr/bin/env bash
# Installs Debian packages for the project's tests and benchmarks:
#
#   scripts/apt-install.sh NAME PACKAGE...
#
# NAME prefixes the messages (the calling script's name). Runs apt-get as
# root, through sudo otherwise; refreshes the package index only when the
# first attempt fails (a fresh machine has none). Exits non-zero with a
# message when the packages cannot be installed.
set -euo pipefail
name=${1:?usage: scripts/apt-install.sh NAME PACKAGE...}
shift
(($# > 0)) || { echo "$name: no packages given" >&2; exit 2; }

if ! command -v apt-get >/dev/null; then
	echo "$name: $* missing and apt-get not found; install them by hand" >&2
	exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "$name: need root (or sudo) to install $*" >&2
		exit 1
	fi
	sudo=(sudo)
fi
apt_install() {
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}
echo "$name: installing $* with apt-get"
if ! apt_install "$@"; then
	echo "$name: install failed; updating the package index and retrying"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	apt_install "$@"
fi
echo "$name: installed $*"

#!/usr/bin/env bash
# Installs the etcd server and etcdctl from the distribution's packages
# (Debian bookworm: etcd-server and etcd-client 3.4.23), the etcd that
# docs and bench/etcdtarget compare Chorus with:
#
#   scripts/install-etcd.sh
#
# Does nothing when etcd and etcdctl are already installed, so it is safe
# to run before every benchmark. Runs apt-get directly as root, through
# sudo otherwise. Refreshes the package index only when the first install
# attempt fails (a fresh container has no index). Prints `etcd --version`
# at the end.
set -euo pipefail

# found NAME prints the path of NAME on PATH or in /usr/bin (Debian's
# location, which a restricted PATH may miss).
found() {
	command -v "$1" 2>/dev/null || { [ -x "/usr/bin/$1" ] && echo "/usr/bin/$1"; }
}

pkgs=()
if ! found etcd >/dev/null; then pkgs+=(etcd-server); fi
if ! found etcdctl >/dev/null; then pkgs+=(etcd-client); fi

if ((${#pkgs[@]} == 0)); then
	echo "install-etcd: etcd already installed at $(found etcd), etcdctl at $(found etcdctl)"
else
	if ! command -v apt-get >/dev/null; then
		echo "install-etcd: ${pkgs[*]} missing and apt-get not found; install etcd 3.4+ by hand" >&2
		exit 1
	fi
	sudo=()
	if [ "$(id -u)" != 0 ]; then
		if ! command -v sudo >/dev/null; then
			echo "install-etcd: need root (or sudo) to install ${pkgs[*]}" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	apt_install() {
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends "${pkgs[@]}"
	}
	echo "install-etcd: installing ${pkgs[*]} with apt-get"
	if ! apt_install; then
		echo "install-etcd: install failed; updating the package index and retrying"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
		apt_install
	fi
	echo "install-etcd: installed ${pkgs[*]}"
fi

etcd=$(found etcd) || {
	echo "install-etcd: etcd still not found after installing" >&2
	exit 1
}
"$etcd" --version

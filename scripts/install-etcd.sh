#!/usr/bin/env bash
# Installs the etcd server and etcdctl from the distribution's packages
# (Debian bookworm: etcd-server and etcd-client 3.4.23), the etcd that
# docs and bench/etcdtarget compare Chorus with:
#
#   scripts/install-etcd.sh
#
# Does nothing when etcd and etcdctl are already installed, so it is safe
# to run before every benchmark; installs with scripts/apt-install.sh.
# Prints `etcd --version` at the end.
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
	bash "$(dirname "$0")/apt-install.sh" install-etcd "${pkgs[@]}"
fi

etcd=$(found etcd) || {
	echo "install-etcd: etcd still not found after installing" >&2
	exit 1
}
"$etcd" --version

#!/usr/bin/env bash
# Installs what the fault tests cut the network with: iptables (with
# iptables-restore), from Debian's packages.
#
#   scripts/install-netfaults.sh
#
# Does nothing when iptables and iptables-restore are there already. Then
# checks that the filter table can be changed here (root, and a kernel
# that lets this machine or container use netfilter), and says so: the
# partition tests skip, saying why, when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

found() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; }; }

if found iptables >/dev/null && found iptables-restore >/dev/null; then
	echo "install-netfaults: iptables already installed at $(found iptables)"
else
	bash scripts/apt-install.sh install-netfaults iptables
fi
PATH=$PATH:/usr/sbin
if iptables -w -S OUTPUT >/dev/null 2>&1; then
	echo "install-netfaults: $(iptables -V) can change the filter table here"
else
	echo "install-netfaults: iptables is installed but cannot change the filter table here (not root, or no netfilter in this container); partition tests will skip" >&2
fi

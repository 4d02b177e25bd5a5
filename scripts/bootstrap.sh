#!/usr/bin/env bash
# One idempotent set-up step for a Debian 12 machine, run as root: installs the missing apt
# packages, the npm dependencies, and builds everything. On a ready machine it only checks and
# runs the incremental build (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "bootstrap: run as root (xlb loads BPF programs and builds network namespaces)" >&2; exit 1; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "bootstrap: Node.js >= 20 is required (found: $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi

# Build: clang/llvm (BPF), libbpf-dev + pkg-config (addon), make/g++/python3 (node-gyp).
# Runtime and lab: iproute2, ethtool, bpftool, curl, util-linux (nsenter, setpriv). Tests: openssl (mTLS
# certificates), systemd (systemd-analyze verify of the units). Tests and recorder: tshark, tcpdump.
# Python client tests: python3-grpcio + python3-grpc-tools. Benchmarks: netsniff-ng (trafgen), xdp-tools.
# BGP: gobgpd (the daemon xlbd programs), golang-github-osrg-gobgp-dev (its API's .proto files, read
# at run time), bird2 (the router in the lab tests and the demo).
APT_PACKAGES=(clang llvm libbpf-dev linux-libc-dev pkg-config make g++ python3 bpftool iproute2
  ethtool curl openssl systemd util-linux tshark tcpdump python3-grpcio python3-grpc-tools python3-scapy netsniff-ng xdp-tools
  gobgpd golang-github-osrg-gobgp-dev bird2)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # BIRD is only the lab's router (it runs inside lab namespaces): the host-wide bird.service the
  # package just enabled is not wanted. (gobgpd.service needs /etc/gobgpd.conf and stays idle.)
  if [[ " ${missing[*]} " == *" bird2 "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now bird.service >/dev/null 2>&1 || true
    echo "bootstrap: bird2 is for the lab; disabled the host-wide bird.service it enabled"
  fi
fi

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit --loglevel=error
fi

npm run -s build

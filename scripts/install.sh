#!/usr/bin/env bash
# Installs a built xlb checkout (npm run build, or scripts/bootstrap.sh) onto this machine, or into
# DESTDIR for packaging:
#   PREFIX/lib/xlb/        the runtime tree: package.json, dist/ (compiled JS), api/proto/, the
#                          BPF objects, the libbpf-ts addon, production node_modules, doc/
#   PREFIX/bin/xlbd, xlb   symlinks to the daemon's and the CLI's entry points
#   UNITDIR/               xlbd.service, xlb-decap@.service, xlb-gobgpd.service
#   SYSCONFDIR/xlb/        xlb.yaml.example with a random maglev.seed, decap.env.example
#                          (an existing xlb.yaml or decap.env is never touched)
# The runtime tree is assembled next to the old one and swapped in with a rename, so a running
# xlbd keeps working and re-running the script is safe.
set -euo pipefail

usage() {
  cat <<USAGE
usage: scripts/install.sh [--prefix DIR] [--destdir DIR] [--unitdir DIR] [--sysconfdir DIR] [--no-reload]
       scripts/install.sh --uninstall [same options]

  --prefix DIR      installation prefix (default /usr/local): DIR/lib/xlb, DIR/bin
  --destdir DIR     stage everything under DIR (packaging); paths inside files stay the final ones
  --unitdir DIR     systemd units (default /etc/systemd/system)
  --sysconfdir DIR  configuration root (default /etc): DIR/xlb/xlb.yaml.example, decap.env.example
  --no-reload       do not run systemctl daemon-reload (it runs only without DESTDIR and when
                    systemd is the running init)
  --uninstall       remove the runtime tree, the links and the units (config and state are kept)
Environment: PREFIX, DESTDIR, UNITDIR, SYSCONFDIR give the same defaults.
USAGE
}

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
UNITDIR=${UNITDIR:-/etc/systemd/system}
SYSCONFDIR=${SYSCONFDIR:-/etc}
RELOAD=1
ACTION=install
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --destdir) DESTDIR=${2:?--destdir needs a directory}; shift 2 ;;
    --unitdir) UNITDIR=${2:?--unitdir needs a directory}; shift 2 ;;
    --sysconfdir) SYSCONFDIR=${2:?--sysconfdir needs a directory}; shift 2 ;;
    --no-reload) RELOAD=0; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for d in "$PREFIX" "$UNITDIR" "$SYSCONFDIR"; do
  case "$d" in /*) ;; *) echo "install.sh: $d must be an absolute path" >&2; exit 2 ;; esac
done
case "$DESTDIR" in ""|/*) ;; *) echo "install.sh: DESTDIR $DESTDIR must be an absolute path" >&2; exit 2 ;; esac

SRC=$(cd "$(dirname "$0")/.." && pwd)
LIBDIR=$PREFIX/lib/xlb
BINDIR=$PREFIX/bin
UNITS=(xlbd.service xlb-decap@.service xlb-gobgpd.service)

say() { echo "install.sh: $*"; }

maybe_reload() {
  if [ "$RELOAD" = 1 ] && [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl daemon-reload
  fi
}

if [ "$ACTION" = uninstall ]; then
  rm -rf "$DESTDIR$LIBDIR"
  for link in xlbd xlb; do
    # Only our own links: something else may own a file of that name.
    if [ -L "$DESTDIR$BINDIR/$link" ] && [[ "$(readlink "$DESTDIR$BINDIR/$link")" == "$LIBDIR/"* ]]; then rm -f "$DESTDIR$BINDIR/$link"; fi
  done
  for u in "${UNITS[@]}"; do rm -f "$DESTDIR$UNITDIR/$u"; done
  rm -f "$DESTDIR$SYSCONFDIR/xlb/xlb.yaml.example" "$DESTDIR$SYSCONFDIR/xlb/decap.env.example"
  maybe_reload
  say "removed $LIBDIR, $BINDIR/{xlbd,xlb} and the units; kept $SYSCONFDIR/xlb and /var/lib/xlb"
  exit 0
fi

# ---- the build must be there ------------------------------------------------------------------
ADDON=bpf/libbpf-ts/build/Release/libbpf_ts.node
BPF_OBJECTS=()
# The programs xlbd and `xlb decap` load (bpf/lb, bpf/decap, bpf/health, bpf/probes); bpf/bench
# and bpf/testprogs are for benchmarks and tests only.
for c in "$SRC"/bpf/lb/*.c "$SRC"/bpf/decap/*.c "$SRC"/bpf/health/*.c "$SRC"/bpf/probes/*.c; do
  BPF_OBJECTS+=("build/bpf/$(basename "${c%.c}").o")
done
missing=()
for f in dist/lb/daemon/main.js dist/api/cli/main.js "$ADDON" "${BPF_OBJECTS[@]}" api/proto/xlb/v1/xlb.proto; do
  [ -e "$SRC/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: not built: ${missing[*]} is missing; run 'npm run build' (or scripts/bootstrap.sh) first" >&2
  exit 1
fi
if [ -n "$(find "$SRC/lb" "$SRC/api" "$SRC/bpf" "$SRC/recorder" -name '*.ts' -newer "$SRC/dist/.stamp" -print -quit 2>/dev/null)" ] ||
   [ ! -e "$SRC/dist/.stamp" ]; then
  say "warning: TypeScript sources are newer than dist/; run 'npm run build' to install the current code" >&2
fi
command -v node >/dev/null || { echo "install.sh: node is not on PATH" >&2; exit 1; }
# The units run this node by absolute path (never a PATH lookup at service start).
NODE=$(readlink -f "$(command -v node)")
case "$NODE" in /*) ;; *) echo "install.sh: cannot resolve the node binary ($NODE)" >&2; exit 1 ;; esac

# ---- the runtime tree, staged next to the final place ------------------------------------------
TARGET=$DESTDIR$LIBDIR
STAGE=$TARGET.new.$$
OLD=$TARGET.old.$$
trap 'rm -rf "$STAGE" "$OLD"' EXIT
rm -rf "$STAGE"
mkdir -p "$STAGE"

copy() { # copy SRC-relative paths into the stage, keeping their directories
  (cd "$SRC" && cp -R --parents "$@" "$STAGE/")
}
copy package.json api/proto "$ADDON" "${BPF_OBJECTS[@]}"
# Compiled code only for what runs in production (not dist/test, dist/benchmarks), and the links
# through which it finds package.json, the BPF objects, the proto and the addon (Makefile).
for d in lb api bpf recorder; do [ -d "$SRC/dist/$d" ] && copy "dist/$d"; done
copy dist/package.json dist/build
# Production dependencies only: npm lists their directories (nested ones come with their parent).
mkdir -p "$STAGE/node_modules"
prev=""
while IFS= read -r dir; do
  rel=${dir#"$SRC"/}
  case "$rel" in node_modules/*) ;; *) continue ;; esac
  if [ -n "$prev" ] && [[ "$rel" == "$prev"/* ]]; then continue; fi
  copy "$rel"
  prev=$rel
done < <(cd "$SRC" && npm ls --omit=dev --all --parseable 2>/dev/null | sort)
[ -d "$STAGE/node_modules/@grpc/grpc-js" ] || { echo "install.sh: 'npm ls --omit=dev' found no dependencies; run 'npm ci' first" >&2; exit 1; }
mkdir -p "$STAGE/doc"
cp "$SRC"/README.md "$STAGE/doc/"
[ -d "$SRC/docs" ] && cp "$SRC"/docs/*.md "$STAGE/doc/"

# Modes: directories 0755, files 0644, the two entry points (and native addons) 0755.
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f -exec chmod 0644 {} +
find "$STAGE" -type f -name '*.node' -exec chmod 0755 {} +
chmod 0755 "$STAGE/dist/lb/daemon/main.js" "$STAGE/dist/api/cli/main.js"

mkdir -p "$(dirname "$TARGET")"
if [ -e "$TARGET" ]; then mv "$TARGET" "$OLD"; fi
mv "$STAGE" "$TARGET"
rm -rf "$OLD"

# ---- commands, units, example config ------------------------------------------------------------
install -d -m 0755 "$DESTDIR$BINDIR"
ln -sfn "$LIBDIR/dist/lb/daemon/main.js" "$DESTDIR$BINDIR/xlbd"
ln -sfn "$LIBDIR/dist/api/cli/main.js" "$DESTDIR$BINDIR/xlb"

install -d -m 0755 "$DESTDIR$UNITDIR"
for u in "${UNITS[@]}"; do
  # The units name the default locations; point them at this prefix.
  sed -e "s#/usr/bin/node #$NODE #g" -e "s#/usr/local/bin/#$BINDIR/#g" -e "s#/usr/local/lib/xlb/#$LIBDIR/#g" -e "s#/etc/xlb/#$SYSCONFDIR/xlb/#g" \
    "$SRC/systemd/$u" >"$DESTDIR$UNITDIR/$u.tmp"
  chmod 0644 "$DESTDIR$UNITDIR/$u.tmp"
  mv "$DESTDIR$UNITDIR/$u.tmp" "$DESTDIR$UNITDIR/$u"
done

install -d -m 0755 "$DESTDIR$SYSCONFDIR/xlb"
# A random Maglev seed (uint32, never 0) in the example: a predictable seed lets clients aim flows
# at one backend. All load balancers of an ECMP group must share ONE seed: copy it from the first.
SEED=0
while [ "$SEED" = 0 ]; do SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); done
sed -e "s/^  seed: 0\$/  seed: $SEED/" "$SRC/systemd/xlb.yaml.example" >"$DESTDIR$SYSCONFDIR/xlb/xlb.yaml.example.tmp"
chmod 0644 "$DESTDIR$SYSCONFDIR/xlb/xlb.yaml.example.tmp"
mv "$DESTDIR$SYSCONFDIR/xlb/xlb.yaml.example.tmp" "$DESTDIR$SYSCONFDIR/xlb/xlb.yaml.example"
install -m 0644 "$SRC/systemd/decap.env.example" "$DESTDIR$SYSCONFDIR/xlb/decap.env.example"

maybe_reload
say "installed xlb $(node -p "require('$SRC/package.json').version") into ${DESTDIR}$LIBDIR"
if [ -z "$DESTDIR" ]; then
  cat <<NEXT
next steps:
  cp $SYSCONFDIR/xlb/xlb.yaml.example $SYSCONFDIR/xlb/xlb.yaml   # and edit: interfaces, gateway, services
                                                            # (maglev.seed: the same on every LB of an ECMP group)
  systemctl enable --now xlbd                               # the load balancer
  systemctl enable --now xlb-decap@eth0                     # on each backend: decapsulation on eth0
                                                            # (after writing $SYSCONFDIR/xlb/decap.env, see decap.env.example)
  systemctl enable --now xlb-gobgpd                         # with bgp: in xlb.yaml (needs the gobgpd package)
  xlb status
NEXT
fi

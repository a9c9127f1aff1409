#!/usr/bin/env bash
# test-fresh: `make test` as root in a bare Debian 12 (debootstrap minbase + only make, git), to
# catch dependencies an existing toolchain hides. Not CI. Tests the COMMITTED HEAD (git clone):
# uncommitted changes are NOT tested, except paths named with --overlay.
set -euo pipefail

usage() {
    cat <<EOF
usage: scripts/test-fresh.sh [--rebuild] [--repro] [--keep] [--no-deb-cache] [--overlay "PATH..."]
  --rebuild   debootstrap the cached bare root again (else reuse it: each run copies it)
  --repro     after make test passes, also run make repro in the same root
  --keep      keep the run's root (\$CACHE/run) afterwards, for a look inside
  --no-deb-cache  download every .deb again (default: keep downloaded .debs in
              \$CACHE/debs; they are still installed from scratch by make deps each run)
  --overlay   copy these working-tree paths (e.g. "Makefile scripts") over the clone:
              for testing uncommitted changes to them; printed loudly
environment:
  BBSIM_FRESH_MIRROR   Debian mirror (default: the one this machine's apt uses)
  BBSIM_FRESH_SECURITY security mirror, "" for none (default: this machine's, if any)
  BBSIM_FRESH_CACHE    cache folder (default: \${XDG_CACHE_HOME:-\$HOME/.cache}/bbsim-fresh)
  BBSIM_FRESH_SUITE    Debian suite (default: bookworm)
EOF
}

msg() { echo "test-fresh: $*"; }
die() { echo "test-fresh: $*" >&2; exit 1; }

REBUILD=0 REPRO=0 KEEP=0 DEBCACHE=1 OVERLAY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rebuild) REBUILD=1 ;;
        --repro)   REPRO=1 ;;
        --keep)    KEEP=1 ;;
        --no-deb-cache) DEBCACHE=0 ;;
        --overlay) [ $# -ge 2 ] || die "--overlay needs a list of paths"; OVERLAY="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount); run: sudo make test-fresh"

REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel) || die "$(dirname "$0")/.. is not a git repository"
SUITE=${BBSIM_FRESH_SUITE:-bookworm}
CACHE=${BBSIM_FRESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bbsim-fresh}

# The URI of the first enabled apt source (deb822 .sources or one-line .list) that serves
# suite $1 from Debian; empty if none.
apt_uri() {
    local suite=$1 f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v s="$suite" '
            function flush() { if (uri != "" && types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " s " ")) { print uri; found = 1; exit } }
            /^[[:space:]]*$/ { flush(); uri = types = suites = enabled = ""; next }
            /^#/ { next }
            tolower($1) == "types:"   { $1 = ""; types = $0 }
            tolower($1) == "uris:"    { uri = $2 }
            tolower($1) == "suites:"  { $1 = ""; suites = $0 }
            tolower($1) == "enabled:" { enabled = tolower($2) }
            END { if (!found) flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++; if ($(i+1) == s) { print $i; exit } }' "$f"
    done
}
MIRROR=${BBSIM_FRESH_MIRROR:-$(apt_uri "$SUITE" | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
if [ -z "${BBSIM_FRESH_SECURITY+set}" ]; then
    SECURITY=$(apt_uri "$SUITE-security" | head -n1)
else
    SECURITY=$BBSIM_FRESH_SECURITY
fi

# debootstrap on the host.
if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "debootstrap not found and no apt-get to install it"
    msg "installing debootstrap on the host"
    { DEBIAN_FRONTEND=noninteractive apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; } \
        || die "could not install debootstrap; run: sudo apt-get update && sudo apt-get install -y debootstrap"
fi
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || die "no $KEYRING; run: sudo apt-get update && sudo apt-get install -y debian-archive-keyring"

BARE=$CACHE/bare            # the cached bare root: minbase + make git, nothing else
STAMP=$CACHE/bare.stamp     # written only once BARE is complete
RUN=$CACHE/run              # this run's copy of BARE
LOG=$CACHE/last.log
WANT="suite=$SUITE mirror=$MIRROR security=$SECURITY"

MOUNTED=()                  # mount points to undo, in order of mounting
unmount_all() {
    local i ok=0
    for (( i = ${#MOUNTED[@]} - 1; i >= 0; i-- )); do
        umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" 2>/dev/null \
            || { echo "test-fresh: could not unmount ${MOUNTED[$i]}" >&2; ok=1; }
    done
    MOUNTED=()
    return $ok
}
cleanup() {
    # Never delete a root whose mounts could not be undone (it would reach the host's /dev).
    unmount_all || return 0
    if [ "$KEEP" = 0 ] && [ -d "$RUN" ]; then rm -rf --one-file-system "$RUN"; fi
    if [ -d "$CACHE/bare.tmp" ]; then rm -rf --one-file-system "$CACHE/bare.tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mount_in ROOT: /proc, /sys, /dev, /dev/pts of the host inside ROOT (undone by cleanup),
# and the host's resolv.conf.
mount_in() {
    local root=$1
    mount -t proc proc "$root/proc" || die "cannot mount /proc in $root"; MOUNTED+=("$root/proc")
    mount -t sysfs sysfs "$root/sys" || die "cannot mount /sys in $root"; MOUNTED+=("$root/sys")
    mount --bind /dev "$root/dev" || die "cannot bind /dev in $root"; MOUNTED+=("$root/dev")
    mount --bind /dev/pts "$root/dev/pts" || die "cannot bind /dev/pts in $root"; MOUNTED+=("$root/dev/pts")
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

# in_root ROOT CMD...: CMD as root inside ROOT with a clean environment (like a container).
in_root() {
    local root=$1; shift
    chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

fmt() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }
T_DEBOOTSTRAP="" T_BARE=""

# ------------------------------------------------------------------ the bare root
mkdir -p "$CACHE"
if [ "$REBUILD" = 1 ] || [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    msg "building the bare root in $BARE ($SUITE from $MIRROR)"
    rm -rf --one-file-system "$BARE" "$STAMP" "$CACHE/bare.tmp"
    t0=$(date +%s)
    debootstrap --variant=minbase --keyring="$KEYRING" "$SUITE" "$CACHE/bare.tmp" "$MIRROR" \
        || die "debootstrap failed (log: $CACHE/bare.tmp/debootstrap/debootstrap.log)"
    T_DEBOOTSTRAP=$(( $(date +%s) - t0 ))
    msg "debootstrap: $(fmt "$T_DEBOOTSTRAP")"
    # The apt sources of the official debian:$SUITE image: the suite, its updates, security.
    {
        echo "deb $MIRROR $SUITE main"
        echo "deb $MIRROR $SUITE-updates main"
        [ -z "$SECURITY" ] || echo "deb $SECURITY $SUITE-security main"
    } > "$CACHE/bare.tmp/etc/apt/sources.list"
    t0=$(date +%s)
    mount_in "$CACHE/bare.tmp"
    in_root "$CACHE/bare.tmp" sh -c 'export DEBIAN_FRONTEND=noninteractive;
        apt-get -q update && apt-get install -y -q --no-install-recommends make git && apt-get clean' \
        || die "apt-get install make git failed in the bare root"
    unmount_all || die "could not unmount the bare root's /proc, /sys, /dev"
    # Like a fresh container image: no package lists, so `make deps` must run apt-get update.
    rm -rf "$CACHE/bare.tmp/var/lib/apt/lists/"* "$CACHE/bare.tmp/etc/resolv.conf"
    mv "$CACHE/bare.tmp" "$BARE"
    echo "$WANT" > "$STAMP"
    T_BARE=$(( $(date +%s) - t0 ))
    msg "bare root (make git installed) cached: $(fmt "$T_BARE")"
else
    msg "reusing the bare root $BARE (built $(date -r "$STAMP" '+%F %T'); --rebuild to redo)"
fi

# ------------------------------------------------------------------ this run's root
t0=$(date +%s)
rm -rf --one-file-system "$RUN"
cp -a "$BARE" "$RUN"
T_COPY=$(( $(date +%s) - t0 ))

HEAD=$(git -C "$REPO" rev-parse HEAD)
dirty=$(GIT_OPTIONAL_LOCKS=0 git -C "$REPO" status --porcelain --untracked-files=no | wc -l)
msg "testing the committed HEAD $(git -C "$REPO" log -1 --format='%h %s' | cut -c1-80)"
[ "$dirty" = 0 ] || msg "note: $dirty file(s) with uncommitted changes in $REPO are NOT tested"
git clone -q --no-hardlinks "$REPO" "$RUN/root/bbsim"
git -C "$RUN/root/bbsim" checkout -q --detach "$HEAD"
if [ -n "$OVERLAY" ]; then
    for p in $OVERLAY; do
        [ -e "$REPO/$p" ] || die "--overlay: no $REPO/$p"
        rm -rf "${RUN:?}/root/bbsim/$p"
        mkdir -p "$(dirname "$RUN/root/bbsim/$p")"
        cp -a "$REPO/$p" "$RUN/root/bbsim/$p"
    done
    msg "WARNING: overlaid uncommitted working-tree paths on HEAD: $OVERLAY"
fi
mount_in "$RUN"
if [ "$DEBCACHE" = 1 ]; then
    # Only the download is cached: dpkg still installs every package from scratch.
    mkdir -p "$CACHE/debs/partial"
    mount --bind "$CACHE/debs" "$RUN/var/cache/apt/archives" || die "cannot bind $CACHE/debs"
    MOUNTED+=("$RUN/var/cache/apt/archives")
fi

# ------------------------------------------------------------------ make test
msg "make test in the bare root (log: $LOG)"
t0=$(date +%s)
set +e
in_root "$RUN" sh -c 'cd /root/bbsim && make test' 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
T_TEST=$(( $(date +%s) - t0 ))
T_DEPS=$(sed -n 's/^deps: installed (.*) in \([0-9]*\) s; checking again$/\1/p' "$LOG" | head -n1)
[ -n "$T_DEPS" ] && T_BUILD=$(( T_TEST - T_DEPS )) || T_BUILD=""

report() {
    msg "times: ${T_DEBOOTSTRAP:+debootstrap $(fmt "$T_DEBOOTSTRAP"), }${T_BARE:+make+git install $(fmt "$T_BARE"), }copy of the bare root $(fmt "$T_COPY"), make test $(fmt "$T_TEST")${T_DEPS:+ (make deps install $(fmt "$T_DEPS"), build+test $(fmt "$T_BUILD"))}${T_REPRO:+, make repro $(fmt "$T_REPRO")}"
}
T_REPRO=""
if [ "$rc" -ne 0 ]; then
    report
    [ "$KEEP" = 0 ] || msg "root kept: $RUN"
    die "FAIL: make test exited $rc in the bare root (HEAD ${HEAD:0:7}); log: $LOG"
fi
msg "PASS: make test in the bare root (HEAD ${HEAD:0:7})"

if [ "$REPRO" = 1 ]; then
    msg "make repro in the bare root (log: $CACHE/last-repro.log)"
    t0=$(date +%s)
    set +e
    in_root "$RUN" sh -c 'cd /root/bbsim && make repro' 2>&1 | tee "$CACHE/last-repro.log"
    rc=${PIPESTATUS[0]}
    set -e
    T_REPRO=$(( $(date +%s) - t0 ))
    if [ "$rc" -ne 0 ]; then report; die "FAIL: make repro exited $rc in the bare root; log: $CACHE/last-repro.log"; fi
    msg "PASS: make repro in the bare root: $(find "$RUN/root/bbsim/out" -name '*.pdf' 2>/dev/null | wc -l) PDFs in out/"
fi
report
[ "$KEEP" = 0 ] || msg "root kept: $RUN (chroot $RUN; mounts undone)"

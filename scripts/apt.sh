# Sourced by the dependency checks (scripts/deps.sh, scripts/deps-cluster.sh, fuzz/deps.sh).
# apt_install TAG WHAT PKG...: as root with apt-get, `apt-get update` then install PKG...
# (without recommends); otherwise print the exact command to run (or, without apt-get,
# WHAT to install instead) and return 1. Messages start with "TAG: "; the caller checks
# again after it returns 0.
apt_install() {
    local tag=$1 what=$2
    shift 2
    local install="apt-get install -y --no-install-recommends $*"
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1; then
            echo "$tag: run: sudo apt-get update && sudo $install" >&2
        else
            echo "$tag: no apt-get here; install $what" >&2
        fi
        return 1
    fi
    echo "$tag: installing: $*"
    local start
    start=$(date +%s)
    if ! { DEBIAN_FRONTEND=noninteractive apt-get -q update &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }; then
        echo "$tag: apt-get failed; run: apt-get update && $install" >&2
        return 1
    fi
    echo "$tag: installed ($# packages asked for) in $(( $(date +%s) - start )) s; checking again"
}

#!/usr/bin/env bash
# deps-cluster: what make repro-slurm, make repro-parallel and make test-cluster need
# beyond make deps (docs/cluster.md): Slurm's client commands, its two daemons and MUNGE
# (the one-node Slurm of tests/cluster.sh), and GNU parallel. As root with apt-get it
# installs what is missing (Debian's postinst may try to start the daemons; policy-rc.d
# in a container stops that, and the test starts its own on other ports either way),
# otherwise it prints the exact apt-get line. Run by make deps-cluster.
set -euo pipefail

# command|Debian package
CHECKS=(
    "sbatch|slurm-client" "squeue|slurm-client" "scontrol|slurm-client" "scancel|slurm-client" "sinfo|slurm-client"
    "slurmctld|slurmctld" "slurmd|slurmd" "munged|munge" "munge|munge" "parallel|parallel"
)
missing() {
    PKGS=()
    local entry cmd pkg
    for entry in "${CHECKS[@]}"; do
        IFS='|' read -r cmd pkg <<< "$entry"
        command -v "$cmd" >/dev/null 2>&1 && continue
        echo "deps-cluster: missing: $cmd (Debian: $pkg)" >&2
        [[ " ${PKGS[*]-} " == *" $pkg "* ]] || PKGS+=("$pkg")
    done
}

missing
if [ ${#PKGS[@]} -eq 0 ]; then
    echo "deps-cluster: $(slurmd -V), munge $(munged --version 2>&1 | sed -n '1s/^munge-\([^ ]*\).*/\1/p'), $(parallel --version | head -1): all present"
    exit 0
fi
# slurm-wlm is Debian's metapackage of slurmctld, slurmd and slurm-client
. "$(dirname "$0")/apt.sh"
apt_install deps-cluster "Slurm (slurmctld, slurmd, client commands), MUNGE and GNU parallel" \
    slurm-wlm munge parallel || exit 1
missing
[ ${#PKGS[@]} -eq 0 ] || { echo "deps-cluster: still missing after installing: ${PKGS[*]}" >&2; exit 1; }
echo "deps-cluster: installed"

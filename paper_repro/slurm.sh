#!/usr/bin/env bash
# make repro-slurm (docs/cluster.md): submits a run list to Slurm. Its jobs become one
# array (task i runs job i through job.sh, each with the list's largest cpus and mem_mb);
# --requeue, so a task that is preempted or loses its node starts again and its run
# resumes from its last checkpoint. The collect job waits for every task to succeed
# (afterok) and runs make repro's own targets: figures, claims.tsv, report.pdf. Output of
# every job: slurm-JOBID_TASK.out beside the run list, appended across restarts.
#   usage: slurm.sh RUNLIST
# Environment: SLURM_FLAGS, more sbatch flags for both submissions (e.g. "--partition=cpu
# --account=proj --time=1-00:00:00"); SLURM_ARRAY_LIMIT, at most this many tasks at once;
# sbatch's own SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, ... as usual.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: slurm.sh RUNLIST" >&2; exit 2; }
list=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
command -v sbatch >/dev/null || { echo "slurm.sh: no sbatch here (a Slurm login node has it; make deps-cluster installs Slurm)" >&2; exit 1; }
logs=$(dirname "$list")
n=$(awk -F'\t' '!/^#/ && $2 == "-"' "$list" | wc -l)
[ "$n" -ge 1 ] || { echo "slurm.sh: $list lists no job" >&2; exit 1; }
# one request for every task of the array: the largest of the list
cpus=$(awk -F'\t' '!/^#/ && $2 == "-" && $3 > m { m = $3 } END { print m }' "$list")
mem=$(awk -F'\t' '!/^#/ && $2 == "-" && $4 > m { m = $4 } END { print m }' "$list")
read -r collect_cpus collect_mem < <(awk -F'\t' '!/^#/ && $1 == "collect" { print $3, $4 }' "$list")
[ -n "${collect_cpus:-}" ] || { echo "slurm.sh: $list has no collect line" >&2; exit 1; }
read -ra extra <<< "${SLURM_FLAGS:-}"
common=(--parsable --requeue --open-mode=append --chdir="$logs" "${extra[@]}")

array=$(sbatch "${common[@]}" --job-name=bbsim-runs --array="0-$((n - 1))${SLURM_ARRAY_LIMIT:+%$SLURM_ARRAY_LIMIT}" \
    --cpus-per-task="$cpus" --mem="${mem}M" --output="$logs/slurm-%A_%a.out" "$here/job.sh" "$list")
array=${array%%;*}
collect=$(sbatch "${common[@]}" --job-name=bbsim-collect --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --cpus-per-task="$collect_cpus" --mem="${collect_mem}M" --output="$logs/slurm-%j.out" "$here/job.sh" "$list" collect)
collect=${collect%%;*}
echo "slurm.sh: array $array ($n tasks, $cpus cpus and $mem MB each), collect $collect (after every task succeeds)"
echo "slurm.sh: watch with: squeue -j $array,$collect; output: $logs/slurm-${array}_*.out, $logs/slurm-$collect.out"

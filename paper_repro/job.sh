#!/usr/bin/env bash
# One job of a run list (make -C paper_repro runlist; docs/cluster.md): runs the command
# of the line whose id is ID or, in a Slurm array task (no ID), the SLURM_ARRAY_TASK_ID-th
# line with no needs (counting from 0). slurm.sh submits it as the array and the collect
# job, parallel.sh runs it for each id. A job that runs again (Slurm --requeue, parallel
# --resume-failed) repeats the same make: what is done is skipped, an interrupted
# training resumes from its last checkpoint.
#   usage: job.sh RUNLIST [ID]
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: job.sh RUNLIST [ID]" >&2; exit 2; }
list=$1 id=${2:-}
[ -r "$list" ] || { echo "job.sh: cannot read the run list $list" >&2; exit 2; }
if [ -n "$id" ]; then
    line=$(awk -F'\t' -v id="$id" '!/^#/ && $1 == id' "$list")
    what="no job '$id'"
elif [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    line=$(awk -F'\t' -v i="$SLURM_ARRAY_TASK_ID" '!/^#/ && $2 == "-" && n++ == i' "$list")
    what="no job number $SLURM_ARRAY_TASK_ID"
else
    echo "job.sh: give a job id (no SLURM_ARRAY_TASK_ID either)" >&2
    exit 2
fi
[ -n "$line" ] || { echo "job.sh: $list has $what" >&2; exit 2; }
IFS=$'\t' read -r id needs cpus mem_mb cmd <<< "$line"
# started from a make (make repro-parallel), the job must not take over its jobserver
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
slurm=""
if [ -n "${SLURM_JOB_ID:-}" ]; then
    slurm=", Slurm job ${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}"
    slurm+=", restart ${SLURM_RESTART_COUNT:-0}, ${SLURM_CPUS_PER_TASK:-?} cpus"
fi
echo "job.sh: $id on $(hostname -s)$slurm, $(date '+%F %T')"
exec bash -c "$cmd"

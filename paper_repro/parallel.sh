#!/usr/bin/env bash
# make repro-parallel (docs/cluster.md): runs a run list with GNU parallel, every job
# through job.sh with a joblog, then, when all succeeded, the collect job (make repro's
# own targets). Run it again after a failure or a kill: --resume-failed starts only the
# jobs that failed or never ran, and an interrupted training resumes from its last
# checkpoint.
#   usage: parallel.sh RUNLIST
# Environment: PARALLEL_JOBS (jobs at a time on each host; default: its cores over the
# list's largest cpus, at least 1), SSHLOGINFILE (GNU parallel --sshloginfile: run on
# these hosts, which must see this repository, bbsim and OUT at the same paths),
# JOBLOG (default: parallel.joblog beside the run list).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: parallel.sh RUNLIST" >&2; exit 2; }
list=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
command -v parallel >/dev/null || { echo "parallel.sh: GNU parallel is missing (make deps-cluster installs it)" >&2; exit 1; }
joblog=${JOBLOG:-$(dirname "$list")/parallel.joblog}
mapfile -t ids < <(awk -F'\t' '!/^#/ && $2 == "-" { print $1 }' "$list")
[ ${#ids[@]} -ge 1 ] || { echo "parallel.sh: $list lists no job" >&2; exit 1; }
cpus=$(awk -F'\t' '!/^#/ && $2 == "-" && $3 > m { m = $3 } END { print m }' "$list")
# N% = N% of each host's cores (parallel rounds up to 1 job)
jobs=${PARALLEL_JOBS:-$((100 / cpus))%}
# the joblog belongs to one run list: a changed list (PROFILE, RELATED, flags, a rebuilt
# bbsim or an edited fragment: its "# inputs" line) starts a fresh one, the old kept as
# .old (a job already done costs only a make that finds it done)
if [ -e "$joblog" ] && ! cmp -s "$list" "$joblog.runlist"; then
    mv -f "$joblog" "$joblog.old"
fi
cp -f "$list" "$joblog.runlist"
hosts=()
[ -z "${SSHLOGINFILE:-}" ] || hosts=(--sshloginfile "$SSHLOGINFILE")
echo "parallel.sh: ${#ids[@]} jobs, -j $jobs, joblog $joblog"
rc=0
parallel --joblog "$joblog" --resume-failed --halt never --line-buffer -j "$jobs" "${hosts[@]}" \
    "$here/job.sh" "$list" {} ::: "${ids[@]}" || rc=$?
if [ $rc -ne 0 ]; then
    echo "parallel.sh: $rc job(s) failed (exit status in $joblog); run the same command again to retry them" >&2
    exit 1
fi
"$here/job.sh" "$list" collect

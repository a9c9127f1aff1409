#!/usr/bin/env bash
# make repro-slurm and make repro-parallel on a real Slurm and GNU parallel (docs/cluster.md),
# against a local make repro, all at PROFILE=smoke. As root it starts MUNGE with a fresh key
# and a one-node Slurm (slurmctld and slurmd on free ports, every file in a temporary folder),
# submits the run list with paper_repro/slurm.sh, requeues one array task in the middle of
# its training, and checks that everything equals the local run: claims.tsv and every other
# TSV without their # provenance lines, every checkpoint byte for byte, the report's pages.
# Then GNU parallel (paper_repro/parallel.sh, this host only): the same list with one
# training SIGKILLed mid-way, then --resume-failed, and the same comparison. The interrupted
# run is noBOS, made long enough to interrupt (TRAIN_FLAGS_noBOS below, in the local run
# too). An interrupt saves its state into ckpt/resume.bbck only, so the interrupted run ends
# with exactly the local run's files.
# Every daemon it started is stopped by pid on exit. Exit 77 (skipped): not root, or a tool
# is missing (make deps-cluster installs them).
#   usage: cluster.sh SOURCE_DIR BBSIM_BINARY       (make test-cluster; CTest label cluster)
set -euo pipefail
src=$(realpath "$1") bbsim=$(realpath "$2")
skip() { echo "cluster: skipped: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (slurmd starts the jobs, SlurmUser=root)"
for c in munged munge slurmctld slurmd sbatch squeue scontrol scancel sinfo parallel gnuplot shuf; do
    command -v "$c" >/dev/null || skip "$c is missing (make deps-cluster)"
done
# nothing of the caller's Slurm or make may leak in (partition, account, jobserver)
unset $(compgen -e | grep -E '^(SBATCH_|SLURM_|SALLOC_|SRUN_)') MAKEFLAGS MFLAGS MAKELEVEL SLURM_ARRAY_LIMIT \
    PARALLEL_JOBS SSHLOGINFILE JOBLOG 2>/dev/null || true
t_start=$SECONDS
host=$(hostname -s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-cluster.XXXXXX")
chmod 755 "$tmp" # munged: every directory above its socket must be searchable by all
pidfiles=()      # of the daemons, in start order
jobs_submitted=()
bg=""            # process group of a background parallel.sh
watchdog=""
bad=0
say() { echo "cluster: $*"; }
fail() { echo "cluster: FAIL: $*" >&2; bad=$((bad + 1)); }

cleanup() {
    local rc=$? i pid n
    trap - EXIT
    [ -z "$watchdog" ] || kill -KILL "$watchdog" 2>/dev/null || true
    [ -z "$bg" ] || kill -TERM -- "-$bg" 2>/dev/null || true
    if [ ${#jobs_submitted[@]} -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
        scancel "${jobs_submitted[@]}" 2>/dev/null || true
        for n in $(seq 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
    fi
    for ((i = ${#pidfiles[@]} - 1; i >= 0; i--)); do # slurmd, slurmctld, munged
        pid=$(cat "${pidfiles[i]}" 2>/dev/null) || continue
        kill -TERM "$pid" 2>/dev/null || continue
        for n in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && { echo "cluster: pid $pid (${pidfiles[i]}) ignored TERM: KILL" >&2; kill -KILL "$pid"; }
    done
    if [ "${BBSIM_CLUSTER_KEEP:-0}" = 1 ]; then echo "cluster: kept $tmp" >&2; else rm -rf "$tmp"; fi
    exit $rc
}
trap cleanup EXIT

# a TCP port nobody listens on
free_port() {
    local p
    for p in $(shuf -i 20000-40000 -n 100); do
        [ "$p" != "${1:-}" ] || continue
        (exec 3<> "/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    echo "cluster: no free port" >&2; return 1
}
# wait_for SECONDS WHAT COMMAND...: until the command succeeds
wait_for() {
    local limit=$1 what=$2 end=$((SECONDS + $1)); shift 2
    until "$@"; do
        [ $SECONDS -lt $end ] || { echo "cluster: no $what after $limit s" >&2; return 1; }
        sleep 0.1
    done
}
ckpts() { compgen -G "$1/ckpt/step_*.bbck" | wc -l; }
has_ckpts() { [ "$(ckpts "$1")" -ge "$2" ]; }
# wait_mid_run RUN_DIR: until the training has written KILL_AT checkpoints, and not finished
wait_mid_run() {
    wait_for 120 "$KILL_AT checkpoints in $1" has_ckpts "$1" "$KILL_AT" || return 1
    [ ! -e "$1/trained" ] || { echo "cluster: $1 finished before it could be interrupted: make LONG_FLAGS longer" >&2; return 1; }
}

# ---------------------------------------------------------------- the local reference
# the run to interrupt, made ~50x longer than smoke's (4000 steps of d 32, a few seconds)
LONG_RUN=noBOS
LONG_FLAGS="--dim 32 --seq 32 --batch 16 --steps 4000 --ckpt-growth 1.3"
KILL_AT=9 # interrupt once this many checkpoints are written (step 300 of 4000)
pr() { make -C "$src/paper_repro" --no-print-directory PROFILE=smoke BBSIM="$bbsim" "TRAIN_FLAGS_$LONG_RUN=$LONG_FLAGS" "$@"; }
say "local make repro (smoke) into $tmp/ref"
pr -j2 OUT="$tmp/ref" > "$tmp/ref.log" 2>&1 || { tail -30 "$tmp/ref.log" >&2; echo "cluster: local make repro failed" >&2; exit 1; }
say "local: $(tail -1 "$tmp/ref.log")"

# compare OUT: OUT's outputs equal the reference's, file for file (the interrupted run
# too: its interrupt went into resume.bbck, no step file). Prints what it compared.
compare() {
    local got=$1 f rel n_ck=0 n_tsv=0 n_pdf=0
    local -a only_ref only_got
    mapfile -t only_ref < <(comm -23 <(cd "$tmp/ref" && find . -type f ! -name '*.log' | sort) \
                                     <(cd "$got" && find . -type f ! -name '*.log' ! -path './cluster/*' | sort))
    mapfile -t only_got < <(comm -13 <(cd "$tmp/ref" && find . -type f ! -name '*.log' | sort) \
                                     <(cd "$got" && find . -type f ! -name '*.log' ! -path './cluster/*' | sort))
    [ ${#only_ref[@]} -eq 0 ] || fail "$got lacks ${only_ref[*]}"
    for f in "${only_got[@]}"; do fail "$got has an extra $f"; done
    while IFS= read -r rel; do
        f=$got/$rel
        case $rel in
            *.bbck) n_ck=$((n_ck + 1)); cmp -s "$tmp/ref/$rel" "$f" || fail "$rel differs" ;;
            */metrics.tsv) # without the provenance and the timing column
                n_tsv=$((n_tsv + 1))
                cmp -s <(grep -v '^#' "$tmp/ref/$rel" | cut -f1-6,8-) <(grep -v '^#' "$f" | cut -f1-6,8-) || fail "$rel differs" ;;
            */config.txt) # without the provenance, the run's folder and the folder it was resumed from
                cmp -s <(grep -v '^#\|^out \|^resume ' "$tmp/ref/$rel") <(grep -v '^#\|^out \|^resume ' "$f") || fail "$rel differs" ;;
            ./plan.tsv) # make repro's plan: the same runs and FLOPs (not where, nor what was left to train)
                n_tsv=$((n_tsv + 1))
                cmp -s <(grep -v '^#' "$tmp/ref/$rel" | cut -f1,3,4) <(grep -v '^#' "$f" | cut -f1,3,4) || fail "$rel differs" ;;
            *.seeds.tsv) # the figures' lists of replicates: paths under OUT
                n_tsv=$((n_tsv + 1))
                cmp -s <(grep -v '^#' "$tmp/ref/$rel") <(grep -v '^#' "$f" | sed "s|$got|$tmp/ref|g") || fail "$rel differs" ;;
            *.tsv | *.summary | *.txt | *.flags)
                n_tsv=$((n_tsv + 1)); cmp -s <(grep -v '^#' "$tmp/ref/$rel") <(grep -v '^#' "$f") || fail "$rel differs" ;;
            *.page | */report.gp) cmp -s "$tmp/ref/$rel" <(sed "s|$got|$tmp/ref|g" "$f") || fail "$rel differs" ;;
            *.pdf) # cairo stamps a date: the same number of pages is what is left to compare
                n_pdf=$((n_pdf + 1))
                [ "$(grep -ao '/Count [0-9]*' "$tmp/ref/$rel")" = "$(grep -ao '/Count [0-9]*' "$f")" ] || fail "$rel: not the same pages" ;;
        esac
    done < <(cd "$tmp/ref" && find . -type f ! -name '*.log' | sort)
    if cmp -s <(grep -v '^#' "$tmp/ref/claims.tsv") <(grep -v '^#' "$got/claims.tsv"); then
        say "  claims.tsv identical to the local run's ($(grep -c '^C' "$got/claims.tsv") rows; # lines aside)"
    else
        fail "claims.tsv differs from the local run's"
    fi
    say "  compared $n_ck checkpoints byte for byte, $n_tsv TSV/text files, $n_pdf PDFs (pages); extra files: ${#only_got[@]}"
}

# the run list of OUT, as make runlist writes it (into OUT/cluster/runlist.tsv)
runlist() { mkdir -p "$1/cluster" && pr -s OUT="$1" runlist > "$1/cluster/runlist.tsv"; }
# evidence that the interrupted run resumed: step 0 is the same file as before the
# interrupt (a fresh start removes the run). TERM: the log holds bbsim's interrupt message,
# and between two scheduled steps it names ckpt/resume.bbck (no step file of its own: compare
# found none); KILL: no message (the run went on from its last scheduled one).
resumed_check() {
    local run=$1 before=$2 signal=$3 log step
    if [ "$(stat -c %i:%Y "$run/ckpt/step_000000000.bbck")" = "$before" ]; then
        say "  step 0 checkpoint untouched by the second attempt (inode:mtime $before)"
    else
        fail "$run restarted from scratch (step 0 rewritten)"
    fi
    log=$(grep -h 'interrupted at step' "$run/train.log" || true)
    if [ "$signal" = KILL ]; then
        [ -z "$log" ] && say "  no interrupt message (SIGKILL): resumed from the last scheduled checkpoint" \
            || fail "a SIGKILLed run left an interrupt message: $log"
        return
    fi
    [ -n "$log" ] && say "  train.log: ${log#*bbsim train: }" || fail "$run/train.log has no interrupt message"
    step=${log#*interrupted at step }; step=${step%%;*}
    if [[ $log == *"checkpoint saved to $run/ckpt/resume.bbck;"* ]] ||
       [[ $log == *"checkpoint saved to $run/ckpt/$(printf 'step_%09d.bbck' "$step");"* ]]; then
        local saved=${log#*checkpoint saved to $run/}
        say "  the interrupt's state (step $step) went to ${saved%%;*}; no step file was added"
    else
        fail "the interrupt at step $step saved somewhere else: $log"
    fi
}

# ---------------------------------------------------------------- MUNGE and Slurm
# the key private to root, the socket's folder searchable by all (munged checks both)
mkdir -p "$tmp/munge" "$tmp/sock" "$tmp/state" "$tmp/spool" "$tmp/log"
chmod 700 "$tmp/munge" && chmod 755 "$tmp/sock"
head -c 1024 /dev/urandom > "$tmp/munge/munge.key" && chmod 400 "$tmp/munge/munge.key"
sock=$tmp/sock/munge.socket
pidfiles+=("$tmp/munge/munged.pid")
munged --socket="$sock" --key-file="$tmp/munge/munge.key" --log-file="$tmp/log/munged.log" \
    --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed"
munge -n -S "$sock" | unmunge -S "$sock" > /dev/null || { cat "$tmp/log/munged.log" >&2; exit 1; }
ctld_port=$(free_port) && slurmd_port=$(free_port "$ctld_port")
export SLURM_CONF=$tmp/slurm.conf
cat > "$SLURM_CONF" <<EOF
# one-node Slurm of tests/cluster.sh: no cgroups, no accounting, everything under $tmp
ClusterName=bbsimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again after 10 s (default 120)
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1024 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
pidfiles+=("$tmp/slurmctld.pid")
slurmctld -f "$SLURM_CONF"
pidfiles+=("$tmp/slurmd.pid")
slurmd -f "$SLURM_CONF" -N "$host"
node_idle() { sinfo -h -o %t 2>/dev/null | grep -qx idle; }
wait_for 60 "idle Slurm node" node_idle || { tail -20 "$tmp"/log/slurm*.log >&2; exit 1; }
# a watchdog: should this script die without its EXIT trap (SIGKILL, a CTest timeout), it
# stops the daemons all the same (it ignores the signals that may end the script)
daemon_pids=$(cat "${pidfiles[@]}" | paste -sd' ')
( trap '' INT TERM HUP; while kill -0 $$ 2>/dev/null; do sleep 2; done; kill -TERM $daemon_pids 2>/dev/null ) \
    < /dev/null > /dev/null 2>&1 &
watchdog=$!
disown "$watchdog" # (no "Killed" notice when the cleanup ends it)
say "Slurm up: $(sinfo -h -o '%P %D node(s) %c cpus %m MB %t'), slurmctld :$ctld_port, slurmd :$slurmd_port ($(slurmd -V))"

# ---------------------------------------------------------------- --threads 0 in a job
# one core of the node's $(nproc): bbsim must take SLURM_CPUS_PER_TASK, not OpenMP's all
# cores (submitted first, checked with the array)
threads_job=$(env -u OMP_NUM_THREADS sbatch --parsable --cpus-per-task=1 --mem=100M --output="$tmp/threads.out" \
    --wrap "$bbsim train --layers 1 --dim 16 --seq 8 --batch 4 --steps 2 --eval-batch 8 --quiet --threads 0 --out $tmp/threads_run")
jobs_submitted+=("$threads_job")

# ---------------------------------------------------------------- make repro-slurm
out=$tmp/slurm
runlist "$out"
list=$out/cluster/runlist.tsv
idx=$(awk -F'\t' -v id="$LONG_RUN" '!/^#/ && $2 == "-" { if ($1 == id) print n; n++ }' "$list")
say "run list: $(grep -vc '^#' "$list") lines; $LONG_RUN is array task $idx"
bash "$src/paper_repro/slurm.sh" "$list" | tee "$tmp/submit.log"
array=$(sed -n 's/^slurm.sh: array \([0-9]*\) .*/\1/p' "$tmp/submit.log")
collect=$(sed -n 's/.* collect \([0-9]*\) .*/\1/p' "$tmp/submit.log")
[ -n "$array" ] && [ -n "$collect" ] || { echo "cluster: slurm.sh printed no job ids" >&2; exit 1; }
jobs_submitted+=("$array" "$collect")
wait_mid_run "$out/runs/$LONG_RUN" || { squeue >&2; exit 1; }
step0=$(stat -c %i:%Y "$out/runs/$LONG_RUN/ckpt/step_000000000.bbck")
scontrol requeue "${array}_$idx"
say "requeued task ${array}_$idx with $(ckpts "$out/runs/$LONG_RUN") checkpoints written"
left_queue() { [ -z "$(squeue -h -j "$threads_job,$array,$collect" 2>/dev/null)" ]; }
wait_for 600 "end of the Slurm jobs" left_queue || { squeue >&2; exit 1; }
states=$(scontrol show job "$array" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s ' ' | paste -sd, -)
say "array: $states; collect: $(scontrol show job "$collect" | grep -o 'JobState=[A-Z_]*')"
scontrol show job "$collect" | grep -q 'JobState=COMPLETED' || { tail -30 "$out/cluster/slurm-$collect.out" >&2; fail "collect job failed"; }
[ "$(scontrol show job "$array" | grep -c 'JobState=COMPLETED')" -eq "$(awk -F'\t' '!/^#/ && $2 == "-"' "$list" | wc -l)" ] \
    || fail "not every array task completed"
if grep -qx '# threads 1' "$tmp/threads_run/metrics.tsv" 2>/dev/null; then
    say "--threads 0 in a 1-cpu job on a $(nproc)-core node: # threads 1 (SLURM_CPUS_PER_TASK)"
else
    cat "$tmp/threads.out" >&2
    fail "--threads 0 in a 1-cpu job: $(grep '^# threads' "$tmp/threads_run/metrics.tsv" 2>/dev/null || echo 'no metrics.tsv')"
fi
task_out=$out/cluster/slurm-${array}_$idx.out
say "task ${array}_$idx: $(scontrol show job "${array}_$idx" | grep -o 'Restarts=[0-9]*'); its output:"
grep -E '^job\.sh:|resuming|interrupted|train .* (done|failed)' "$task_out" | sed 's/^/    /'
grep -q "restart 1" "$task_out" && grep -q "train $LONG_RUN (resuming)" "$task_out" \
    || fail "task ${array}_$idx did not start again and resume"
compare "$out"
resumed_check "$out/runs/$LONG_RUN" "$step0" TERM
say "make repro-slurm: $([ $bad = 0 ] && echo ok || echo FAILED) after $((SECONDS - t_start)) s"
bad_slurm=$bad

# ---------------------------------------------------------------- make repro-parallel
out=$tmp/parallel
runlist "$out"
list=$out/cluster/runlist.tsv
setsid bash "$src/paper_repro/parallel.sh" "$list" > "$tmp/parallel1.log" 2>&1 &
bg=$!
wait_mid_run "$out/runs/$LONG_RUN" || exit 1
step0=$(stat -c %i:%Y "$out/runs/$LONG_RUN/ckpt/step_000000000.bbck")
# the bbsim process training it (argv[0] is the binary; the recipe's shell names it too)
pid=""
for d in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
    [[ $cmd == "$bbsim train "*"--out $out/runs/$LONG_RUN "* ]] && { pid=${d#/proc/}; break; }
done
[ -n "$pid" ] || { echo "cluster: no bbsim process training $out/runs/$LONG_RUN" >&2; exit 1; }
# SIGKILL here (the Slurm part tested TERM): no chance to save, as with the OOM killer
kill -KILL "$pid"
say "parallel: sent KILL to bbsim (pid $pid) training $LONG_RUN at $(ckpts "$out/runs/$LONG_RUN") checkpoints"
rc=0; wait "$bg" || rc=$?; bg=""
say "parallel, first pass: exit $rc: $(tail -1 "$tmp/parallel1.log")"
[ $rc -ne 0 ] || fail "parallel.sh succeeded although a job was killed"
joblog=$out/cluster/parallel.joblog
# the job id: the last word of the joblog's command column
failed=$(awk -F'\t' 'NR > 1 && $7 != 0 { n = split($NF, w, " "); print w[n] }' "$joblog")
say "  joblog: $(($(wc -l < "$joblog") - 1)) jobs, failed: ${failed:-none}"
[ "$failed" = "$LONG_RUN" ] || fail "the joblog's failed jobs are not just $LONG_RUN"
rc=0; bash "$src/paper_repro/parallel.sh" "$list" > "$tmp/parallel2.log" 2>&1 || rc=$?
[ $rc -eq 0 ] || { tail -30 "$tmp/parallel2.log" >&2; fail "parallel.sh --resume-failed: exit $rc"; }
rerun=$(awk -F'\t' 'NR > 1 { n = split($NF, w, " "); print w[n] }' "$joblog" | sort | uniq -d)
say "parallel, second pass (--resume-failed): exit $rc; jobs run again: ${rerun:-none}"
[ "$rerun" = "$LONG_RUN" ] || fail "the second pass ran more or less than $LONG_RUN"
grep -E "train $LONG_RUN \(resuming\)|train $LONG_RUN done" "$tmp/parallel2.log" | sed 's/^/    /'
compare "$out"
resumed_check "$out/runs/$LONG_RUN" "$step0" KILL
say "make repro-parallel: $([ $bad = "$bad_slurm" ] && echo ok || echo FAILED)"

say "$([ $bad = 0 ] && echo PASS || echo FAIL) in $((SECONDS - t_start)) s"
exit $((bad > 0))

# bbsim: the two commands are `make repro` and `make test`. This thin Makefile checks
# (and, as root, installs) the dependencies, then drives CMake and CTest.
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PROFILE ?= quick
# make repro TASK_FLAGS="--corpus FILE" runs the whole pipeline on your own bigram source
# (any bbsim task flag: --transitions, --marginal, --labels, --k, ...) into its own folder,
# out/<the flags as a name>, unless OUT is given.
TASK_FLAGS ?=
# OUT and TASK_FLAGS go into shell commands: refused here, before anything runs, when they
# hold what a shell would read as syntax (paper_repro/safe_paths.mk)
include paper_repro/safe_paths.mk
$(call safe_words,TASK_FLAGS,$(TASK_FLAGS))
TASK_NAME := $(shell printf '%s' '$(strip $(TASK_FLAGS))' | tr -c 'A-Za-z0-9._=,-' '_' | sed 's/^[-_]*//')
OUT     ?= $(if $(TASK_NAME),out/$(TASK_NAME),out)
$(call safe_path,OUT,$(OUT))
# Words of TASK_FLAGS that name existing files become absolute paths (the pipeline runs
# in paper_repro/).
TASK_FLAGS_ABS := $(foreach w,$(TASK_FLAGS),$(if $(wildcard $(w)),$(abspath $(w)),$(w)))
# quick: one small run per core at a time; paper: one big run at a time, every core in it.
REPRO_JOBS ?= $(if $(filter paper,$(PROFILE)),1,$(JOBS))
CMAKE_FLAGS ?=

.PHONY: all deps build test test-fresh repro repro-related repro-atlas bench bench-peer fuzz faults clean help \
        runlist repro-slurm repro-parallel deps-cluster test-cluster

all: build

help:
	@echo "make repro       regenerate every figure and claims.tsv (PROFILE=$(PROFILE), into $(OUT)/)"
	@echo "                 SEEDS=N: every run trained for N seeds, every claim decided over them (docs/figures.md#seeds)"
	@echo "make repro-related  make repro + the related-work sweeps (C15, C16), into the same OUT"
	@echo "make repro-atlas make repro + the phase diagram of the extreme-token phenomena (~1 h on 2 cores),"
	@echo "                 into the same OUT: figures/atlas.pdf, atlas/atlas.tsv (docs/figures.md#phase-diagram-atlas)"
	@echo "make test        build and run all tests (but the cluster test: make test-cluster)"
	@echo "make bench       time training steps, report GFLOP/s"
	@echo "make fuzz        (not CI) build the libFuzzer targets into $(FUZZ_BUILD)/fuzz/ (clang; fuzz/README.md)"
	@echo "make faults      the fault tests: kill -9/SIGINT/SIGTERM + resume, full disk, no gnuplot (ctest -L faults)"
	@echo "make bench-peer  the same beside the PyTorch peer (PEER=path/to/bb_torch.py)"
	@echo "make deps        check (and as root install with apt-get) cmake, gcc + libc6-dev, OpenMP, pkg-config,"
	@echo "                 GSL, cmocka, OpenBLAS, gnuplot pdfcairo with fonts, NumPy, chromium (browser tests);"
	@echo "                 compiles, links and runs test programs"
	@echo "make test-fresh  (root, not CI) make test in a bare debootstrap'ed Debian 12 with only make and git;"
	@echo "                 tests the committed HEAD, not uncommitted changes; FRESH_ARGS='--rebuild --repro --keep'"
	@echo "make repro-slurm make repro as a Slurm array (one task per run) and a collect job (docs/cluster.md)"
	@echo "make repro-parallel  the same jobs with GNU parallel (SSHLOGINFILE=hosts for several machines)"
	@echo "make runlist     only write the jobs: $(OUT)/cluster/runlist.tsv"
	@echo "make deps-cluster    check (and as root install) Slurm, MUNGE and GNU parallel"
	@echo "make test-cluster    (root) make repro-slurm and repro-parallel on a one-node Slurm started for the test"

# Every dependency check (each mapped to its Debian packages) lives in scripts/deps.sh: as
# root with apt-get it installs what is missing and checks again, else it prints the exact
# apt-get line and stops.
deps:
	@bash scripts/deps.sh

# Not part of make test or CI: needs root, debootstrap and a Debian mirror (scripts/test-fresh.sh).
FRESH_ARGS ?=
test-fresh:
	@bash scripts/test-fresh.sh $(FRESH_ARGS)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# (the cluster test starts Slurm daemons: make test-cluster)
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE cluster

bench: build
	$(BUILD)/bbsim bench

# bbsim beside the PyTorch peer in one run (scripts/bench-peer.sh: PEER, CONFIGS, ROUNDS)
bench-peer: build
	BBSIM=$(abspath $(BUILD))/bbsim scripts/bench-peer.sh

repro: build
	$(MAKE) -C paper_repro -j $(REPRO_JOBS) PROFILE=$(PROFILE) OUT=$(abspath $(OUT)) BBSIM=$(abspath $(BUILD))/bbsim \
	    TASK_FLAGS='$(TASK_FLAGS_ABS)' --no-print-directory

# make repro plus the related-work sweeps (C15, C16) into the same OUT: what make repro
# already made is reused.
repro-related: build
	$(MAKE) -C paper_repro -j $(REPRO_JOBS) PROFILE=$(PROFILE) OUT=$(abspath $(OUT)) BBSIM=$(abspath $(BUILD))/bbsim \
	    TASK_FLAGS='$(TASK_FLAGS_ABS)' RELATED=1 --no-print-directory

# make repro plus the phase diagram of the extreme-token phenomena (paper_repro/atlas.mk:
# one run per optimizer x attention activation x lr cell on the 1- and 3-layer models,
# about an hour on 2 cores) into the same OUT: what make repro already made is reused.
repro-atlas: build
	$(MAKE) -C paper_repro -j $(REPRO_JOBS) PROFILE=$(PROFILE) OUT=$(abspath $(OUT)) BBSIM=$(abspath $(BUILD))/bbsim \
	    TASK_FLAGS='$(TASK_FLAGS_ABS)' ATLAS=1 --no-print-directory

# ---- past one machine (docs/cluster.md): make repro cut into independent jobs, one per
# training with its analyses (make -C paper_repro runlist), run as a Slurm array with a
# collect job after it, or by GNU parallel; the collect job is make repro itself, which
# then finds every run done. PROFILE, RELATED=1, ATLAS=1, TASK_FLAGS, THREADS, RUN_CPUS and
# RUN_MEM_MB apply as to make repro; SLURM_FLAGS, SLURM_ARRAY_LIMIT, PARALLEL_JOBS and
# SSHLOGINFILE are read by paper_repro/slurm.sh and parallel.sh.
RUNLIST := $(abspath $(OUT))/cluster/runlist.tsv
runlist: build
	@mkdir -p $(dir $(RUNLIST))
	@$(MAKE) -C paper_repro -s --no-print-directory PROFILE=$(PROFILE) OUT=$(abspath $(OUT)) \
	    BBSIM=$(abspath $(BUILD))/bbsim TASK_FLAGS='$(TASK_FLAGS_ABS)' runlist > $(RUNLIST).tmp
	@mv -f $(RUNLIST).tmp $(RUNLIST)
	@echo "runlist: $(RUNLIST), $$(grep -vc '^#' $(RUNLIST)) jobs (the last collects)"

repro-slurm: runlist
	@bash paper_repro/slurm.sh $(RUNLIST)

repro-parallel: runlist
	@bash paper_repro/parallel.sh $(RUNLIST)

deps-cluster:
	@bash scripts/deps-cluster.sh

# Not part of make test: as root, starts MUNGE and a one-node Slurm in a temporary folder
# and runs the smoke profile through both paths against a local make repro (tests/cluster.sh).
test-cluster: build deps-cluster
	cd $(BUILD) && ctest --output-on-failure -L cluster

# libFuzzer targets, one per parser (fuzz/README.md: how to run them). Not part of make test
# or CI; fuzz/deps.sh checks (as root installs) clang, libclang-rt-14-dev and libomp-14-dev.
FUZZ_BUILD ?= build-fuzz
fuzz: deps
	@bash fuzz/deps.sh
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBBSIM_FUZZ=ON -DBUILD_TESTING=OFF \
	    -DBBSIM_WERROR=OFF -DBBSIM_NATIVE=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@echo "fuzz targets in $(FUZZ_BUILD)/fuzz/: run e.g. $(FUZZ_BUILD)/fuzz/fuzz_tsv -max_total_time=240 fuzz/corpus/tsv"

# The fault tests (tests/faults_*.sh, CTest label faults).
faults: build
	cd $(BUILD) && ctest --output-on-failure -L faults

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)

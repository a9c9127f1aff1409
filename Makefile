# bbsim: the two commands are `make repro` and `make test`. This thin Makefile checks
# (and, as root, installs) the dependencies, then drives CMake and CTest.
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PROFILE ?= quick
# make repro TASK_FLAGS="--corpus FILE" runs the whole pipeline on your own bigram source
# (any bbsim task flag: --transitions, --marginal, --labels, --k, ...) into its own folder,
# out/<the flags as a name>, unless OUT is given.
TASK_FLAGS ?=
TASK_NAME := $(shell printf '%s' '$(strip $(TASK_FLAGS))' | tr -c 'A-Za-z0-9._=,-' '_' | sed 's/^[-_]*//')
OUT     ?= $(if $(TASK_NAME),out/$(TASK_NAME),out)
# Words of TASK_FLAGS that name existing files become absolute paths (the pipeline runs
# in paper_repro/).
TASK_FLAGS_ABS := $(foreach w,$(TASK_FLAGS),$(if $(wildcard $(w)),$(abspath $(w)),$(w)))
# quick: one small run per core at a time; paper: one big run at a time, every core in it.
REPRO_JOBS ?= $(if $(filter paper,$(PROFILE)),1,$(JOBS))
CMAKE_FLAGS ?=

.PHONY: all deps build test test-fresh repro repro-related bench bench-peer fuzz faults clean help

all: build

help:
	@echo "make repro       regenerate every figure and claims.tsv (PROFILE=$(PROFILE), into $(OUT)/)"
	@echo "make test        build and run all tests"
	@echo "make bench       time training steps, report GFLOP/s"
	@echo "make fuzz        (not CI) build the libFuzzer targets into $(FUZZ_BUILD)/fuzz/ (clang; fuzz/README.md)"
	@echo "make faults      the fault tests: kill -9/SIGINT/SIGTERM + resume, full disk, no gnuplot (ctest -L faults)"
	@echo "make bench-peer  the same beside the PyTorch peer (PEER=path/to/bb_torch.py)"
	@echo "make deps        check (and as root install with apt-get) cmake, gcc + libc6-dev, OpenMP, pkg-config,"
	@echo "                 GSL, cmocka, OpenBLAS, gnuplot pdfcairo with fonts; compiles, links and runs test programs"
	@echo "make test-fresh  (root, not CI) make test in a bare debootstrap'ed Debian 12 with only make and git;"
	@echo "                 tests the committed HEAD, not uncommitted changes; FRESH_ARGS='--rebuild --repro --keep'"

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

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

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

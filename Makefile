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

# Debian package for each thing we check.
PKGS_cmake    = cmake
PKGS_cc       = gcc make
PKGS_pkg      = pkg-config
PKGS_gsl      = libgsl-dev
PKGS_cmocka   = libcmocka-dev
PKGS_openblas = libopenblas-dev
PKGS_gnuplot  = gnuplot-nox

.PHONY: all deps build test repro bench clean help

all: build

help:
	@echo "make repro   regenerate every figure and claims.tsv (PROFILE=$(PROFILE), into $(OUT)/)"
	@echo "make test    build and run all tests"
	@echo "make bench   time training steps, report GFLOP/s"
	@echo "make deps    check (and as root install) cmake, a C compiler, GSL, cmocka, OpenMP, OpenBLAS, gnuplot"

# Check every dependency; collect the missing Debian packages; install them with
# apt-get when root, else print the exact command and stop.
deps:
	@missing=""; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing $(PKGS_cmake)"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing $(PKGS_cc)"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing $(PKGS_pkg)"; \
	pkg-config --exists gsl 2>/dev/null || missing="$$missing $(PKGS_gsl)"; \
	pkg-config --exists cmocka 2>/dev/null || missing="$$missing $(PKGS_cmocka)"; \
	pkg-config --exists openblas 2>/dev/null || missing="$$missing $(PKGS_openblas)"; \
	{ command -v gnuplot >/dev/null 2>&1 && gnuplot -e 'set terminal' 2>&1 | grep -q pdfcairo; } \
	    || missing="$$missing $(PKGS_gnuplot)"; \
	if command -v cc >/dev/null 2>&1; then \
	    t=$$(mktemp -d); printf '#include <omp.h>\nint main(void){return omp_get_max_threads()<1;}\n' > $$t/omp.c; \
	    cc -fopenmp $$t/omp.c -o $$t/omp >/dev/null 2>&1 || missing="$$missing libgomp1 gcc"; rm -rf $$t; \
	fi; \
	if [ -z "$$missing" ]; then echo "deps: cmake, cc, pkg-config, GSL $$(pkg-config --modversion gsl), cmocka $$(pkg-config --modversion cmocka), OpenBLAS $$(pkg-config --modversion openblas), OpenMP, gnuplot (pdfcairo): all present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "deps: installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	        || { echo "deps: apt-get install failed; run: apt-get update && apt-get install -y$$missing" >&2; exit 1; }; \
	else \
	    echo "deps: missing:$$missing" >&2; \
	    echo "deps: run: sudo apt-get update && sudo apt-get install -y$$missing" >&2; exit 1; \
	fi

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bbsim bench

repro: build
	$(MAKE) -C paper_repro -j $(REPRO_JOBS) PROFILE=$(PROFILE) OUT=$(abspath $(OUT)) BBSIM=$(abspath $(BUILD))/bbsim \
	    TASK_FLAGS='$(TASK_FLAGS_ABS)' --no-print-directory

clean:
	rm -rf $(BUILD) build-asan

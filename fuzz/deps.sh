#!/usr/bin/env bash
# fuzz deps: clang with libFuzzer and the sanitizer runtimes, and clang's OpenMP (libomp).
# As root with apt-get, install what is missing; otherwise print the apt-get line. Run by
# `make fuzz` (scripts/deps.sh checks the rest).
set -euo pipefail

PKGS="clang libclang-rt-14-dev libomp-14-dev"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {
    command -v clang >/dev/null 2>&1 || { echo "clang not found"; return 1; }
    printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n){(void)d; (void)n; return 0;}\n' > "$tmp/f.c"
    clang -fsanitize=fuzzer,address,undefined "$tmp/f.c" -o "$tmp/f" > "$tmp/f.log" 2>&1 ||
        { echo "clang -fsanitize=fuzzer failed: $(head -c 160 "$tmp/f.log")"; return 1; }
    printf '#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n' > "$tmp/o.c"
    clang -fopenmp "$tmp/o.c" -o "$tmp/o" > "$tmp/o.log" 2>&1 ||
        { echo "clang -fopenmp failed: $(head -c 160 "$tmp/o.log")"; return 1; }
}

if why=$(check); then exit 0; fi
echo "fuzz deps: $why"
. "$(dirname "$0")/../scripts/apt.sh"
apt_install "fuzz deps" "clang 14 with libFuzzer (Debian: $PKGS)" $PKGS || exit 1
why=$(check) || { echo "fuzz deps: still failing after install: $why"; exit 1; }

#!/usr/bin/env bash
# deps: check everything bbsim needs to build, test and render figures (each check maps to
# the Debian packages that fix it); as root with apt-get install what is missing and check
# again, otherwise print the exact apt-get line. Run by `make deps` (so by make test/repro).
set -euo pipefail

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One check per line: NAME|Debian packages|what it proves. check_NAME succeeds or prints
# one short reason. A check lists every package it needs, so a bare system (where one
# missing tool hides the next problem) gets the whole set in one apt-get install.
CHECKS=(
    "make|make|make"
    "cmake|cmake|cmake"
    "cc|gcc|a C compiler (cc)"
    "libc|gcc libc6-dev|compiling and linking a C program (C library headers, crt1.o/crti.o)"
    "openmp|gcc libgomp1|compiling, linking and running an OpenMP program (cc -fopenmp)"
    "pkgconfig|pkg-config|pkg-config"
    "gsl|pkg-config libgsl-dev|GSL (pkg-config gsl)"
    "cmocka|pkg-config libcmocka-dev|cmocka (pkg-config cmocka)"
    "openblas|pkg-config libopenblas-dev|OpenBLAS (pkg-config openblas)"
    "gnuplot|gnuplot-nox|gnuplot with the pdfcairo terminal"
    "pdftext|gnuplot-nox fonts-dejavu-core|a pdfcairo plot with text (a PDF with an embedded font)"
    "numpy|python3-numpy|NumPy for /usr/bin/python3 (make test: tests/export_numpy.sh runs examples/load_bbsim.py)"
)
# Optional: installed like the others when possible; when it cannot be, make goes on and the
# tests that need it skip (exit 77) saying so.
OPTIONAL=(
    "chromium|chromium|headless Chromium (make test: tests/browser_explore.sh opens bbsim explore's page)"
)

# First line of a command's output, for a one-line reason.
first() { grep -m1 -v '^[[:space:]]*$' "$1" | cut -c1-160 || true; }

check_make()  { command -v make >/dev/null 2>&1 || { echo "make not found"; return 1; }; }
check_cmake() { command -v cmake >/dev/null 2>&1 || { echo "cmake not found"; return 1; }; }
check_cc()    { command -v cc >/dev/null 2>&1 || { echo "cc not found"; return 1; }; }
check_pkgconfig() { command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config not found"; return 1; }; }

check_libc() {
    check_cc >/dev/null || { echo "no cc to test with"; return 1; }
    printf '#include <stdio.h>\n#include <math.h>\nint main(int c, char **v){(void)v; printf("%%d\\n", (int)sqrt(4.0 + c)); return 0;}\n' > "$tmp/hello.c"
    cc "$tmp/hello.c" -o "$tmp/hello" -lm > "$tmp/hello.log" 2>&1 || { echo "cc hello.c failed: $(first "$tmp/hello.log")"; return 1; }
    "$tmp/hello" >/dev/null 2>&1 || { echo "the linked hello program does not run"; return 1; }
}

check_openmp() {
    check_libc >/dev/null || { echo "cc cannot link a plain C program (see the line above)"; return 1; }
    printf '#include <omp.h>\nint main(void){int n = 0;\n#pragma omp parallel reduction(+:n)\nn += 1;\nreturn !(n >= 1 && omp_get_max_threads() >= 1);}\n' > "$tmp/omp.c"
    cc -fopenmp "$tmp/omp.c" -o "$tmp/omp" > "$tmp/omp.log" 2>&1 || { echo "cc -fopenmp failed: $(first "$tmp/omp.log")"; return 1; }
    "$tmp/omp" > "$tmp/omp.log" 2>&1 || { echo "the OpenMP program failed to run: $(first "$tmp/omp.log")"; return 1; }
}

check_pc() {
    check_pkgconfig >/dev/null || { echo "no pkg-config to ask"; return 1; }
    pkg-config --exists "$1" 2>/dev/null || { echo "pkg-config does not know $1"; return 1; }
}
check_gsl()      { check_pc gsl; }
check_cmocka()   { check_pc cmocka; }
check_openblas() { check_pc openblas; }

check_gnuplot() {
    command -v gnuplot >/dev/null 2>&1 || { echo "gnuplot not found"; return 1; }
    gnuplot -e 'set terminal' 2>&1 | grep -q pdfcairo || { echo "gnuplot has no pdfcairo terminal"; return 1; }
}

check_pdftext() {
    check_gnuplot >/dev/null || { echo "no gnuplot with pdfcairo to test with"; return 1; }
    gnuplot -e "set terminal pdfcairo font 'Sans,9'; set output '$tmp/t.pdf'; set title 'deps check 0.5'; plot x title 'line'; set output" \
        > "$tmp/pdf.log" 2>&1 || { echo "gnuplot failed: $(first "$tmp/pdf.log")"; return 1; }
    [ -s "$tmp/t.pdf" ] || { echo "gnuplot wrote an empty PDF"; return 1; }
    [ "$(head -c 4 "$tmp/t.pdf")" = "%PDF" ] || { echo "gnuplot's output does not start with %PDF"; return 1; }
    # cairo embeds every font it draws text with; no font file means no font was found.
    grep -aq '/FontFile' "$tmp/t.pdf" || { echo "the PDF has no embedded font (no fonts installed? text would not render)"; return 1; }
}

# /usr/bin/python3 by its full path: a python3 earlier on PATH (pyenv, venv) may lack NumPy,
# and the test uses this one.
check_numpy() {
    [ -x /usr/bin/python3 ] || { echo "/usr/bin/python3 not found"; return 1; }
    /usr/bin/python3 -c 'import numpy' > "$tmp/numpy.log" 2>&1 || { echo "/usr/bin/python3 cannot import numpy: $(tail -1 "$tmp/numpy.log" | cut -c1-120)"; return 1; }
}

check_chromium() {
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { echo "chromium not found"; return 1; }
}

# Run every check; fill FAILED (check names), PKGS (their packages, deduplicated) and
# print one "deps: ..." line per problem.
run_checks() {
    FAILED=(); PKGS=()
    local entry name pkgs what why p
    for entry in "${CHECKS[@]}"; do
        IFS='|' read -r name pkgs what <<< "$entry"
        if ! why=$("check_$name"); then
            FAILED+=("$name")
            echo "deps: missing: $what: $why (Debian: $pkgs)" >&2
            for p in $pkgs; do
                [[ " ${PKGS[*]-} " == *" $p "* ]] || PKGS+=("$p")
            done
        fi
    done
}

summary() {
    echo "deps: cmake $(cmake --version | sed -n '1s/.* //p'), cc ($(cc -dumpfullversion 2>/dev/null || cc -dumpversion)), pkg-config," \
         "GSL $(pkg-config --modversion gsl), cmocka $(pkg-config --modversion cmocka)," \
         "OpenBLAS $(pkg-config --modversion openblas), OpenMP, gnuplot (pdfcairo with text)," \
         "NumPy $(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)'): all present"
}

# The optional checks: as root install what is missing; otherwise, or when that fails, say
# which tests will skip and go on (exit 0).
optional() {
    local entry name pkgs what why
    for entry in "${OPTIONAL[@]}"; do
        IFS='|' read -r name pkgs what <<< "$entry"
        why=$("check_$name") && { echo "deps: optional: $what: present"; continue; }
        echo "deps: optional: missing: $what: $why (Debian: $pkgs)" >&2
        # shellcheck disable=SC2086 # the package list is words
        if apt_install deps "$pkgs" $pkgs && why=$("check_$name"); then
            echo "deps: optional: $what: installed"
        else
            echo "deps: optional: going on without it: the tests that need it are skipped (exit 77)" >&2
        fi
    done
}

. "$(dirname "$0")/apt.sh"
run_checks
if [ ${#FAILED[@]} -eq 0 ]; then summary; optional; exit 0; fi

apt_install deps "the equivalents of the Debian packages: ${PKGS[*]}" "${PKGS[@]}" || exit 1

run_checks
if [ ${#FAILED[@]} -ne 0 ]; then
    echo "deps: still broken after installing (${FAILED[*]}): see the lines above" >&2
    exit 1
fi
summary
optional

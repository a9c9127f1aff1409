#!/usr/bin/env bash
# The module layering of bbsim, checked: every file may use its own module and the ones
# below it, never one above (so there is no circle between modules). Two checks:
# #include lines of the sources, and the symbols each compiled object takes from others.
#   usage: check_layers.sh SOURCE_DIR OBJECT_DIR   (OBJECT_DIR: CMakeFiles/bbsim_core.dir)
set -euo pipefail
src=$1 obj=$2

# Modules from the bottom up; a module's headers in include/bbsim/ are listed with it.
ranks="core:0 tasks:1 model:2 train:3 analysis:4 claims:5 theory:6 cli:7"
header_module() {
    case $1 in
        common.h | blas.h | tsv.h | export.h | parallel.h | process.h) echo core ;;
        task.h) echo tasks ;;
        kernels.h | model.h) echo model ;;
        optim.h | train_config.h | checkpoint.h | run.h | train.h | bench.h) echo train ;;
        metrics.h | fit.h | analysis.h | sensitivity.h | collect.h | explore.h) echo analysis ;;
        claims.h) echo claims ;;
        theory.h) echo theory ;;
        cli.h) echo cli ;;
        *) echo "check_layers: include/bbsim/$1 belongs to no module: add it to $0" >&2; exit 1 ;;
    esac
}
rank() { for r in $ranks; do [ "${r%%:*}" = "$1" ] && { echo "${r#*:}"; return; }; done; echo "check_layers: no module $1" >&2; exit 1; }
# The module of a repository path: src/MODULE/..., include/bbsim/HEADER.
path_module() {
    case $1 in
        src/*/*) p=${1#src/}; echo "${p%%/*}" ;;
        include/bbsim/*) header_module "${1#include/bbsim/}" ;;
        *) echo "check_layers: $1 is in no module" >&2; exit 1 ;;
    esac
}

bad=0
cd "$src"
files=$(ls src/*/*.[ch] include/bbsim/*.h)
n=0
for f in $files; do
    m=$(path_module "$f"); r=$(rank "$m")
    while read -r h; do
        [ -n "$h" ] || continue
        hm=$(header_module "$h"); hr=$(rank "$hm")
        if [ "$hr" -gt "$r" ]; then
            echo "check_layers: $f ($m) includes bbsim/$h ($hm), a higher module" >&2; bad=1
        fi
        n=$((n + 1))
    done < <(sed -n 's/^#include "bbsim\/\([a-z_]*\.h\)".*/\1/p' "$f")
done
echo "check_layers: $n #include lines checked in $(echo "$files" | wc -w) files (order: $ranks)"

# Symbols: who defines each global function/object, and who uses it.
cd "$obj"
objs=$(find . -name '*.o' | sed 's|^\./||' | sort)
[ -n "$objs" ] || { echo "check_layers: no objects under $obj" >&2; exit 1; }
defs=$(mktemp)
trap 'rm -f "$defs"' EXIT
for o in $objs; do nm --defined-only -g "$o" | awk -v o="$o" 'NF == 3 { print $3, o }'; done > "$defs"
uses=0
for o in $objs; do
    om=$(path_module "${o%.o}"); orank=$(rank "$om")
    while read -r sym; do
        def=$(awk -v s="$sym" '$1 == s { print $2; exit }' "$defs")
        [ -n "$def" ] || continue # from a library (libc, GSL, BLAS, OpenMP)
        dm=$(path_module "${def%.o}"); dr=$(rank "$dm")
        uses=$((uses + 1))
        if [ "$dr" -gt "$orank" ]; then
            echo "check_layers: ${o%.o} ($om) calls $sym from ${def%.o} ($dm), a higher module" >&2; bad=1
        fi
    done < <(nm --undefined-only -g "$o" | awk '{ print $NF }')
done
echo "check_layers: $uses uses of bbsim symbols across $(echo "$objs" | wc -w) objects checked"
exit $bad

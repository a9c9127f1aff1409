#!/usr/bin/env bash
# Regenerate src/tasks/data/shakespeare.tsv, the built-in table shakespeare (the paper's BB
# task), from the tiny-Shakespeare text: checks the text's sha256, lets bbsim's own
# --corpus code count it (bbsim task --corpus FILE --write-table OUT) and puts the
# provenance lines on top (the table's checksum covers the table lines, not comments).
#   usage: scripts/make-table.sh [TEXT [BBSIM [OUT]]]
#   TEXT  default /tmp/tinyshakespeare.txt: data/tinyshakespeare/input.txt of
#         https://github.com/karpathy/char-rnn at commit 6f9487a (public domain)
#   BBSIM default build/bbsim; OUT default src/tasks/data/shakespeare.tsv
# The text is not part of the repository; only the derived counts are.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
text=${1:-/tmp/tinyshakespeare.txt}
bbsim=${2:-$here/build/bbsim}
out=${3:-$here/src/tasks/data/shakespeare.tsv}
sha=86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
got=$(sha256sum "$text" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
    echo "make-table.sh: $text has sha256 $got, not tiny Shakespeare's $sha" >&2
    exit 1
fi
bytes=$(wc -c < "$text")
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.table"' EXIT
"$bbsim" task --corpus "$text" --write-table "$tmp.table"
{
    echo "# source character and pair counts of tiny Shakespeare, data/tinyshakespeare/input.txt of github.com/karpathy/char-rnn at commit 6f9487a (public domain; $bytes bytes, sha256 $sha)"
    echo "# made by scripts/make-table.sh (bbsim task --corpus input.txt --write-table shakespeare.tsv)"
    cat "$tmp.table"
} > "$tmp"
mv "$tmp" "$out"
trap - EXIT
rm -f "$tmp.table"
echo "make-table.sh: wrote $out"

#!/usr/bin/env bash
# bbsim explore's page in a real browser (headless Chromium): a smoke run's page opened with
# #selftest moves its own slider and checks the drawn map against the data of each checkpoint
# (plots/explore.html, selftest()); here: its PASS line, no console message, the weights it
# reads back equal to bbsim analyze's attention file of the same sequence, and a screenshot
# (kept for a look). Mode hostile: a run whose token labels are HTML/script fragments, quotes
# and a bidi control; the page must show them as text and run no injected script.
#   usage: browser_explore.sh SOURCE_DIR BBSIM_BINARY SHOT_DIR [plain|hostile]
# Exit 77 (skipped) without chromium (apt-get install chromium, or make deps).
set -euo pipefail
src=$1 shots=$3 mode=${4:-plain}
bbsim=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "browser_explore: no chromium (apt-get install chromium, or make deps as root): skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-browser.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "browser_explore ($mode): $*" >&2; exit 1; }
mkdir -p "$shots"
cd "$tmp"
chrome() { # chrome OUTPUT-FLAG URL: one headless Chromium, its own profile, 60 s at most
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/profile" \
        --enable-logging=stderr --v=0 --hide-scrollbars --window-size=1440,1000 "$@"
}
T=(--dim 16 --seq 24 --batch 8 --eval-batch 4 --eval-every 10 --ckpt 5,40,1 --threads 1 --quiet)
if [ "$mode" = hostile ]; then
    printf '1 2 1 1 1\n1 1 2 1 1\n2 1 1 1 1\n1 1 1 2 1\n1 1 1 1 2\n' > P.txt
    # a script that would close the JSON's element, an entity, quotes, a right-to-left override, a comment
    printf '</script><script>alert(1)</script>\n&amp;\n"q'"'"'\n\xe2\x80\xaeabc\nx<!--\n' > labels.txt
    "$bbsim" train --transitions P.txt --labels labels.txt --k 2 --layers 1 "${T[@]}" --steps 40 --out run
else
    "$bbsim" train --layers 2 --heads 2 "${T[@]}" --steps 40 --out run
fi
seq=1
"$bbsim" explore run --seq $seq --max-ckpts 5 --threads 1 --quiet
page=$tmp/run/explore.html
[ -s "$page" ] || fail "no page"
# the page's only script elements are the template's two: nothing in the data closes one
n=$(grep -o -i '</script' "$page" | wc -l)
[ "$n" = 2 ] || fail "$n </script> in the page (2 expected: the JSON must escape <)"

chrome --dump-dom "file://$page#selftest" > dom.html 2> chrome.log || fail "chromium failed: $(tail -3 chrome.log)"
line=$(grep -o 'SELFTEST [^<]*' dom.html | head -1 || true)
echo "browser_explore ($mode): $line"
case $line in "SELFTEST PASS"*) ;; *) fail "the page's self-test did not pass: ${line:-no result line}" ;; esac
if grep -E 'CONSOLE|Uncaught' chrome.log; then fail "console messages (above)"; fi

# the weights the page read back at the last checkpoint = bbsim analyze's, within the 16-bit quantisation
"$bbsim" analyze run --seqs $seq --out an --no-heads --quiet > /dev/null
cells=${line##* cells }
head=$(echo "$line" | sed -n 's/.* \(l[0-9]*h[0-9]*\) step .*/\1/p')
for c in $cells; do
    IFS=, read -r i j w <<< "$c"
    awk -F'\t' -v i="$i" -v j="$j" -v w="$w" '!/^#/ && $1 == i && $2 == j {
            found = 1; d = $3 - w; if (d < 0) d = -d
            if (d > 2e-5 + 1e-4 * ($3 < 0 ? -$3 : $3)) { printf "cell %d,%d: page %s, analyze %s\n", i, j, w, $3; exit 1 } }
         END { if (!found) { print "cell " i "," j " not in the attention file"; exit 1 } }' \
        "an/attention_seq${seq}_${head}.tsv" || fail "the page's weights differ from bbsim analyze's ($head)"
done

if [ "$mode" = hostile ]; then
    # each label shown as text: its escaped spelling (docs/method.md#token-labels) in the tokens strip
    for lab in '&lt;/script&gt;&lt;scrip' '&amp;amp;' '\x22q'"'" '\xE2\x80\xAEabc' 'x&lt;!--'; do
        grep -qF "$lab" dom.html || fail "label $lab not shown as text"
    done
    if grep -q '<script>alert' dom.html; then fail "an injected script element in the DOM"; fi
fi
chrome --screenshot="$tmp/shot.png" "file://$page" 2>> chrome.log > /dev/null || fail "no screenshot"
[ -s shot.png ] || fail "empty screenshot"
cp shot.png "$shots/explore_$mode.png"
echo "browser_explore ($mode): ok; screenshot $shots/explore_$mode.png ($(stat -c %s "$page") bytes page)"

#!/usr/bin/env bash
# bbsim export against an independent forward pass: tiny models of every attention
# activation, an ablated and a linear-MLP model and the simplified model are trained,
# exported as safetensors and .npz, and examples/load_bbsim.py (NumPy only, float64) must
# reproduce bbsim's loss on the exported evaluation batch to 1e-5; crafted bad files get
# one line and exit 2 (BBSIM_TEST_VERBOSE=1 prints them). Exits 77 (CTest SKIP)
# when /usr/bin/python3 has no NumPy (make deps installs python3-numpy).
#   usage: export_numpy.sh SOURCE_DIR BBSIM_BINARY
set -euo pipefail
src=$1 bbsim=$2
# /usr/bin/python3, not the python3 on PATH: a pyenv shim there may lack NumPy
# (BBSIM_TEST_PYTHON overrides it, e.g. to check the skip)
py=${BBSIM_TEST_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import numpy' 2>/dev/null; then
    echo "export_numpy: SKIPPED: $py cannot import numpy (Debian: apt-get install python3-numpy)" >&2
    exit 77
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/bbsim-export.XXXXXX")
trap 'rm -rf "$out"' EXIT
loader=$src/examples/load_bbsim.py
tiny="--table synthetic --vocab 12 --seq 16 --batch 8 --steps 50 --eval-batch 16 --lr 3e-3 --threads 1 --quiet"
bad=0 n=0
# name|flags
configs=(
    "softmax|--layers 2 --heads 2 --dim 16"
    "relu|--layers 2 --heads 2 --dim 16 --attn relu"
    "sigmoid|--layers 2 --heads 2 --dim 16 --attn sigmoid"
    "sigmoid-norm|--layers 2 --heads 2 --dim 16 --attn sigmoid-norm"
    "softmax-keybias|--layers 2 --heads 2 --dim 16 --attn softmax-keybias"
    "softmax1|--layers 2 --heads 2 --dim 16 --attn softmax1"
    "softmax-sink|--layers 2 --heads 2 --dim 16 --attn softmax-sink"
    "softpick|--layers 2 --heads 2 --dim 16 --attn softpick"
    "gated-head|--layers 2 --heads 2 --dim 16 --attn gated-head"
    "gated-elem|--layers 2 --heads 2 --dim 16 --attn gated-elem"
    "linear-mlp|--layers 1 --heads 2 --dim 16 --linear-mlp 0"
    "ablated|--layers 3 --heads 2 --dim 16 --no-attn 1 --no-mlp 0,2"
    "simple|--model simple --lr 3e-2"
    "simple-relu|--model simple --attn relu --lr 3e-2"
)
for entry in "${configs[@]}"; do
    name=${entry%%|*} flags=${entry#*|}
    # shellcheck disable=SC2086 # the flags are words
    "$bbsim" train $tiny $flags --out "$out/$name" > "$out/$name.log" 2>&1 \
        || { cat "$out/$name.log" >&2; echo "export_numpy: $name: bbsim train failed" >&2; bad=1; continue; }
    for fmt in safetensors npz; do
        file=$out/$name.$fmt
        "$bbsim" export "$out/$name" --format "$fmt" --out "$file" --quiet \
            || { echo "export_numpy: $name: bbsim export --format $fmt failed" >&2; bad=1; continue; }
        n=$((n + 1))
        if line=$("$py" "$loader" "$file" --tol 1e-5 2>&1); then
            echo "export_numpy: $name $fmt: ${line##*$'\n'}"
        else
            echo "$line" >&2; echo "export_numpy: $name $fmt: the NumPy loss differs from bbsim's" >&2; bad=1
        fi
    done
done
# the comparison can fail: an eval_loss off by 1e-4 must be reported (exit 1)
"$py" - "$out/softmax.npz" "$out/tampered.npz" <<'EOF'
import json, sys
import numpy as np
z = np.load(sys.argv[1])
d = {k: z[k] for k in z.files}
meta = json.loads(d["__metadata__"].tobytes())
meta["eval_loss"] = repr(float(meta["eval_loss"]) + 1e-4)
d["__metadata__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
with open(sys.argv[2], "wb") as f:
    np.savez(f, **d)
EOF
if "$py" "$loader" "$out/tampered.npz" > "$out/tampered.log" 2>&1; then
    cat "$out/tampered.log" >&2; echo "export_numpy: a loss off by 1e-4 passed the 1e-5 check" >&2; bad=1
fi
# malformed files: one line on stderr naming the file, exit 2, never a traceback (negative
# or overlapping data_offsets were once accepted, a cut file ended in a traceback)
"$py" - "$out/softmax.safetensors" "$out/softmax.npz" "$out/bad" <<'EOF'
import json, os, struct, sys
good, good_npz, d = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(d)
raw = open(good, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]

def write(name, h, body=data):
    text = json.dumps(h).encode()
    text += b" " * (-(8 + len(text)) % 8)
    open(f"{d}/{name}.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + body)

def edit(name, change):
    h = json.loads(json.dumps(header))
    change(h)
    write(name, h)

w, b = "blocks.0.ln1.w", "blocks.0.ln1.b"  # two tensors of the same shape
def shift(h, k, by): h[k]["data_offsets"] = [o + by for o in h[k]["data_offsets"]]
first = min((t["data_offsets"][0], k) for k, t in header.items() if k != "__metadata__")[1]
edit("negative", lambda h: shift(h, first, -4))
edit("overlap", lambda h: h[b].update(data_offsets=h[w]["data_offsets"]))
edit("beyond", lambda h: shift(h, b, len(data)))
edit("reversed", lambda h: h[b].update(data_offsets=h[b]["data_offsets"][::-1]))
edit("size", lambda h: h[w].update(shape=[h[w]["shape"][0] + 1]))
edit("dtype", lambda h: h[w].update(dtype="F64"))
edit("no_eval", lambda h: h.pop("eval.inputs"))
edit("version", lambda h: h["__metadata__"].update(naming_version="9"))
write("cut", header, data[: len(data) // 2])
open(f"{d}/short.safetensors", "wb").write(raw[:5])
open(f"{d}/hugelen.safetensors", "wb").write(struct.pack("<Q", 1 << 40) + raw[8:])
open(f"{d}/notjson.safetensors", "wb").write(struct.pack("<Q", 8) + b"{not js}" + data)
open(f"{d}/empty.safetensors", "wb").write(b"")
open(f"{d}/garbage.npz", "wb").write(b"PK\x03\x04 this is no zip file")
open(f"{d}/cut.npz", "wb").write(open(good_npz, "rb").read()[:300])
EOF
for file in "$out"/bad/*; do
    rc=0
    "$py" "$loader" "$file" > "$out/bad.log" 2>&1 || rc=$?
    [ -z "${BBSIM_TEST_VERBOSE:-}" ] || cat "$out/bad.log"
    if [ $rc != 2 ] || [ "$(wc -l < "$out/bad.log")" != 1 ] || ! grep -qF "load_bbsim: $file: " "$out/bad.log"; then
        cat "$out/bad.log" >&2; echo "export_numpy: ${file##*/}: exit $rc, not 2 with one line naming the file" >&2; bad=1
    fi
done
stray=$(find "$out" -name '*.tmp' | head -3)
[ -z "$stray" ] || { echo "export_numpy: temporary files left behind: $stray" >&2; bad=1; }
echo "export_numpy: $n exports checked against NumPy (${#configs[@]} models)"
exit $bad

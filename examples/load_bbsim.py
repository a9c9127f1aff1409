#!/usr/bin/env python3
"""Load a model written by `bbsim export` with NumPy alone, run its forward pass and check
it against bbsim: the mean cross-entropy on the exported evaluation batch (eval.inputs,
eval.targets) must equal bbsim's own loss (metadata eval_loss). The forward pass is a
reference implementation in float64 of docs/method.md#the-model; the tensor names and
shapes are in docs/format.md#exported-models.

    /usr/bin/python3 examples/load_bbsim.py RUN/export/step_1000.safetensors [--tol 1e-5]

Exit status: 0 the losses agree, 1 they differ, 2 a malformed file (one line on stderr).

As a library:  params, meta = load(path);  logits = forward(params, meta, tokens)
"""
import argparse
import json
import struct
import sys
import zipfile

import numpy as np

NAMING_VERSION = "1"  # the naming convention this loader knows (metadata naming_version)
ATTN_KINDS = ("softmax", "relu", "sigmoid", "sigmoid-norm", "softmax-keybias", "softmax1",
              "softmax-sink", "softpick", "gated-head", "gated-elem")
SOFTMAX_ROWS = ("softmax", "softmax-keybias", "softmax1", "softmax-sink", "gated-head", "gated-elem")
SOFTPICK_EPS = 1e-8


class BadFile(ValueError):
    """A file that is not a well-formed bbsim export (the message says why)."""


DTYPES = {"F32": "<f4", "I32": "<i4", "U8": "u1"}


def _safetensors_header(raw):
    """(header, data): the JSON header and the data section of a safetensors file, each
    tensor's dtype, shape and data_offsets checked: offsets non-negative, begin <= end,
    inside the data section, dtype size x shape = end - begin, no two tensors overlapping."""
    if len(raw) < 8:
        raise BadFile(f"{len(raw)} bytes: too short for a safetensors file (8-byte header length)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise BadFile(f"header length {n} is beyond the end of the file ({len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadFile(f"the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise BadFile("the header is not a JSON object")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise BadFile("__metadata__ is not an object of strings")
    data = memoryview(raw)[8 + n:]
    spans = []
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(t, dict) or t.get("dtype") not in DTYPES:
            raise BadFile(f"tensor {name!r}: dtype {t.get('dtype') if isinstance(t, dict) else t!r} is not one of "
                          f"{', '.join(DTYPES)}")
        shape, off = t.get("shape"), t.get("data_offsets")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise BadFile(f"tensor {name!r}: shape {shape!r} is not a list of non-negative integers")
        if not isinstance(off, list) or len(off) != 2 or not all(type(o) is int for o in off):
            raise BadFile(f"tensor {name!r}: data_offsets {off!r} is not [begin, end]")
        begin, end = off
        if begin < 0 or begin > end or end > len(data):
            raise BadFile(f"tensor {name!r}: data_offsets [{begin}, {end}] are not within the data section "
                          f"[0, {len(data)}] (begin <= end, both non-negative)")
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(DTYPES[t["dtype"]]).itemsize
        if end - begin != size:
            raise BadFile(f"tensor {name!r}: data_offsets [{begin}, {end}] hold {end - begin} bytes, but "
                          f"{t['dtype']} {shape} needs {size}")
        spans.append((begin, end, name))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise BadFile(f"tensors {n0!r} [{b0}, {e0}] and {n1!r} [{b1}, {e1}] overlap")
    return header, data


def load(path):
    """Return (params, meta): {name: np.ndarray} (float32 / int32) and {key: str}. Raises
    BadFile (a ValueError) on a malformed file, OSError when it cannot be read."""
    if path.endswith(".npz"):
        try:
            with np.load(path) as z:  # allow_pickle stays False: every entry is a plain array
                params = {k: z[k] for k in z.files if k != "__metadata__"}
                if "__metadata__" not in z.files:
                    raise BadFile("no __metadata__ entry")
                meta = json.loads(z["__metadata__"].tobytes().decode("utf-8"))
        except (zipfile.BadZipFile, EOFError, UnicodeDecodeError, ValueError) as e:
            raise BadFile(e if isinstance(e, BadFile) else f"not a readable .npz ({e})") from None
        if not isinstance(meta, dict):
            raise BadFile("__metadata__ is not a JSON object")
        return params, meta
    with open(path, "rb") as f:  # safetensors: u64 header length, JSON header, raw data
        raw = f.read()
    header, data = _safetensors_header(raw)
    meta = header.pop("__metadata__", {})
    params = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        params[name] = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return params, meta


def layernorm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)  # biased variance, as PyTorch
    return (x - mean) / np.sqrt(var + eps) * w + b


def attention_weights(s, kind, slot=None):
    """Weights a (..., T, T) from scores s over the causal keys j <= i. slot (..., T): the
    logit of an extra key whose value is 0 (softmax-keybias, softmax1, softmax-sink); its
    weight is dropped. The gated kinds' rows are softmax's (the gate acts on the output)."""
    T = s.shape[-1]
    causal = np.tril(np.ones((T, T), dtype=bool))
    if kind in SOFTMAX_ROWS:
        s = np.where(causal, s, -np.inf)
        m = s.max(-1, keepdims=True)
        if slot is not None:
            m = np.maximum(m, slot[..., None])
        e = np.exp(s - m)
        z = e.sum(-1, keepdims=True)
        if slot is not None:
            z = z + np.exp(slot[..., None] - m)
        return e / z
    if kind == "softpick":  # relu(e^s - 1) / (sum |e^s - 1| + eps), shifted by the row max m
        m = np.where(causal, s, -np.inf).max(-1, keepdims=True)
        p = np.where(causal, np.exp(np.minimum(s - m, 0.0)) - np.exp(-m), 0.0)
        return np.maximum(p, 0.0) / (np.abs(p).sum(-1, keepdims=True) + SOFTPICK_EPS)
    if kind == "relu":  # a_ij = relu(s_ij) / (i+1), no renormalisation
        return np.where(causal, np.maximum(s, 0.0), 0.0) / np.arange(1, T + 1)[:, None]
    g = np.where(causal, 1.0 / (1.0 + np.exp(-s)), 0.0)
    if kind == "sigmoid":  # a_ij = sigmoid(s_ij)
        return g
    if kind == "sigmoid-norm":  # a_ij = sigmoid(s_ij) / sum_j' sigmoid(s_ij')
        return g / g.sum(-1, keepdims=True)
    raise ValueError(f"unknown attention activation {kind!r}")


def forward_transformer(P, meta, tokens):
    """Logits (B, T, V) of the transformer: pre-LayerNorm blocks, no biases, ReLU MLP."""
    T = tokens.shape[1]
    eps, kind = float(meta["ln_eps"]), meta["attn"]
    x = P["embed.W_E"][tokens] + P["pos_embed.W_pos"][:T]  # (B, T, C)
    for l in range(int(meta["n_layers"])):
        p = f"blocks.{l}."
        if p + "attn.W_Q" in P:  # absent: --no-attn
            h = layernorm(x, P[p + "ln1.w"], P[p + "ln1.b"], eps)
            q, k, v = (np.einsum("btc,hcd->bhtd", h, P[p + "attn." + w]) for w in ("W_Q", "W_K", "W_V"))
            scale = 1.0 / np.sqrt(q.shape[-1])
            s = q @ k.transpose(0, 1, 3, 2) * scale  # (B, H, T, T): s_ij = q_i . k_j / sqrt(d_head)
            slot = None
            if kind == "softmax-keybias":  # a learned key k_slot per head
                slot = np.einsum("bhtd,hd->bht", q, P[p + "attn.k_slot"]) * scale
            elif kind == "softmax1":  # a fixed zero logit
                slot = np.zeros(s.shape[:-1])
            elif kind == "softmax-sink":  # a learned logit per head
                slot = np.broadcast_to(P[p + "attn.sink"][None, :, None], s.shape[:-1])
            z = attention_weights(s, kind, slot) @ v  # (B, H, T, d_head)
            if p + "attn.W_gate" in P:  # gated-head / gated-elem: y *= sigmoid(ln1 @ W_gate + b_gate)
                g = 1.0 / (1.0 + np.exp(-(h @ P[p + "attn.W_gate"] + P[p + "attn.b_gate"])))  # (B, T, G)
                B_, H_, T_, d = z.shape
                g = g.transpose(0, 2, 1)[..., None] if g.shape[-1] == H_ else g.reshape(B_, T_, H_, d).transpose(0, 2, 1, 3)
                z = z * g
            x = x + np.einsum("bhtd,hdc->btc", z, P[p + "attn.W_O"])
        if p + "ln2.w" in P:  # absent: --no-mlp
            h = layernorm(x, P[p + "ln2.w"], P[p + "ln2.b"], eps)
            if p + "mlp.W_lin" in P:  # --linear-mlp
                x = x + h @ P[p + "mlp.W_lin"]
            else:
                x = x + np.maximum(h @ P[p + "mlp.W_in"], 0.0) @ P[p + "mlp.W_out"]
    x = layernorm(x, P["ln_final.w"], P["ln_final.b"], eps)
    return x @ P["unembed.W_U"]


def forward_simple(P, meta, tokens):
    """Logits of the simplified one-layer model (docs/method.md#simplified-model): query i
    with input x scores only one key, i-1 with logit prev_logit[x] if x is a trigger (key 0
    when i = 0), else key 0 with logit bos_logit[x]; the other visible keys score 0. Values:
    v_0 = bos_value @ W_O, v_j = value[x_j] e_{x_j}; plus the MLP relu(W_in[x]) @ W_out."""
    B, T = tokens.shape
    V = P["simple.value"].shape[0]
    is_trigger = np.zeros(V, dtype=bool)
    is_trigger[[int(t) for t in meta["triggers"].split(",") if t]] = True
    trig = is_trigger[tokens]
    i = np.arange(T)
    key = np.where(trig & (i > 0), i - 1, 0)
    s = np.zeros((B, T, T))
    s[np.arange(B)[:, None], i, key] = np.where(trig, P["simple.prev_logit"][tokens], P["simple.bos_logit"][tokens])
    a = attention_weights(s, meta["attn"])  # (B, T, T)
    values = P["simple.value"][tokens][..., None] * np.eye(V)[tokens]  # (B, T, V)
    values[:, 0] = P["simple.bos_value"] @ P["simple.W_O"]
    mlp = np.maximum(P["simple.W_in"], 0.0) @ P["simple.W_out"]  # (V, V): row x for input x
    return a @ values + mlp[tokens]


def forward(params, meta, tokens):
    """Logits (B, T, V), float64, for int tokens (B, T)."""
    if meta.get("naming_version") != NAMING_VERSION:
        raise BadFile(f"naming_version {meta.get('naming_version')!r}: this loader reads "
                      f"version {NAMING_VERSION} (docs/format.md#exported-models)")
    if meta["attn"] not in ATTN_KINDS:
        raise BadFile(f"attention activation {meta['attn']!r} is not supported")
    P = {k: v.astype(np.float64) for k, v in params.items() if v.dtype == np.float32}
    if meta["model"] == "transformer":
        return forward_transformer(P, meta, tokens)
    if meta["model"] == "simple":
        return forward_simple(P, meta, tokens)
    raise BadFile(f"model kind {meta['model']!r} is not supported")


def mean_loss(logits, targets):
    """Mean -log softmax(logits)[target] over every position (bbsim's eval_loss)."""
    m = logits.max(-1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(-1)) + m[..., 0]
    return float((lse - np.take_along_axis(logits, targets[..., None], -1)[..., 0]).mean())


def main():
    ap = argparse.ArgumentParser(description="Load a bbsim export (.safetensors or .npz) with NumPy, "
                                 "recompute the loss on its evaluation batch and compare it with bbsim's.")
    ap.add_argument("file", help="a file written by bbsim export")
    ap.add_argument("--tol", type=float, default=1e-5,
                    help="fail when |numpy - bbsim| > tol * max(1, |bbsim|), i.e. tol absolute below a "
                         "loss of 1 and relative above (default 1e-5)")
    args = ap.parse_args()
    try:
        params, meta = load(args.file)
        if meta.get("format") != "bbsim-export":
            raise BadFile("not written by bbsim export (no metadata format=bbsim-export)")
        loss = mean_loss(forward(params, meta, params["eval.inputs"]), params["eval.targets"])
        ref = float(meta["eval_loss"])
    except OSError as e:
        print(f"load_bbsim: {args.file}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyError as e:  # a tensor or metadata key the model needs
        print(f"load_bbsim: {args.file}: malformed bbsim export: no {e.args[0]!r}", file=sys.stderr)
        return 2
    except BadFile as e:
        print(f"load_bbsim: {args.file}: {e}", file=sys.stderr)
        return 2
    except (ValueError, IndexError) as e:  # shapes or values that do not fit the model
        print(f"load_bbsim: {args.file}: malformed bbsim export: {e}", file=sys.stderr)
        return 2
    diff = abs(loss - ref)
    ok = diff <= args.tol * max(1.0, abs(ref))
    B, T = params["eval.inputs"].shape
    print(f"{args.file}: {meta['model']} {meta['attn']}, step {meta['step']}, {B} x {T} positions")
    rel = diff / abs(ref) if ref else float("inf")
    print(f"numpy loss {loss:.12f}  bbsim loss {ref:.12f}  |diff| {diff:.3g} (relative {rel:.3g})"
          f"  tol {args.tol:g}: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

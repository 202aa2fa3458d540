"""PyTorch baseline for `pnpm bench model`: the same GPT-2-small-shaped random model, measured the
same way (median of N runs after a warm-up; forward under no_grad; forward + gradient of the last
position's argmax logit with respect to the token embeddings; peak RSS), so the two can be run
side by side on the same machine at the same load. Not needed by tests or CI.

    /usr/bin/python3 packages/transformer/bench/model_torch.py [--threads 2] [--seqs 16,64] [--runs 5]

Prints one JSON object per line with the fields of `pnpm bench model --json`, plus the BLAS
library the process loaded. Debian's python3-torch is built against the generic libblas.so.3,
the slow reference BLAS unless the system's alternative points elsewhere; with Debian's
OpenBLAS installed, `LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread` swaps in
OpenBLAS's libblas.so.3 (`pnpm bench model --torch` runs both).
"""

import argparse
import json
import math
import resource
import statistics
import time

import torch


def gpt2_small(vocab=50257, positions=1024, d=768, layers=12, heads=12, seed=1):
    """Random GPT-2 small weights as in the checkpoint (Conv1D weights stored [in, out])."""
    g = torch.Generator().manual_seed(seed)
    normal = lambda *shape: torch.randn(*shape, generator=g) * 0.02
    w = {"wte": normal(vocab, d), "wpe": normal(positions, d), "ln_f": (torch.ones(d), torch.zeros(d)), "h": []}
    for _ in range(layers):
        w["h"].append({
            "ln_1": (torch.ones(d), torch.zeros(d)),
            "c_attn": (normal(d, 3 * d), torch.zeros(3 * d)),
            "c_proj": (normal(d, d), torch.zeros(d)),
            "ln_2": (torch.ones(d), torch.zeros(d)),
            "c_fc": (normal(d, 4 * d), torch.zeros(4 * d)),
            "mlp_proj": (normal(4 * d, d), torch.zeros(d)),
        })
    return w, heads


def forward(w, heads, embeds):
    """Logits [T, V] from token embeddings [T, d]."""
    t, d = embeds.shape
    x = embeds + w["wpe"][:t]
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    for b in w["h"]:
        h = torch.nn.functional.layer_norm(x, (d,), *b["ln_1"])
        q, k, v = (h @ b["c_attn"][0] + b["c_attn"][1]).split(d, dim=-1)
        q, k, v = (z.view(t, heads, d // heads).transpose(0, 1) for z in (q, k, v))  # [H, T, dh]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d // heads)
        pattern = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        z = (pattern @ v).transpose(0, 1).reshape(t, d)
        x = x + z @ b["c_proj"][0] + b["c_proj"][1]
        h = torch.nn.functional.layer_norm(x, (d,), *b["ln_2"])
        h = torch.nn.functional.gelu(h @ b["c_fc"][0] + b["c_fc"][1], approximate="tanh")
        x = x + h @ b["mlp_proj"][0] + b["mlp_proj"][1]
    x = torch.nn.functional.layer_norm(x, (d,), *w["ln_f"])
    return x @ w["wte"].T


def blas_library():
    """The BLAS shared library mapped into this process (after torch has loaded)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libblas" in line.split()[-1]}
    return ", ".join(sorted(paths)) or "unknown"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seqs", default="16,64")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    w, heads = gpt2_small()
    vocab = w["wte"].shape[0]
    for seq in (int(s) for s in a.seqs.split(",")):
        ids = torch.tensor([(i * 7919 + 13) % vocab for i in range(seq)])
        fwd, total, fwd_cpu, total_cpu = [], [], [], []
        for it in range(1 + a.runs):
            c0 = time.process_time()
            t0 = time.perf_counter()
            with torch.no_grad():
                forward(w, heads, w["wte"][ids])
            t1 = time.perf_counter()
            c1 = time.process_time()
            e = w["wte"][ids].clone().requires_grad_(True)
            logits = forward(w, heads, e)
            target = int(logits[-1].argmax())
            (g,) = torch.autograd.grad(logits[-1, target], [e])
            t2 = time.perf_counter()
            c2 = time.process_time()
            assert torch.isfinite(g).all()
            if it > 0:
                fwd.append((t1 - t0) * 1000)
                total.append((t2 - t1) * 1000)
                fwd_cpu.append((c1 - c0) * 1000)
                total_cpu.append((c2 - c1) * 1000)
        print(json.dumps({
            "model": "gpt2-small-torch", "seq": seq,
            "forward_ms": round(statistics.median(fwd), 1), "forward_input_grad_ms": round(statistics.median(total), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "forward_cpu_ms": round(statistics.median(fwd_cpu), 1), "forward_input_grad_cpu_ms": round(statistics.median(total_cpu), 1),
            "threads": a.threads, "torch": torch.__version__, "blas": blas_library(),
        }), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch CPU peer for `npm run bench -- --peers`: the same GPT-2 shapes as bench/model.ts.

Reads one JSON object on stdin:
  {"threads": 2, "quick": false,
   "train":  [{"name", "n_layer", "n_embd", "n_head", "vocab", "n_positions", "B", "T"}, ...],
   "decode": [{"name", "n_layer", "n_embd", "n_head", "vocab", "n_positions", "prompt", "new"}, ...],
   "mm":     [{"name", "M", "N", "K", "tr"}, ...]}     (tr: "NN" (default), "NT" or "TN")
and prints one JSON object: {"torch", "blas", "threads", "train": {name: tok/s}, "prefill": {name: tok/s},
"decode": {name: tok/s}, "mm": {name: GFLOP/s}}. The model is a plain GPT-2 (pre-LN blocks, GELU tanh,
tied lm_head, no dropout) trained with AdamW, like ours; decoding is greedy with a KV cache. Each mm is
timed as the median of 5 calls after a warm-up (4 with quick, 1 above 20 GFLOP).
"""
import json
import math
import os
import sys
import time


def blas_in_use():
    """The BLAS library this process mapped (Debian's torch takes whatever libblas.so.3 points at)."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if '.so' in line}
    except OSError:
        return 'unknown'
    for key, name in (('openblas', 'OpenBLAS'), ('mkl', 'MKL'), ('blis', 'BLIS'), ('atlas', 'ATLAS')):
        hit = sorted(l for l in libs if key in os.path.basename(l).lower())
        if hit:
            return f'{name} ({hit[0]})'
    ref = sorted(l for l in libs if os.path.basename(l).startswith('libblas'))
    return f'reference BLAS ({ref[0]}): install libopenblas0-pthread for a fast one' if ref else 'unknown'


def main():
    cfg = json.load(sys.stdin)
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(int(cfg.get('threads', os.cpu_count() or 1)))
    torch.manual_seed(0)
    reps = 2 if cfg.get('quick') else 3

    class Block(nn.Module):
        def __init__(self, C, H):
            super().__init__()
            self.H = H
            self.ln_1 = nn.LayerNorm(C)
            self.c_attn = nn.Linear(C, 3 * C)
            self.c_proj = nn.Linear(C, C)
            self.ln_2 = nn.LayerNorm(C)
            self.c_fc = nn.Linear(C, 4 * C)
            self.mlp_proj = nn.Linear(4 * C, C)

        def forward(self, x, cache=None):
            B, T, C = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
            if cache is not None:
                if 'k' in cache:
                    k = torch.cat([cache['k'], k], dim=2)
                    v = torch.cat([cache['v'], v], dim=2)
                cache['k'], cache['v'] = k, v
            # torch 1.13 (Debian 12) has no scaled_dot_product_attention
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
            if T > 1:
                S = k.shape[2]
                mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
                att = att.masked_fill(~mask, float('-inf'))
            y = att.softmax(-1) @ v
            x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))

    class GPT(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.wte = nn.Embedding(c['vocab'], c['n_embd'])
            self.wpe = nn.Embedding(c['n_positions'], c['n_embd'])
            self.h = nn.ModuleList(Block(c['n_embd'], c['n_head']) for _ in range(c['n_layer']))
            self.ln_f = nn.LayerNorm(c['n_embd'])

        def forward(self, idx, caches=None, pos0=0):
            T = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + T))
            for i, b in enumerate(self.h):
                x = b(x, caches[i] if caches is not None else None)
            return self.ln_f(x) @ self.wte.weight.t()

    def median(fn, n):
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        ts.sort()
        return ts[len(ts) // 2]

    out = {'torch': torch.__version__, 'blas': blas_in_use(), 'threads': torch.get_num_threads(),
           'train': {}, 'prefill': {}, 'decode': {}, 'mm': {}}
    for c in cfg.get('train', []):
        model = GPT(c)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
        x = torch.randint(0, c['vocab'], (c['B'], c['T'] + 1))

        def step():
            opt.zero_grad(set_to_none=True)
            logits = model(x[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        step()
        out['train'][c['name']] = c['B'] * c['T'] / median(step, reps)
    for c in cfg.get('decode', []):
        model = GPT(c).eval()
        prompt = torch.randint(0, c['vocab'], (1, c['prompt']))
        with torch.no_grad():
            def prefill():
                caches = [{} for _ in model.h]
                return model(prompt, caches), caches

            def generate():
                logits, caches = prefill()
                tok = logits[:, -1:].argmax(-1)
                for i in range(c['new']):
                    tok = model(tok, caches, c['prompt'] + i)[:, -1:].argmax(-1)
            generate()
            pre = median(prefill, reps)
            gen = median(generate, reps)
        out['prefill'][c['name']] = c['prompt'] / pre
        out['decode'][c['name']] = c['new'] / max(1e-9, gen - pre)
    for m in cfg.get('mm', []):
        # op(A)·op(B): a transposed operand is stored transposed and passed as a transposed view,
        # which torch.mm hands to the BLAS as a transpose flag (no copy); C is preallocated
        M, N, K, tr = m['M'], m['N'], m['K'], m.get('tr', 'NN')
        a = torch.randn(K, M).t() if tr[0] == 'T' else torch.randn(M, K)
        b = torch.randn(N, K).t() if tr[1] == 'T' else torch.randn(K, N)
        c = torch.empty(M, N)
        torch.mm(a, b, out=c)
        f = 2 * M * N * K
        out['mm'][m['name']] = f / median(lambda: torch.mm(a, b, out=c), 1 if f > 2e10 else reps + 2) / 1e9
    print(json.dumps(out))


if __name__ == '__main__':
    main()

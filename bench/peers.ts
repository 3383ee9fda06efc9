// Peer libraries timed in the same bench run (npm run bench -- --peers). Each peer returns its
// figures or a one-line reason it could not run (missing, failed); a peer never stops the bench.
//
//   PyTorch on the CPU: bench/peers/torch_gpt2.py, run with python3 (Debian: apt-get install
//   python3-torch libopenblas0-pthread). It reports which BLAS torch mapped: Debian's torch takes
//   whatever libblas.so.3 is, the reference BLAS (about 30x slower) unless OpenBLAS is installed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A GPT-2 shape as bench/peers/torch_gpt2.py builds it. */
interface TorchModel {
  name: string;
  n_layer: number;
  n_embd: number;
  n_head: number;
  vocab: number;
  n_positions: number;
}

export interface TorchRequest {
  /** training steps of B sequences of T tokens */
  train?: (TorchModel & { B: number; T: number })[];
  /** KV-cache decoding: `new` tokens after a `prompt`-token prompt */
  decode?: (TorchModel & { prompt: number; new: number })[];
  /** C = op(A)·op(B) through torch.mm (tr: which operands are transposed, default NN) */
  mm?: { name: string; M: number; N: number; K: number; tr?: 'NN' | 'NT' | 'TN' }[];
  quick?: boolean;
}

export interface TorchResult {
  torch: string;
  blas: string;
  threads: number;
  train: Record<string, number>;
  prefill: Record<string, number>;
  decode: Record<string, number>;
  mm: Record<string, number>;
}

export const TORCH_INSTALL = 'apt-get install python3-torch libopenblas0-pthread';

/** e.g. "PyTorch 1.13.0a0 CPU, 2 threads, OpenBLAS": a row's peer name for the PyTorch peer. */
export const torchName = (t: TorchResult) => `PyTorch ${t.torch} CPU, ${t.threads} threads, ${t.blas.split(' (')[0]}`;

/** $PYTHON, else Debian's own python3 (where python3-torch installs), else python3 on PATH. */
const PYTHON = process.env.PYTHON ?? (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** Run the PyTorch peer; resolves to its result or to { error } (never rejects). */
export function torchPeer(req: TorchRequest, timeoutMs = 600_000): Promise<TorchResult | { error: string }> {
  return new Promise((resolve) => {
    let out = '',
      err = '';
    const child = spawn(PYTHON, [path.join(HERE, 'peers', 'torch_gpt2.py')], {
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ error: `PyTorch peer: no answer in ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: `PyTorch peer: python3 not found (${e.message}); install: ${TORCH_INSTALL}` });
    });
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        const last = err.trim().split('\n').pop() ?? '';
        resolve({
          error: /No module named 'torch'/.test(err)
            ? `PyTorch peer: torch is not installed; install: ${TORCH_INSTALL}`
            : `PyTorch peer failed (exit ${code}): ${last}`,
        });
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch {
        resolve({ error: `PyTorch peer: unreadable output ${JSON.stringify(out.slice(0, 120))}` });
      }
    });
    child.stdin.end(JSON.stringify({ threads: os.availableParallelism?.() ?? os.cpus().length, ...req }));
  });
}

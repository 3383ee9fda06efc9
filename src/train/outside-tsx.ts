// The trainer outside tsx's signal relay.
//
// `tsx FILE` (and so `npx tsx FILE` and `npm run train`) runs FILE in a child of a tsx process
// that relays SIGINT and SIGTERM to it, and SIGKILLs the child unless the child's JavaScript
// acknowledges each signal within about 60 ms. A terminal's Ctrl-C reaches both (it goes to the
// whole process group), and a training step's dispatches or start-up's tokenization keep the
// event loop busy for longer than that: the trainer was killed before it could save or say
// anything (issue 15). Under tsx's CLI the trainer therefore starts itself again without the
// relay (node with tsx's loader only), and this process just waits: idle, it answers tsx at once,
// passes on the signals tsx relays (the trainer takes repeats within a second as one press), and
// exits as the trainer did.
import { spawn } from 'node:child_process';
import os from 'node:os';

/** tsx's CLI starts its child with `--require …/tsx/dist/preflight.cjs`, the relay's other end. */
const PREFLIGHT = /[\\/]tsx[\\/]dist[\\/]preflight\.cjs$/;

export function underTsxRelay(): boolean {
  return process.execArgv.some((a) => PREFLIGHT.test(a));
}

/** Run this script again, with the same arguments and loader but no relay; exits with its status. */
export function rerunOutsideTsxRelay(): Promise<never> {
  const execArgv = process.execArgv.filter(
    (a, i, all) => !PREFLIGHT.test(a) && !(a === '--require' && PREFLIGHT.test(all[i + 1] ?? '')),
  );
  const child = spawn(process.execPath, [...execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  const pass = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', pass);
  process.on('SIGTERM', pass);
  return new Promise(() => {
    child.on('exit', (code, sig) => process.exit(code ?? 128 + os.constants.signals[sig as NodeJS.Signals]));
  });
}

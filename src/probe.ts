// tsx src/probe.ts --weights DIR [options] — look inside a model: top next tokens, per-token
// surprisal, generation, the logit lens, and a diagnosis of whether it uses its prompt.
// The options are in src/probe/cli.ts (`--help` prints them); the library is src/probe/index.ts.
import { hideBin } from 'yargs/helpers';
import { runProbeCli } from './probe/cli.ts';
import { EXIT_FAILED } from './exit.ts';

// `... | head` closing the pipe early is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  else throw e;
});

let code: number;
try {
  code = await runProbeCli(hideBin(process.argv));
} catch (e) {
  process.stderr.write(`probe: internal error: ${(e as Error).message}\n`);
  if (process.env.DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
  code = EXIT_FAILED;
}
// the GPU device keeps the event loop alive: exit once stdout and stderr are flushed
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

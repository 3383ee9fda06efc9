// tsx src/report.ts RUN_DIR... [--out DIR] — compare training runs in report.html and report.md.
// See src/report/cli.ts for the options; `--help` prints them.
import { hideBin } from 'yargs/helpers';
import { runReportCli } from './report/cli.ts';

// `... | head` closing the pipe early is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  else throw e;
});
process.exitCode = runReportCli(hideBin(process.argv));

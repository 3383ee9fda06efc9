// The `tsx src/report.ts RUN_DIR... [--out DIR]` command, as a function (the tests call it in-process).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { checkRunDir, loadRun, type RunData } from './load.ts';
import { renderReport } from './render.ts';
import { DEFAULT_THRESHOLDS } from './analyze.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../exit.ts';

export interface CliIO {
  log: (s: string) => void;
  error: (s: string) => void;
  /** directory that relative paths are resolved against (default: process.cwd()) */
  cwd?: string;
}

/** the output folder beside the first run when --out is not given */
export const DEFAULT_OUT = 'report';

function parser() {
  return yargs()
    .scriptName('report')
    .usage(
      [
        '$0 RUN_DIR... [options]',
        '',
        'Compare training runs (directories written by src/train.ts: run.json, metrics.jsonl) in a',
        'self-contained report.html (inline CSS and SVG charts; no scripts, no network) and a report.md;',
        'the charts are also written as report-*.svg, which report.md shows.',
        '',
        'The report has: a table of the runs; final validation perplexity next to QA keyword recall,',
        'flagging runs whose perplexity looks fine while their answers are poor; loss, perplexity and',
        "QA-recall curves for all runs on shared axes; each model's top next tokens and greedy answer",
        'for every probe prompt, side by side; and Notes on whatever was missing or damaged.',
      ].join('\n'),
    )
    .option('out', {
      type: 'string',
      describe:
        'the folder to write report.html, report.md and report-*.svg into (created if missing)\n[default: report/ beside the first RUN_DIR, e.g. runs/report/ for runs/scratch-mixed]',
    })
    .option('title', { type: 'string', describe: 'report title [default: "Training report: RUN vs. RUN ..."]' })
    .option('top-k', { type: 'number', default: 5, describe: 'next tokens shown per probe prompt' })
    .option('ppl-fine', {
      type: 'number',
      default: DEFAULT_THRESHOLDS.pplFine,
      describe: 'a final validation perplexity at or below this "looks fine"',
    })
    .option('recall-poor', {
      type: 'number',
      default: DEFAULT_THRESHOLDS.recallPoor,
      describe: 'a QA keyword recall (0..1) below this is "poor"; a run with both is flagged',
    })
    .demandCommand(1, 'give at least one run directory')
    .example(
      '$0 runs/scratch-mixed runs/scratch-art runs/distilgpt2-ft',
      'writes runs/report/report.html and report.md',
    )
    .example('$0 runs/a runs/b --out reports/ab', 'writes reports/ab/report.html and reports/ab/report.md')
    .parserConfiguration({ 'parse-positional-numbers': false })
    .strict()
    .showHelpOnFail(false, 'run with --help for the options')
    .help()
    .version(false)
    .wrap(null);
}

/** Run the command; returns the exit status (0 written, 1 usage or input error). */
export function runReportCli(args: string[], io: CliIO = { log: console.log, error: console.error }): number {
  if (!args.length) {
    // no arguments: the help, as a usage error
    let help = '';
    parser().parse(['--help'], {}, (_e, _a, output) => {
      help = output;
    });
    io.error(help);
    return EXIT_USAGE;
  }
  let parsed: { err?: Error; argv?: Record<string, unknown>; output: string } = { output: '' };
  parser().parse(args, {}, (err, argv, output) => {
    parsed = { err: err ?? undefined, argv, output };
  });
  if (parsed.err) {
    io.error(parsed.output || parsed.err.message);
    return EXIT_USAGE;
  }
  if (!parsed.argv) {
    io.error(parsed.output || 'report: could not parse the arguments');
    return EXIT_USAGE;
  }
  if (parsed.output) {
    io.log(parsed.output);
    return EXIT_OK;
  } // --help
  const argv = parsed.argv as {
    _: (string | number)[];
    out?: string;
    title?: string;
    'top-k': number;
    'ppl-fine': number;
    'recall-poor': number;
  };

  const cwd = io.cwd ?? process.cwd();
  const fail = (msg: string, status = EXIT_FAILED) => {
    io.error(`report: ${msg}`);
    return status;
  };
  for (const k of ['top-k', 'ppl-fine', 'recall-poor'] as const) {
    if (!Number.isFinite(argv[k]) || argv[k] < 0)
      return fail(`--${k} must be a non-negative number (got ${argv[k]})`, EXIT_USAGE);
  }
  const dirs = argv._.map(String);
  const abs = (p: string) => path.resolve(cwd, p);
  for (const d of dirs) {
    try {
      checkRunDir(abs(d), d);
    } catch (e) {
      return fail((e as Error).message);
    }
  }

  // Names are the directories' base names; where two collide, the paths as given.
  const base = dirs.map((d) => path.basename(abs(d)));
  const runs: RunData[] = dirs.map((d, i) => {
    const run = loadRun(
      abs(d),
      base.filter((b) => b === base[i]).length > 1 ? path.normalize(d).replace(/[\\/]+$/, '') : base[i],
    );
    run.dir = d;
    return run;
  });

  // a folder of its own, so that the report's files do not mix with the run directories
  const out = abs(argv.out ?? path.join(path.dirname(abs(dirs[0])), DEFAULT_OUT));
  const report = renderReport(runs, {
    title: argv.title,
    topK: argv['top-k'],
    thresholds: { pplFine: argv['ppl-fine'], recallPoor: argv['recall-poor'] },
  });
  const htmlPath = path.join(out, 'report.html');
  const mdPath = path.join(out, 'report.md');
  try {
    mkdirSync(out, { recursive: true });
    writeFileSync(htmlPath, report.html);
    writeFileSync(mdPath, report.md);
    for (const c of report.charts) writeFileSync(path.join(out, c.file), `${c.svg}\n`);
  } catch (e) {
    return fail(`cannot write into ${argv.out ?? out}: ${(e as Error).message.split('\n')[0]}`);
  }

  const rel = (p: string) => {
    const r = path.relative(cwd, p);
    return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
  };
  io.log(
    `wrote ${rel(htmlPath)}, ${rel(mdPath)} and ${report.charts.length} charts (${report.charts.map((c) => c.file).join(', ')}) into ${rel(out)}${path.sep}`,
  );
  if (report.flagged.length) io.log(`flagged (perplexity looks fine, answers poor): ${report.flagged.join(', ')}`);
  if (report.noteCount)
    io.log(
      `${report.noteCount} note${report.noteCount > 1 ? 's' : ''} on missing or damaged input: see the Notes section`,
    );
  return EXIT_OK;
}

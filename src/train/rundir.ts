// A run directory being written: run.json (what the run is, rewritten as it goes), metrics.jsonl
// (one line per training step and per evaluation) and loss.svg (the loss curves). A write that
// fails (a full or read-only disk) names its file and which checkpoints are still whole.
import fs from 'node:fs';
import path from 'node:path';
import { writeError, writeFileAtomic } from '../io/atomic.ts';
import { lineChart } from '../report/svg.ts';
import { intactCheckpoints } from './checkpoint.ts';

/** A run that ends early with a one-line reason (a full disk, a NaN loss, a budget too short). */
export class TrainingStopped extends Error {}

export class RunDir {
  readonly metricsFile: string;
  private readonly runJson: Record<string, unknown>;
  private readonly curves = { train: [] as [number, number][], val: [] as [number, number][] };

  /** `run` describes a new run; a resumed one keeps what its run.json says, marked resumed. */
  constructor(
    readonly dir: string,
    run: Record<string, unknown>,
    resumed: boolean,
  ) {
    this.metricsFile = path.join(dir, 'metrics.jsonl');
    this.runJson = resumed
      ? {
          ...run,
          ...JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')),
          resumed: new Date().toISOString(),
        }
      : run;
    this.writeRunJson();
  }

  /** Run `write`; a failure stops the run with one line naming `file` and what is intact. */
  writing<T>(file: string, write: () => T): T {
    try {
      return write();
    } catch (e) {
      throw new TrainingStopped(`${writeError(file, e).message}; ${intactCheckpoints(this.dir)}`);
    }
  }

  /** Add `extra` to run.json and rewrite it (atomically). */
  writeRunJson(extra: Record<string, unknown> = {}) {
    Object.assign(this.runJson, extra);
    const file = path.join(this.dir, 'run.json');
    this.writing(file, () => writeFileAtomic(file, `${JSON.stringify(this.runJson, null, 2)}\n`));
  }

  /** Append one record to metrics.jsonl; a training step's or an evaluation's loss joins its curve. */
  append(rec: Record<string, unknown>) {
    this.writing(this.metricsFile, () => fs.appendFileSync(this.metricsFile, `${JSON.stringify(rec)}\n`));
    const tokens = rec.tokens as number;
    if (rec.type === 'train' && typeof rec.loss === 'number') this.curves.train.push([tokens, rec.loss]);
    if (rec.type === 'eval' && typeof rec.val_loss === 'number') this.curves.val.push([tokens, rec.val_loss]);
  }

  /** Redraw loss.svg from the curves so far. */
  plot() {
    const svg = lineChart({
      title: 'Loss',
      xLabel: 'tokens seen',
      yLabel: 'loss (nats)',
      series: [
        { name: 'train', points: this.curves.train },
        { name: 'validation', points: this.curves.val, markers: true },
      ],
    });
    const file = path.join(this.dir, 'loss.svg');
    this.writing(file, () => writeFileAtomic(file, svg));
  }
}

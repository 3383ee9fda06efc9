// tsx src/train.ts — train GPT-2 from scratch or fine-tune a pretrained checkpoint.
// A thin CLI over src/train/run.ts; `--help` lists every flag.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import cliProgress from 'cli-progress';
import { train, resolveOptions, Interrupted, TrainingStopped, TRAIN_DEFAULTS, type UI } from './train/run.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, signalStatus, UsageError } from './exit.ts';
import { NoAdapterError } from './gpu/device.ts';
import { MIXES } from './data/index.ts';
import { cliHubOptions, resolveWeights } from './io/hub.ts';
import { rerunOutsideTsxRelay, underTsxRelay } from './train/outside-tsx.ts';

// under `tsx` / `npx tsx`, its parent process would SIGKILL a busy trainer on Ctrl-C (see outside-tsx.ts)
if (underTsxRelay()) await rerunOutsideTsxRelay();

/** "90s", "10m", "1.5h", "600" (seconds) → seconds */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h)?$/.exec(s.trim());
  if (!m) throw new UsageError(`--time ${JSON.stringify(s)}: expected a duration like 90s, 10m or 1.5h`);
  const v = Number(m[1]);
  return m[2] === 'h' ? v * 3600 : m[2] === 'm' || m[2] === 'min' ? v * 60 : v;
}

const argv = yargs(hideBin(process.argv))
  .scriptName('train')
  .usage(
    '$0 [options]\n\nTrain a GPT-2 from scratch on the embedded art-knowledge data (built from WordNet), or fine-tune a pretrained checkpoint.\n\n' +
      'Examples:\n' +
      '  $0 --preset tiny                      a small model that learns visibly in minutes on a CPU\n' +
      '  $0 --model scratch                    the ~35M model (slow on a CPU adapter: see the ETA)\n' +
      '  $0 --model distilgpt2 --time 30m          fine-tune distilgpt2 (from the Hugging Face cache, or downloaded into it)\n' +
      '  $0 --model gpt2 --weights ORG/NAME@REV    any GPT-2-architecture repo on the Hub, or a local directory\n' +
      '  $0 --resume runs/20261125-101500-tiny',
  )
  .option('model', {
    choices: ['scratch', 'distilgpt2', 'gpt2'] as const,
    default: 'scratch' as const,
    describe:
      'architecture; distilgpt2 and gpt2 without --weights fine-tune distilbert/distilgpt2 or openai-community/gpt2 from the Hub',
  })
  .option('weights', {
    type: 'string',
    describe:
      'a Hugging Face GPT-2 directory (config.json + model.safetensors), one of our checkpoints, or a Hub repo ORG/NAME[@REVISION] (cache first, else downloaded)',
  })
  .option('preset', {
    choices: ['tiny', 'full'] as const,
    describe: 'tiny: 4×128 model, T=128, 10-minute budget unless --steps/--epochs/--time',
  })
  .option('layers', { type: 'number', describe: 'override n_layer (from scratch)' })
  .option('width', { type: 'number', describe: 'override n_embd (from scratch)' })
  .option('heads', { type: 'number', describe: 'override n_head (from scratch)' })
  .option('seq', { type: 'number', describe: 'context length T of training rows [default: 256, tiny 128]' })
  .option('data-mix', {
    choices: MIXES,
    default: TRAIN_DEFAULTS.dataMix,
    describe:
      'embedded data: core (the most connected art entities, the default), art (all 749), general (all of WordNet), or mixed (art + general: the motivating failure)',
  })
  .option('vocab', {
    choices: ['compact', 'gpt2'] as const,
    default: TRAIN_DEFAULTS.vocab,
    describe: "from scratch: the GPT-2 tokens of the training text (compact), or all of GPT-2's",
  })
  .option('data', {
    type: 'string',
    array: true,
    describe: 'your own .txt / .jsonl files instead of the embedded data',
  })
  .option('loss-on', {
    choices: ['answer', 'all'] as const,
    default: TRAIN_DEFAULTS.lossOn,
    describe: 'QA examples: loss on answer tokens only, or on all',
  })
  .option('epochs', { type: 'number', describe: 'epochs to train [default: 1]' })
  .option('steps', { type: 'number', describe: 'optimizer steps to train (instead of epochs)' })
  .option('time', {
    type: 'string',
    describe: 'wall-clock budget, e.g. 10m: the schedule is fitted after measuring throughput',
  })
  .option('batch', { type: 'number', describe: 'rows per micro-batch [default: 8, distilgpt2/gpt2 4]' })
  .option('grad-accum', {
    type: 'number',
    default: TRAIN_DEFAULTS.gradAccum,
    describe: 'micro-batches per optimizer step',
  })
  .option('lr', { type: 'number', describe: 'peak learning rate [default: 6e-4; tiny 3e-3; fine-tuning 1e-4]' })
  .option('warmup', { type: 'number', describe: 'linear warmup steps [default: 5% of the steps, at most 200]' })
  .option('schedule', { choices: ['cosine', 'constant'] as const, default: TRAIN_DEFAULTS.schedule })
  .option('weight-decay', {
    type: 'number',
    default: TRAIN_DEFAULTS.weightDecay,
    describe: 'AdamW decoupled weight decay (2-D tensors only)',
  })
  .option('clip', { type: 'number', default: TRAIN_DEFAULTS.clip, describe: 'clip the global gradient norm (0: off)' })
  .option('seed', { type: 'number', default: TRAIN_DEFAULTS.seed, describe: 'initialisation and data-order seed' })
  .option('eval-every', {
    type: 'number',
    describe: 'evaluate (and save latest/) every N steps [default: about 10 times a run]',
  })
  .option('eval-qa', {
    type: 'number',
    default: TRAIN_DEFAULTS.evalQA,
    describe: 'held-out questions answered at each evaluation',
  })
  .option('eval-batches', {
    type: 'number',
    default: TRAIN_DEFAULTS.evalBatches,
    describe: 'validation batches per evaluation',
  })
  .option('save-dir', { type: 'string', describe: 'run directory [default: runs/<date>-<model>]' })
  .option('resume', {
    type: 'string',
    describe: 'continue a run (its directory or a checkpoint in it) with its own schedule and data order',
  })
  .option('json', {
    type: 'boolean',
    default: TRAIN_DEFAULTS.json,
    describe: 'one metrics object per line on stdout (logs go to stderr)',
  })
  .option('batch-file', {
    type: 'string',
    describe: 'a fixed batch {"tokens": [[T+1 ids] x B]} used at every step (verification)',
  })
  .option('lora', {
    type: 'number',
    describe:
      'LoRA: train rank-R adapters on the frozen base (--model/--weights); checkpoints hold them in PEFT format',
  })
  .option('lora-alpha', { type: 'number', describe: 'LoRA scale numerator: updates are (alpha/r)·A·B [default: 8]' })
  .option('lora-dropout', { type: 'number', describe: "dropout on the adapters' input while training [default: 0]" })
  .option('lora-targets', {
    type: 'string',
    array: true,
    describe: 'linears that get adapters: c_attn, c_proj (attention), c_fc, mlp.c_proj [default: c_attn]',
  })
  .option('merge-lora', {
    type: 'boolean',
    describe: 'with --lora: also write merged/, a plain Hugging Face checkpoint with the adapters merged in',
  })
  .option('stop-after', {
    type: 'number',
    describe: 'stop after N steps of this invocation, saving a checkpoint to --resume from',
  })
  .strict()
  .help()
  .fail((msg, err) => {
    console.error(`train: ${err?.message ?? msg}`);
    process.exit(EXIT_USAGE);
  })
  .parseSync();

try {
  // --model distilgpt2 / gpt2 alone names the Hub repo; a resumed run loads its own checkpoint
  const named = argv.weights ?? (argv.model !== 'scratch' ? argv.model : undefined);
  const weights =
    named !== undefined && !argv.resume ? (await resolveWeights(named, cliHubOptions())).dir : argv.weights;
  const o = resolveOptions({
    model: argv.model,
    weights,
    preset: argv.preset,
    layers: argv.layers,
    width: argv.width,
    heads: argv.heads,
    seq: argv.seq,
    dataMix: argv['data-mix'],
    vocab: argv.vocab,
    data: argv.data,
    lossOn: argv['loss-on'],
    epochs: argv.epochs,
    steps: argv.steps,
    time: argv.time !== undefined ? parseDuration(argv.time) : undefined,
    batch: argv.batch,
    gradAccum: argv['grad-accum'],
    lr: argv.lr,
    warmup: argv.warmup,
    schedule: argv.schedule,
    weightDecay: argv['weight-decay'],
    clip: argv.clip,
    seed: argv.seed,
    evalEvery: argv['eval-every'],
    evalQA: argv['eval-qa'],
    evalBatches: argv['eval-batches'],
    saveDir: argv['save-dir'],
    resume: argv.resume,
    json: argv.json,
    batchFile: argv['batch-file'],
    stopAfter: argv['stop-after'],
    loraR: argv.lora,
    loraAlpha: argv['lora-alpha'],
    loraDropout: argv['lora-dropout'],
    loraTargets: argv['lora-targets'],
    mergeLora: argv['merge-lora'],
  });
  // (every numeric flag is checked by train(): validateOptions)

  const bar =
    !argv.json && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format: 'step {value}/{total} |{bar}| epoch {epoch} | loss {loss} | {tps} tok/s | ETA {eta}',
            hideCursor: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  let lastPlain = 0;
  const ui: UI = {
    log: (m) => (argv.json ? console.error(m) : console.log(m)),
    metrics: (obj) => {
      if (argv.json) console.log(JSON.stringify(obj));
    },
    progress: bar
      ? {
          start: (total, at) => bar.start(total, at, { epoch: 0, loss: '-', tps: '-', eta: '?' }),
          update: (at, f) => bar.update(at, f),
          stop: () => bar.stop(),
        }
      : argv.json
        ? undefined
        : {
            // no terminal: a plain line every 10 s
            start: () => {},
            stop: () => {},
            update: (at, f) => {
              if (Date.now() - lastPlain > 10_000) {
                lastPlain = Date.now();
                console.log(`step ${at} | epoch ${f.epoch} | loss ${f.loss} | ${f.tps} tok/s | ETA ${f.eta}`);
              }
            },
          },
  };
  // stopped by Ctrl-C or SIGTERM (having saved): the shell's status for it, as before the first step
  const { stoppedBy } = await train(o, ui);
  process.exit(stoppedBy ? signalStatus(stoppedBy) : EXIT_OK);
} catch (e) {
  if (e instanceof NoAdapterError) {
    console.error(e.message);
    process.exit(EXIT_FAILED);
  }
  if (e instanceof Interrupted) {
    console.error(`train: ${e.message}`);
    process.exit(signalStatus(e.signal));
  }
  console.error(`train: ${(e as Error).message}`);
  if (!(e instanceof TrainingStopped) && !(e instanceof UsageError) && process.env.DEBUG) console.error(e);
  process.exit(e instanceof UsageError ? EXIT_USAGE : EXIT_FAILED);
}

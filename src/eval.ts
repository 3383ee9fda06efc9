// tsx src/eval.ts — perplexity and answer quality of a model, side by side (the student's lesson:
// perplexity alone misleads). A thin CLI over src/train/evaluate.ts and src/probe/diagnose.ts.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import fs from 'node:fs';
import path from 'node:path';
import { init } from './gpu/runtime.ts';
import { NoAdapterError } from './gpu/device.ts';
import { checkRegularFile } from './io/files.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './exit.ts';
import { loadAdapterModel, loadModelAndTokenizer } from './model/load.ts';
import { adapterBase, isAdapterDir } from './io/peft.ts';
import { MIXES, loadDataset, loadUserData, lowerCaseQuestion, type Example, type Mix } from './data/index.ts';
import { evalSets, evaluateModel } from './train/evaluate.ts';
import { cliHubOptions, resolveWeights } from './io/hub.ts';

const argv = yargs(hideBin(process.argv))
  .scriptName('eval')
  .usage(
    "$0 --weights DIR|ORG/NAME[@REV] [options]   or   $0 --model distilgpt2|gpt2\n\nValidation perplexity (held-out phrasings and held-out entities), QA keyword recall on held-out\nquestions with greedy answers, and the probe's prompt-sensitivity verdict.",
  )
  .option('weights', {
    alias: 'w',
    type: 'string',
    describe:
      'a Hugging Face GPT-2 directory, one of our checkpoints (e.g. runs/X/final), or a Hub repo ORG/NAME[@REVISION] (cache first, else downloaded)',
  })
  .option('allow-nonfinite', {
    type: 'boolean',
    default: false,
    describe: 'load NaN, infinite or overflowing weights instead of refusing them (the figures then warn)',
  })
  .option('base', {
    type: 'string',
    describe: "with a LoRA adapter directory: its base model (default: the adapter's base_model_name_or_path)",
  })
  .option('model', {
    choices: ['distilgpt2', 'gpt2'] as const,
    describe: 'distilbert/distilgpt2 or openai-community/gpt2 from the Hub (instead of --weights)',
  })
  .check((a) => {
    if ((a.weights === undefined) === (a.model === undefined))
      throw new Error('give --weights or --model (one of them)');
    return true;
  })
  .option('data-mix', { choices: MIXES, default: 'core' as Mix, describe: 'which embedded validation split' })
  .option('data', { type: 'string', array: true, describe: 'evaluate on your own .txt / .jsonl files instead' })
  .option('seq', { type: 'number', default: 128, describe: 'context length of the validation rows' })
  .option('batches', { type: 'number', default: 16, describe: 'validation batches (8 rows each)' })
  .option('qa', { type: 'number', default: 128, describe: 'held-out questions to answer (0: all)' })
  .option('samples', { type: 'number', default: 5, describe: 'answers to print beside their references' })
  .option('lower-case', {
    type: 'boolean',
    default: false,
    describe: 'ask the held-out questions typed in lower case, as people often type them (answers unchanged)',
  })
  .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
  .strict()
  .help()
  .fail((msg, err) => {
    console.error(`eval: ${err?.message ?? msg}`);
    process.exit(EXIT_USAGE);
  })
  .parseSync();

/** The numeric flags, checked before anything is loaded: each error names the flag and what it allows. */
function validate() {
  const rules: [string, number, boolean, string][] = [
    ['--seq', argv.seq, Number.isInteger(argv.seq) && argv.seq > 0, 'a positive integer'],
    ['--batches', argv.batches, Number.isInteger(argv.batches) && argv.batches > 0, 'a positive integer'],
    ['--qa', argv.qa, Number.isInteger(argv.qa) && argv.qa >= 0, 'a whole number (0: all)'],
    ['--samples', argv.samples, Number.isInteger(argv.samples) && argv.samples >= 0, 'a whole number'],
  ];
  for (const [flag, v, ok, allowed] of rules) if (!ok) throw new UsageError(`${flag} must be ${allowed} (got ${v})`);
}

try {
  validate();
  const { dir } = await resolveWeights((argv.weights ?? argv.model)!, cliHubOptions());
  // a LoRA adapter directory: on its base (--base, else the one its adapter_config.json names)
  const base = isAdapterDir(dir) ? (argv.base ?? adapterBase(dir)) : undefined;
  if (base === '') throw new Error(`--weights ${dir}: a LoRA adapter that names no base model: give it with --base`);
  const baseDir = base === undefined ? undefined : (await resolveWeights(base, cliHubOptions())).dir;
  if (!fs.existsSync(path.join(baseDir ?? dir, 'config.json')))
    throw new Error(`--weights ${baseDir ?? dir}: no config.json there`);
  await init();
  const lo = { allowNonFinite: argv['allow-nonfinite'] };
  const { model, tok } = baseDir ? loadAdapterModel(dir, baseDir, base!, lo) : loadModelAndTokenizer(dir, lo);
  let phr: Example[],
    ent: Example[] = [];
  if (argv.data?.length) {
    argv.data.forEach(checkRegularFile); // (a FIFO would block the read)
    phr = loadUserData(argv.data);
  } else {
    const ds = await loadDataset({ mix: argv['data-mix'], seed: 1234 });
    phr = ds.val.phrasings;
    ent = ds.val.entities;
  }
  if (argv['lower-case']) phr = phr.map(lowerCaseQuestion);
  // the trainer's evaluation (src/train/evaluate.ts), on 8-row batches with a fixed order
  const T = Math.min(argv.seq, model.config.n_positions);
  const sets = evalSets(
    tok,
    { phrasings: phr, entities: ent },
    { T, B: 8, seed: 1, batches: argv.batches, qa: argv.qa > 0 ? argv.qa : Number.POSITIVE_INFINITY, lossOn: 'answer' },
  );
  const ev = await evaluateModel(model, tok, sets, { topK: 10 });
  if (!Number.isFinite(ev.val_loss))
    console.error(
      `eval: warning: the validation loss is ${ev.val_loss}: the weights of ${argv.weights} overflow float32, so the figures below mean nothing`,
    );
  const out = { weights: argv.weights ?? argv.model, val_loss_unseen: null, val_ppl_unseen: null, ...ev };
  if (argv.json) console.log(JSON.stringify(out, null, 2));
  else {
    const pct = (x: number | undefined) => `${(100 * (x ?? Number.NaN)).toFixed(0)}%`;
    if (ev.val_loss !== undefined)
      console.log(
        `perplexity (held-out phrasings, answer tokens): ${ev.val_ppl!.toFixed(2)}   (loss ${ev.val_loss.toFixed(3)} over ${ev.val_targets} targets)`,
      );
    if (ev.val_loss_unseen !== undefined)
      console.log(
        `perplexity (held-out entities, all tokens):    ${ev.val_ppl_unseen!.toFixed(2)}   (loss ${ev.val_loss_unseen.toFixed(3)})`,
      );
    if (ev.qa_samples)
      console.log(
        `QA on ${sets.qa.length} held-out questions: keyword recall ${pct(ev.qa_keyword_recall)}, ${(100 * ev.qa_recall_lift!).toFixed(0)} points above its shuffled baseline of ${pct(ev.qa_recall_baseline)} (the recall that other entities' answers get: a constant answer scores exactly the baseline); ${pct(ev.qa_on_topic)} on topic; answer starts right ${pct(ev.qa_start_right)}`,
      );
    for (const s of (ev.qa_samples ?? []).slice(0, argv.samples))
      console.log(
        `  ${JSON.stringify(s.prompt)}${s.onTopic ? '' : '  (off topic)'}\n    model:     ${JSON.stringify(s.answer.slice(0, 140))}\n    reference: ${JSON.stringify(s.reference.slice(0, 140))}`,
      );
    if (ev.verdict !== undefined) {
      console.log(
        `prompt sensitivity: mean KL ${ev.prompt_sensitivity!.toFixed(3)} nats from the null prompt; function words ${pct(ev.function_word_share)} of top-10 mass`,
      );
      console.log(`verdict: ${ev.verdict}`);
    }
  }
  process.exit(EXIT_OK);
} catch (e) {
  if (e instanceof NoAdapterError) {
    console.error(e.message);
    process.exit(EXIT_FAILED);
  }
  console.error(`eval: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? EXIT_USAGE : EXIT_FAILED);
}

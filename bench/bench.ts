// npm run bench — run the bench sections and print one table per section.
//
// A section is a module in bench/ exporting `async function run(opts: BenchOpts): Promise<Row[]>`
// (Row from bench/harness.ts). To add one, add a line to SECTIONS below.
//
//   npm run bench                          every section
//   npm run bench -- --only matmul         some sections (comma-separated)
//   npm run bench -- --quick               fewer shapes and repetitions
//   npm run bench -- --json                also write bench/results/<date>-<adapter>.json (with the CPU model)
//   npm run bench -- --peers               also time the same work in other libraries (matmul: tfjs-webgpu, jax-js-webgpu, torch.mm;
//                                          model: PyTorch; mlp: jax-js-webgpu)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { init, sync } from '../src/gpu/runtime.ts';
import { trimPool } from '../src/gpu/tensor.ts';
import { trimTexturePool } from '../src/gpu/texture.ts';
import { NoAdapterError } from '../src/gpu/device.ts';
import { parseDriver, describeDriver } from '../src/gpu/driver.ts';
import { cpuInfo, describeCpu } from '../src/gpu/cpu.ts';
import type { BenchOpts, Row } from './harness.ts';

type Section = { run: (opts: BenchOpts) => Promise<Row[]> };

// name -> module; the order here is the order they run in
const SECTIONS: Record<string, () => Promise<Section>> = {
  matmul: () => import('./matmul.ts'),
  transformer: () => import('./transformer.ts'),
  model: () => import('./model.ts'),
  mlp: () => import('./mlp.ts'),
};

const HERE = path.dirname(fileURLToPath(import.meta.url));

const argv = yargs(hideBin(process.argv))
  .scriptName('bench')
  .usage(
    `$0 [--only SECTION[,SECTION]] [--quick] [--json] [--peers]\n\nRun the benchmark sections (${Object.keys(SECTIONS).join(', ')}) on this machine's WebGPU adapter and print their tables.`,
  )
  .option('only', { type: 'string', describe: `comma-separated sections to run (${Object.keys(SECTIONS).join(', ')})` })
  .option('quick', { type: 'boolean', default: false, describe: 'fewer shapes and repetitions' })
  .option('json', {
    type: 'boolean',
    default: false,
    describe:
      'also write the rows, adapter, driver (Mesa/LLVM version), CPU and date to bench/results/<date>-<adapter>.json',
  })
  .option('peers', {
    type: 'boolean',
    default: false,
    describe:
      'also time peer libraries (matmul: tfjs-backend-webgpu and jax-js on the same adapter, torch.mm on the CPU; model: PyTorch on the CPU; mlp: jax-js)',
  })
  .check((a) => {
    const bad = (a.only ?? '').split(',').filter((s) => s && !(s in SECTIONS));
    if (bad.length) throw new Error(`unknown section ${bad.join(', ')} (known: ${Object.keys(SECTIONS).join(', ')})`);
    return true;
  })
  .example('$0 --only matmul --peers', 'matmul only, with tfjs-webgpu, jax-js-webgpu and torch.mm beside it')
  .wrap(Math.min(100, process.stdout.columns || 100))
  .strict()
  .help()
  .parseSync();

// ---------------------------------------------------------------- table
function fmt(v: number | undefined, digits = 1): string {
  if (v === undefined || !Number.isFinite(v)) return '';
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 100) return v.toFixed(Math.min(digits, 1));
  return v.toFixed(Math.abs(v) < 1 ? Math.max(digits, 2) : digits);
}

/** ours / peer, the figure the table's "x <peer>" columns and the JSON's oursOverPeer give */
const ratio = (ours: number, peer: number) => (peer > 0 ? ours / peer : undefined);

function printTable(section: string, rows: Row[]) {
  // two columns per peer library (its figure, then ours / its), in the order the rows name them
  const peerNames = [...new Set(rows.flatMap((r) => (r.peers ?? []).map((p) => p.name)))];
  const head = [
    'kernel',
    'shape',
    'median ms',
    'value',
    'unit',
    'baseline',
    'x base',
    ...peerNames.flatMap((n) => [n, `x ${n}`]),
    'note',
  ];
  const body = rows.map((r) => [
    r.name,
    r.shape,
    fmt(r.ms, 2),
    fmt(r.value),
    r.unit,
    r.baseline ? `${fmt(r.baseline.value, 2)} (${r.baseline.name})` : '',
    r.baseline && r.baseline.value > 0 ? `${fmt(r.value / r.baseline.value)}x` : '',
    ...peerNames.flatMap((n) => {
      const p = r.peers?.find((q) => q.name === n);
      const x = p && ratio(r.value, p.value);
      return [p ? fmt(p.value, 2) : '', x !== undefined ? `${fmt(x)}x` : ''];
    }),
    r.note ?? '',
  ]);
  // drop columns nobody filled
  const keep = head.map((_, i) => i < 5 || body.some((b) => b[i] !== ''));
  const cols = head.map((h, i) => [h, ...body.map((b) => b[i])]).filter((_, i) => keep[i]);
  const width = cols.map((c) => Math.max(...c.map((x) => x.length)));
  const numeric = new Set(['median ms', 'value', 'x base', ...peerNames.flatMap((n) => [n, `x ${n}`])]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(cols[i][0]) ? c.padStart(width[i]) : c.padEnd(width[i])))
      .join('  ')
      .trimEnd();
  console.log(`\n== ${section}`);
  console.log(line(cols.map((c) => c[0])));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (let r = 0; r < rows.length; r++) console.log(line(cols.map((c) => c[r + 1])));
}

// ---------------------------------------------------------------- main
try {
  const g = await init();
  const names = argv.only ? argv.only.split(',').filter(Boolean) : Object.keys(SECTIONS);
  const opts: BenchOpts = { quick: argv.quick, peers: argv.peers };
  const cpu = cpuInfo();
  const driver = parseDriver(g.info);
  console.log(
    `adapter: ${g.info.description || g.info.device} (${g.info.vendor}/${g.info.architecture}${g.info.isSoftware ? ', software' : ''})`,
  );
  if (describeDriver(driver)) console.log(`driver: ${describeDriver(driver)}`);
  console.log(`cpu: ${describeCpu(cpu)}`);
  const all: Row[] = [];
  const failed: string[] = [];
  const seconds: Record<string, number> = {};
  const tRun = performance.now();
  for (const name of names) {
    // each section starts with empty pools: what an earlier section kept is not its memory
    await sync();
    trimPool();
    trimTexturePool();
    const t0 = performance.now();
    try {
      const rows = await (await SECTIONS[name]()).run(opts);
      printTable(`${name} (${((performance.now() - t0) / 1000).toFixed(0)} s)`, rows);
      all.push(...rows.map((r) => ({ ...r, section: r.section || name })));
    } catch (e) {
      failed.push(name);
      console.error(`\n== ${name}: failed: ${e instanceof Error ? (e.stack ?? e.message) : e}`);
    }
    seconds[name] = (performance.now() - t0) / 1000;
  }
  const total = (performance.now() - tRun) / 1000;
  console.log(
    `\nsection wall times: ${Object.entries(seconds)
      .map(([n, s]) => `${n} ${s.toFixed(0)} s`)
      .join(', ')}; all ${total.toFixed(0)} s`,
  );
  if (argv.json) {
    const date = new Date().toISOString().slice(0, 10);
    const slug = `${g.info.description || g.info.device || g.info.vendor}`
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60);
    const file = path.join(HERE, 'results', `${date}-${slug}.json`);
    // keep other sections' rows from an earlier run today
    let old: { rows?: Row[] } = {};
    try {
      old = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      /* none */
    }
    const ran = new Set(names);
    const rows = [...(old.rows ?? []).filter((r) => !ran.has(r.section)), ...all];
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // each peer also gets oursOverPeer; one row per line, figures to 4 significant digits (runs vary far more)
    const round4 = (_: string, v: unknown) =>
      typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v;
    const stored = rows.map((r) =>
      r.peers ? { ...r, peers: r.peers.map((p) => ({ ...p, oursOverPeer: ratio(r.value, p.value) })) } : r,
    );
    const head = JSON.stringify(
      {
        date: new Date().toISOString(),
        adapter: g.info,
        driver,
        cpu,
        node: process.version,
        command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
        seconds: {
          ...Object.fromEntries(Object.entries(seconds).map(([n, s]) => [n, Math.round(s)])),
          all: Math.round(total),
        },
      },
      null,
      1,
    ).slice(0, -2);
    fs.writeFileSync(
      file,
      `${head},\n "rows": [\n${stored.map((r) => `  ${JSON.stringify(r, round4)}`).join(',\n')}\n ]\n}\n`,
    );
    console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
  }
  process.exit(failed.length ? 1 : 0);
} catch (e) {
  if (e instanceof NoAdapterError) {
    console.error(e.message);
    process.exit(2);
  }
  throw e;
}

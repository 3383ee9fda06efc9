// ARCHITECTURE.md's layer rules, checked on every import under src/ (type-only ones included).
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.join(import.meta.dirname, '..', 'src');

/** A file's layer rank, as ARCHITECTURE.md's table gives it. */
function rank(rel: string): number {
  if (['motivation.ts', 'rng.ts', 'exit.ts', 'model/config.ts'].includes(rel) || rel.startsWith('ref/')) return 0;
  if (!rel.includes('/')) return 7;
  const dir = rel.split('/')[0];
  const r = (
    { gpu: 1, io: 1, report: 1, ops: 2, data: 2, tape: 3, model: 4, probe: 5, train: 6 } as Record<string, number>
  )[dir];
  if (r === undefined) throw new Error(`src/${rel}: its directory has no layer in ARCHITECTURE.md`);
  return r;
}

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) =>
      d.isDirectory() ? files(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : [],
    );
}

/** The relative imports of a file's text (static, dynamic and re-exports), resolved to paths. */
function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm))
    out.push(path.resolve(path.dirname(file), m[1]));
  return out;
}

const graph = new Map<string, string[]>();
for (const f of files(SRC))
  graph.set(
    path.relative(SRC, f),
    importsOf(f, fs.readFileSync(f, 'utf8')).map((p) => path.relative(SRC, p)),
  );

describe('architecture (ARCHITECTURE.md)', () => {
  it('finds the imports it checks', () => {
    expect(
      importsOf(
        '/x/a/b.ts',
        "import { y } from '../c.ts';\nimport type { Z } from './z.ts';\nexport { w } from './w.ts';\nconst m = await import('../m.ts');",
      ),
    ).toEqual(['/x/c.ts', '/x/a/z.ts', '/x/a/w.ts', '/x/m.ts']);
    expect(graph.get('train/run.ts')).toContain('probe/diagnose.ts');
  });

  it('every import goes to the same layer or a lower one, and stays inside src/', () => {
    const bad: string[] = [];
    for (const [from, tos] of graph) {
      for (const to of tos) {
        if (to.startsWith('..')) bad.push(`src/${from} imports ${to} (outside src/)`);
        else if (!graph.has(to)) bad.push(`src/${from} imports src/${to}, which does not exist`);
        else if (rank(to) > rank(from))
          bad.push(`src/${from} (rank ${rank(from)}) imports src/${to} (rank ${rank(to)})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no import cycles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of graph.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });
});

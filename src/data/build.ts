// The embedded default training data: built from WordNet at first use, cached as JSON.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tokenizer, getTokenizer } from '../io/tokenizer.ts';
import { MOTIVATING_ENTITIES } from '../motivation.ts';
import { type Entity, type Kind, type Pick, makeEntities, selectArt, selectCore, selectGeneral } from './entities.ts';
import { hash32 } from './rng.ts';
import { type QA, type RenderCtx, VAL_PHRASINGS, renderEntity, renderGroups } from './render.ts';
import { type Example, qaExample, textExample } from './types.ts';
import { WordNet } from './wordnet.ts';

export type Mix = 'core' | 'art' | 'general' | 'mixed';
/** every mix, for CLI choices: `core` is the main job's default */
export const MIXES: readonly Mix[] = ['core', 'art', 'general', 'mixed'];

/**
 * Core mix: noisy copies (render.ts, `noisy`) of a training question per (entity, intent). On the
 * main job's budget, 8 copies and one rendering of each entity's prose measured best of the
 * settings tried (README, "Why the main job now works").
 */
const CORE_NOISY_COPIES = 8;

/** Bump when the builder's output format changes; it names the cache file, with BUILDER_HASH. */
export const DATA_VERSION = 'v2';

/** A hash of the builder's own source files, so any change to them also invalidates old caches. */
export const BUILDER_HASH = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  const parts = [
    'wordnet.ts',
    'gloss.ts',
    'entities.ts',
    'render.ts',
    'build.ts',
    'types.ts',
    'rng.ts',
    '../motivation.ts',
  ].map((f) => {
    try {
      return readFileSync(join(here, f), 'utf8');
    } catch {
      return f;
    }
  });
  return hash32(...parts)
    .toString(16)
    .padStart(8, '0');
})();
const VERSION = `${DATA_VERSION}-${BUILDER_HASH}`;

export interface BuildOptions {
  mix?: Mix;
  seed?: number;
  /** fraction of entities held out for validation (none of their facts in training) */
  heldOutFraction?: number;
  /** probability that an applicable (entity, intent) also yields a held-out-phrasing QA */
  valRate?: number;
  /** general mix size as a multiple of the art mix's entity count */
  generalRatio?: number;
  wordnetDir?: string;
  /** reuse entities selected by an earlier build in this process (default true; they are never mutated) */
  memo?: boolean;
}

export interface SplitStats {
  examples: number;
  passages: number;
  qa: number;
  /** r50k_base tokens, <|endoftext|> included; absent when no tokenizer was given */
  tokens?: number;
}

export interface DataStats {
  version: string;
  mix: Mix;
  seed: number;
  entities: {
    total: number;
    art: number;
    general: number;
    byKind: Record<Kind, number>;
    /** entities held out (their facts only in val.entities) */
    heldOut: number;
    /** candidates dropped because their name occurred in some training text anyway */
    heldOutDropped: number;
  };
  phrasings: { train: number; val: number };
  train: SplitStats;
  valPhrasings: SplitStats;
  valEntities: SplitStats;
  buildMs: number;
}

export interface Dataset {
  version: string;
  mix: Mix;
  seed: number;
  train: Example[];
  val: {
    /** QA in held-out phrasings about entities seen in training */
    phrasings: Example[];
    /** passages and QA about held-out entities */
    entities: Example[];
  };
  heldOut: {
    /** display names of the held-out entities */
    entities: string[];
    /** question templates used only in validation */
    phrasings: string[];
  };
  stats: DataStats;
}

/** the two facts the project's motivating failure asked about (src/motivation.ts): both always in training */
export { MOTIVATING_ENTITIES };

const DEFAULTS = { mix: 'art' as Mix, seed: 1234, heldOutFraction: 0.08, valRate: 0.35, generalRatio: 2 };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const wordnets = new Map<string, WordNet>();
const entityMemo = new Map<string, { picks: Pick[]; entities: Entity[] }>();
function getWordNet(dir?: string): WordNet {
  const key = dir ?? '';
  let wn = wordnets.get(key);
  if (!wn) {
    wn = new WordNet(dir);
    wordnets.set(key, wn);
  }
  return wn;
}

/** Which of `names` occur as whole words (case-insensitive) in `text`; lowercased names. */
function namesMentioned(text: string, names: string[]): Set<string> {
  const found = new Set<string>();
  const uniq = [...new Set(names.map((n) => n.toLowerCase()))].sort((a, b) => b.length - a.length);
  if (!uniq.length) return found;
  const esc = uniq.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // longest first, so a name that is a prefix of another does not hide it; overlapping matches
  // are found by restarting one character after each match start
  const re = new RegExp(`(?<![a-z0-9])(?:${esc.join('|')})(?![a-z0-9])`, 'gi');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    found.add(m[0].toLowerCase());
    re.lastIndex = m.index + 1;
  }
  return found;
}

export function namesOf(e: Entity): string[] {
  return [e.name, ...(e.short ? [e.short] : []), ...e.aliases];
}

function qaToExample(q: QA): Example {
  return qaExample(q.question, q.answer, { entity: q.entity, template: q.template });
}

export function buildDataset(options: BuildOptions = {}): Dataset {
  const t0 = performance.now();
  const o = { ...DEFAULTS, ...options };
  const wn = getWordNet(o.wordnetDir);
  const isCommonWord = (w: string) =>
    wn.lookup(w).some((off) => {
      const s = wn.get(off);
      return !!s && !(s.lexFile === 18 && s.ptrs.some((p) => p.sym === '@i'));
    });

  // art entities are always built: the general mix is sized from them and excludes them
  const memo = o.memo ?? true;
  const artKey = `art|${o.wordnetDir ?? ''}`;
  let art = memo ? entityMemo.get(artKey) : undefined;
  if (!art) {
    const artPicks = selectArt(wn);
    art = { picks: artPicks, entities: makeEntities(wn, artPicks, isCommonWord) };
    entityMemo.set(artKey, art);
  }
  const artEntities = art.entities;
  let generalEntities: Entity[] = [];
  if (o.mix !== 'art') {
    const genKey = `general|${o.wordnetDir ?? ''}|${o.seed}|${o.generalRatio}`;
    let gen = memo ? entityMemo.get(genKey) : undefined;
    if (!gen) {
      const exclude = new Set(art.picks.map((p) => p.offset));
      const names = new Set(artEntities.map((e) => e.key));
      const picks = selectGeneral(wn, Math.round(artEntities.length * o.generalRatio), o.seed, exclude, names);
      gen = { picks, entities: makeEntities(wn, picks, isCommonWord) };
      entityMemo.set(genKey, gen);
    }
    generalEntities = gen.entities;
  }
  // the core mix renders its few entities against the whole art domain (so relations to other
  // art entities still read naturally); it trains on the core only
  const entities =
    o.mix === 'art' || o.mix === 'core'
      ? artEntities
      : o.mix === 'general'
        ? generalEntities
        : [...artEntities, ...generalEntities];
  const core = o.mix === 'core' ? new Set(selectCore(artEntities, MOTIVATING_ENTITIES).map((e) => e.key)) : null;
  const byKey = new Map(entities.map((e) => [e.key, e]));

  // held-out entities: a hash of (seed, key), so an entity is held out in every mix or in none
  const hidden = new Set<string>();
  for (const e of entities) {
    if (MOTIVATING_ENTITIES.includes(e.key) || core?.has(e.key)) continue;
    if (hash32(o.seed, 'heldout', e.key) / 2 ** 32 < o.heldOutFraction) hidden.add(e.key);
  }
  // core: every entity asked in every training phrasing, and in a held-out phrasing for every intent
  const ctx: RenderCtx = core
    ? { byKey, hidden, valRate: 1, allPhrasings: core, wrapped: true, noisy: CORE_NOISY_COPIES }
    : { byKey, hidden, valRate: o.valRate, allPhrasings: new Set(MOTIVATING_ENTITIES) };
  const trained = core ? entities.filter((e) => core.has(e.key)) : entities.filter((e) => !hidden.has(e.key));

  const train: Example[] = [];
  const valPhrasings: Example[] = [];
  for (const e of trained) {
    const r = renderEntity(e, ctx, o.seed, false);
    for (const p of new Set(r.passages)) train.push(textExample(p, { entity: e.key }));
    for (const q of r.qa) train.push(qaToExample(q));
    for (const q of r.valQa) valPhrasings.push(qaToExample(q));
  }
  const groups = renderGroups(trained, ctx, o.seed);
  groups.passages.forEach((p, i) => train.push(textExample(p, { entity: `group:${groups.keys[i].join(',')}` })));
  for (const q of groups.qa) train.push(qaToExample(q));
  for (const q of groups.valQa) valPhrasings.push(qaToExample(q));

  // held-out entities whose names occur in training text anyway (another gloss names them) are
  // dropped: their facts would not be unseen. One pass of one regex over all training text.
  const leaked = namesMentioned(
    train.map((x) => x.text).join('\n'),
    entities.filter((e) => hidden.has(e.key)).flatMap(namesOf),
  );
  const valEntities: Example[] = [];
  const heldOutNames: string[] = [];
  let dropped = 0;
  for (const e of entities) {
    if (!hidden.has(e.key)) continue;
    if (namesOf(e).some((n) => leaked.has(n.toLowerCase()))) {
      dropped++;
      continue;
    }
    heldOutNames.push(e.name);
    const r = renderEntity(e, ctx, o.seed, true);
    for (const p of r.passages) valEntities.push(textExample(p, { entity: e.key }));
    for (const q of [...r.qa, ...r.valQa]) valEntities.push(qaToExample(q));
  }
  // a held-out-phrasing QA asked in training too (cannot happen by construction) is dropped
  const trainPrompts = new Set(train.map((x) => x.prompt).filter(Boolean));
  const vp = valPhrasings.filter((x) => !trainPrompts.has(x.prompt));

  const count = (xs: Example[]): SplitStats => ({
    examples: xs.length,
    passages: xs.filter((x) => x.kind === 'text').length,
    qa: xs.filter((x) => x.kind === 'qa').length,
  });
  const byKind = { person: 0, movement: 0, concept: 0, instance: 0 } as Record<Kind, number>;
  const counted = core ? [...trained, ...entities.filter((e) => hidden.has(e.key))] : entities;
  for (const e of counted) byKind[e.kind]++;
  const usedTrain = new Set(train.filter((x) => x.template && !x.template.startsWith('group.')).map((x) => x.template));
  const usedVal = new Set(vp.filter((x) => x.template && !x.template.startsWith('group.')).map((x) => x.template));
  const stats: DataStats = {
    version: VERSION,
    mix: o.mix,
    seed: o.seed,
    entities: {
      total: counted.length,
      art: counted.filter((e) => e.domain === 'art').length,
      general: counted.filter((e) => e.domain === 'general').length,
      byKind,
      heldOut: heldOutNames.length,
      heldOutDropped: dropped,
    },
    phrasings: { train: usedTrain.size, val: usedVal.size },
    train: count(train),
    valPhrasings: count(vp),
    valEntities: count(valEntities),
    buildMs: 0,
  };
  const ds: Dataset = {
    version: VERSION,
    mix: o.mix,
    seed: o.seed,
    train,
    val: { phrasings: vp, entities: valEntities },
    heldOut: { entities: heldOutNames, phrasings: VAL_PHRASINGS.filter((p) => usedVal.has(p)) },
    stats,
  };
  stats.buildMs = Math.round(performance.now() - t0);
  return ds;
}

/** Count tokens of each split into the stats (mutates and returns them). */
export function countTokens(ds: Dataset, tok: Tokenizer): DataStats {
  const n = (xs: Example[]) => xs.reduce((s, x) => s + tok.encode(x.text).length, 0);
  ds.stats.train.tokens = n(ds.train);
  ds.stats.valPhrasings.tokens = n(ds.val.phrasings);
  ds.stats.valEntities.tokens = n(ds.val.entities);
  return ds.stats;
}

export function datasetCachePath(options: BuildOptions = {}, cacheDir = join(REPO_ROOT, 'cache')): string {
  const o = { ...DEFAULTS, ...options };
  const nonDefault =
    o.heldOutFraction !== DEFAULTS.heldOutFraction ||
    o.valRate !== DEFAULTS.valRate ||
    o.generalRatio !== DEFAULTS.generalRatio;
  const tag = nonDefault ? `-${hash32(o.heldOutFraction, o.valRate, o.generalRatio).toString(16)}` : '';
  return join(cacheDir, `data-${o.mix}-s${o.seed}${tag}-${VERSION}.json`);
}

export interface LoadOptions extends BuildOptions {
  cacheDir?: string;
  /** build even if a cached copy exists */
  rebuild?: boolean;
  /** tokenizer for the token counts of a fresh build; default GPT-2's; null: skip counting */
  tokenizer?: Tokenizer | null;
}

/**
 * The dataset for a mix: read from cache/data-<mix>-s<seed>-<version>.json, or built (and cached)
 * on first use. `stats` says what it holds.
 */
export async function loadDataset(options: LoadOptions = {}): Promise<Dataset & { cached: boolean; path: string }> {
  const path = datasetCachePath(options, options.cacheDir);
  if (!options.rebuild && existsSync(path)) {
    const ds = JSON.parse(readFileSync(path, 'utf8')) as Dataset;
    if (ds.version === VERSION) return { ...ds, cached: true, path };
  }
  const ds = buildDataset(options);
  const tok = options.tokenizer === undefined ? getTokenizer() : options.tokenizer;
  if (tok) countTokens(ds, tok);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(ds));
  renameSync(tmp, path);
  return { ...ds, cached: false, path };
}

/** One line per split, for logs. */
export function formatStats(s: DataStats): string {
  const sp = (name: string, x: SplitStats) =>
    `${name}: ${x.passages} passages + ${x.qa} QA${x.tokens !== undefined ? `, ${x.tokens} tokens` : ''}`;
  return [
    `data ${s.mix} ${s.version} seed ${s.seed}: ${s.entities.total} entities (${Object.entries(s.entities.byKind)
      .map(([k, v]) => `${v} ${k}`)
      .join(
        ', ',
      )}), ${s.entities.heldOut} held out; ${s.phrasings.train} training phrasings, ${s.phrasings.val} held-out phrasings; built in ${s.buildMs} ms`,
    sp('  train', s.train),
    sp('  val (new phrasings)', s.valPhrasings),
    sp('  val (held-out entities)', s.valEntities),
  ].join('\n');
}

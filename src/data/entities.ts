// Which WordNet synsets become entities of the art and general mixes, and the relations between
// them that the renderer turns into text.
import { hash32 } from './rng.ts';
import { type ConceptGloss, type PersonGloss, parseConceptGloss, parsePersonGloss } from './gloss.ts';
import { NOUN_LEXFILES, type Synset, type WordNet } from './wordnet.ts';

export type Domain = 'art' | 'general';
export type Kind = 'person' | 'movement' | 'concept' | 'instance';

/** A mention of another synset: its display name, and its entity key when it is one. */
export interface Ref {
  name: string;
  key?: string;
  /** first clause of its gloss (for a person: the head, "Dutch Post-impressionist painter") */
  def?: string;
}

export interface Entity {
  /** lowercase display name: unique within a build */
  key: string;
  domain: Domain;
  kind: Kind;
  /** display name: a person's fullest name ("Vincent van Gogh"), a concept's first lemma */
  name: string;
  /** persons: the short name WordNet lists first ("van Gogh"), when it is distinctive */
  short?: string;
  /** other lemmas ("also called"), concepts and instances only */
  aliases: string[];
  senses: Synset[];
  lexName: string;
  person?: PersonGloss;
  /** one per sense */
  glosses: ConceptGloss[];
  /** persons and instances: the classes they are instances of ("painter"); concepts: hypernyms */
  hypers: Ref[];
  hypos: Ref[];
  /** instances of a class ("painter" → the painters) */
  instances: Ref[];
  /** "X is part of …" (#p) and "… is part of X" (%p) */
  wholes: Ref[];
  parts: Ref[];
  /** substance meronyms: what X is made of */
  madeOf: Ref[];
  /** topic domain ("architecture") from ;c pointers */
  topic?: string;
  /** a noun.person derivation ("Impressionism" → "impressionist") with its gloss */
  practitioner?: { name: string; def: string };
  /** persons: movements / schools their gloss names; movements: their members */
  movements: Ref[];
  members: Ref[];
  /** persons: art terms their gloss names ("noted for his frescoes" → fresco) */
  terms: Ref[];
}

// --- the art domain -----------------------------------------------------------------------------

/** The WordNet 3.1 noun synsets the art domain starts from, by their offsets in data.noun. */
const SYNSET = {
  /** artist, creative person */
  artist: 9831743,
  /** architect, designer */
  architect: 9824898,
  /** art, fine art (the products) */
  fineArt: 2746552,
  /** art, artistic creation, artistic production */
  artCreation: 935235,
  /** fine arts, beaux arts */
  fineArts: 6166666,
  /** architectural style */
  archStyle: 5849878,
  /** artistic movement, art movement */
  artMovement: 8483654,
  /** school (of artists) */
  artSchool: 8292106,
  /** paint, pigment */
  paint: 3880896,
  architecture: 6132970,
  /** photography, picture taking (the act) */
  photography: 905257,
  /** photography (the occupation) */
  photographyOccupation: 621794,
  ceramics: 937062,
  /** classical architecture, Greco-Roman architecture */
  classicalArchitecture: 5850512,
};
/** topic domains whose members are art terms */
const ART_TOPICS = [
  SYNSET.architecture,
  SYNSET.artCreation,
  SYNSET.photography,
  SYNSET.photographyOccupation,
  SYNSET.fineArts,
  SYNSET.ceramics,
  SYNSET.classicalArchitecture,
];
/** instance artifacts of these classes are works of architecture or sculpture */
const WORK_CLASSES =
  /^(palace|temple|skyscraper|memorial|tower|statue|museum|mausoleum|cathedral|amphitheater|shrine|campanile|chapel|synagogue|ziggurat|obelisk|burial chamber|building|figure|formal garden|church|basilica|mosque|monument|tomb|pyramid|castle|abbey)$/;
/** further art-history periods and groups not under the roots above */
const ART_EXTRA_LEMMAS = ['Renaissance', 'Italian Renaissance', 'High Renaissance', 'Bloomsbury Group'];

const ART_KW =
  /\b(works? of art|artworks?|of art|in art|(?:fine|visual|decorative|graphic|plastic|applied|folk|pop|op|modern|abstract|commercial|religious) arts?|art (?:form|history|museum|gallery|galleries|dealer|collector|school|movement|nouveau|deco)|artists?|artistic|paintings?|painters?|sculptures?|sculptors?|sculptured|sculptural|architecture|architectural|architects?|photographs?|photography|photographic|engravings?|etchings?|murals?|watercolou?rs?|portraits?|portraiture|frescoe?s?|mosaics?)\b/;
const ART_NEG =
  /\b(martial arts?|computer|computing|software|medical|medicine|surgery|surgical|x-ray|radiograph\w*|state of the art|black arts?|art of war|rhetoric|self-defense|cooking|cosmetics?|tattoo\w*|legal|military|anatomy|music|musical|poetry|poem|literary|literature|theater|theatre|dance|dancing|film|cinema|weapon|ammunition|fencing|wrestling|singing|songs?|opera|ballet|jazz)\b/i;
/** lexicographer files searched by keyword: act, artifact, attribute, cognition, communication,
 *  group, substance, time */
const KW_LEXFILES = new Set([4, 6, 7, 9, 10, 14, 27, 28]);
const STOP_SUBTREES =
  /^(gastronomy|perfumery|handicraft|dance|choreography|bookbinding|urban planning|topiary|origami|decalcomania|musician)$/i;
const NON_VISUAL_GROUP = /\b(poets?|economists?|philosoph\w*|novelists?|writers only|literary)\b/;

/** art professions that put a person into the art set */
const ART_ROLE =
  /\b(painters?|sculptors?|architects?|photographers?|(?<!recording |trapeze |performing |con |martial |makeup |make-up |striptease |escape |graffiti )artists?|engravers?|illustrators?|cartoonists?|printmakers?|lithographers?|etchers?|draftsman|draughtsman|designers?|potters?|ceramicists?|goldsmiths?|silversmiths?|glassmakers?|muralists?|miniaturists?|portraitists?|caricaturists?|woodcarvers?|mosaicists?|art critics?|art historians?|watercolou?rists?|landscapists?|animators?|cabinetmakers?|furniture maker)\b/i;
const OTHER_ROLE =
  /\b(composer|conductor|pianist|violinist|cellist|singer|soprano|tenor|baritone|guitarist|organist|jazz|musician|songwriter|lyricist|dancer|choreographer|poet|novelist|writer|dramatist|playwright|actor|actress|comedian)\b/i;

export function lexName(s: Synset): string {
  return NOUN_LEXFILES[s.lexFile] ?? `noun.${s.lexFile}`;
}

function closure(wn: WordNet, root: number, stop?: (s: Synset) => boolean): Synset[] {
  const r = wn.get(root);
  if (!r) return [];
  const out: Synset[] = [r];
  const seen = new Set([root]);
  const queue = [r];
  while (queue.length) {
    const s = queue.shift()!;
    for (const t of wn.related(s, '~')) {
      if (seen.has(t.offset)) continue;
      seen.add(t.offset);
      if (stop?.(t)) continue;
      out.push(t);
      queue.push(t);
    }
  }
  return out;
}

const isInstance = (s: Synset) => s.ptrs.some((p) => p.sym === '@i');
const hasDates = (s: Synset) => /\([^()]*\d[^()]*\)\s*$/.test(s.def);
/** a definition headed by "movement" or "style" ("an artistic movement in …", "a style of architecture …") */
const headIsGroup = (s: Synset) =>
  /^(?:an?|the)\s(?:[\w-]+\s){0,3}?(movement|style)\b/i.test(s.def) ||
  (s.lexFile === 28 && /^(?:an?|the)\s(?:[\w-]+\s){0,3}?period\b/i.test(s.def));

export interface Pick {
  offset: number;
  kind: Kind;
  domain: Domain;
}

/** The synsets of the art domain, with their kinds. */
export function selectArt(wn: WordNet): Pick[] {
  const picks = new Map<number, Kind>();
  const add = (s: Synset, kind: Kind) => {
    if (!picks.has(s.offset)) picks.set(s.offset, kind);
  };
  const stop = (s: Synset) => s.words.some((w) => STOP_SUBTREES.test(w));

  // artist classes (painter, sculptor, impressionist, …; musicians excluded) and their instances
  const classes = [...closure(wn, SYNSET.artist, stop), ...closure(wn, SYNSET.architect, stop)];
  const classSet = new Set(classes.map((c) => c.offset));
  for (const c of classes) {
    if (isInstance(c) || (hasDates(c) && /^[A-Z]/.test(c.words[0]))) add(c, 'person');
    else add(c, 'concept');
  }
  // persons: an instance whose class is a visual-art class, or whose gloss names an art profession
  for (const off of wn.offsets((l) => l.startsWith(' 18 n ', 8) && l.includes(' @i '))) {
    const s = wn.get(off)!;
    const inClass = s.ptrs.some((p) => p.sym === '@i' && classSet.has(p.offset));
    const lead = s.def.split(/\s+/).slice(0, 7).join(' ');
    if (ART_ROLE.test(lead) || (inClass && !OTHER_ROLE.test(lead))) add(s, 'person');
  }
  // movements, schools and styles
  const groupStop = (s: Synset) => stop(s) || NON_VISUAL_GROUP.test(s.def);
  for (const root of [SYNSET.artMovement, SYNSET.artSchool, SYNSET.archStyle]) {
    for (const s of closure(wn, root, groupStop)) add(s, s.offset === root ? 'concept' : 'movement');
  }
  // genres, forms, techniques, media, works
  for (const root of [SYNSET.fineArt, SYNSET.artCreation, SYNSET.fineArts]) {
    for (const s of closure(wn, root, stop)) add(s, headIsGroup(s) ? 'movement' : 'concept');
  }
  for (const s of closure(wn, SYNSET.paint, stop)) if (ART_KW.test(s.def) && !ART_NEG.test(s.def)) add(s, 'concept');
  // topic-domain members of architecture, art, photography, fine arts, ceramics
  for (const t of ART_TOPICS) {
    const d = wn.get(t);
    if (!d) continue;
    add(d, 'concept');
    for (const m of wn.related(d, '-c')) add(m, isInstance(m) ? 'instance' : headIsGroup(m) ? 'movement' : 'concept');
  }
  // keyword search of the glosses in a few lexicographer files
  for (const off of wn.offsets((l) => ART_KW.test(l.slice(l.indexOf(' | ') + 3)))) {
    const s = wn.get(off)!;
    // the definition must say it, not just a usage example ("the paintings were delivered in an armored car")
    if (!KW_LEXFILES.has(s.lexFile) || !ART_KW.test(s.def) || ART_NEG.test(s.def) || stop(s)) continue;
    // substances only as artists' materials, not photographic chemistry
    if (s.lexFile === 27 && !/\b(paints?|pigments?|painting|artists?|sculpture|sculptors?)\b/.test(s.def)) continue;
    if (/^(genus|family|order) /.test(s.words[0])) continue;
    if (isInstance(s)) {
      if (s.lexFile === 6) add(s, 'instance');
      continue;
    }
    add(s, headIsGroup(s) ? 'movement' : 'concept');
  }
  // famous buildings and statues
  for (const off of wn.offsets((l) => l.startsWith(' 06 n ', 8) && l.includes(' @i '))) {
    const s = wn.get(off)!;
    if (wn.related(s, '@i').some((c) => WORK_CLASSES.test(c.words[0]))) add(s, 'instance');
  }
  for (const lemma of ART_EXTRA_LEMMAS) {
    const off = wn.lookup(lemma).find((o) => {
      const s = wn.get(o)!;
      return s.lexFile === 28 || s.lexFile === 14 || ART_KW.test(s.def);
    });
    if (off !== undefined) add(wn.get(off)!, 'movement');
  }
  return [...picks.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([offset, kind]) => ({ offset, kind, domain: 'art' as const }));
}

/**
 * A sample of `count` synsets from all noun lexicographer files, excluding `exclude`: persons with
 * dates, and the corpus-attested (sense-tagged) senses of other nouns — so the sample leans towards
 * familiar words rather than WordNet's long tail of genus names. Order is a hash of (seed, offset).
 */
export function selectGeneral(
  wn: WordNet,
  count: number,
  seed: number,
  exclude: Set<number>,
  excludeNames: Set<string>,
): Pick[] {
  const all = wn.offsets().filter((o) => !exclude.has(o));
  const ranked = all.map((o) => [hash32(seed, 'general', o), o] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Pick[] = [];
  const names = new Set<string>();
  for (const [, off] of ranked) {
    if (out.length >= count) break;
    const s = wn.get(off)!;
    if (
      s.def.length < 15 ||
      /\d/.test(s.words[0]) ||
      /^(genus|family|order|class|phylum|division|subclass|suborder|superfamily|subfamily|tribe|superorder|infraorder) /i.test(
        s.words[0],
      )
    )
      continue;
    let kind: Kind;
    if (s.lexFile === 18 && isInstance(s)) {
      if (!hasDates(s)) continue;
      kind = 'person';
    } else if (!wn.isTagged(s)) continue;
    else kind = isInstance(s) ? 'instance' : 'concept';
    const name = displayName(s, kind).toLowerCase();
    if (excludeNames.has(name) || names.has(name)) continue;
    names.add(name);
    out.push({ offset: off, kind, domain: 'general' });
  }
  return out.sort((a, b) => a.offset - b.offset);
}

// --- entities -----------------------------------------------------------------------------------

/** A person's fullest name: the first multi-word lemma containing the first lemma as a word. */
export function displayName(s: Synset, kind: Kind): string {
  const first = s.words[0];
  if (kind !== 'person') return first;
  const esc = first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const multi = s.words.filter((w) => w !== first && w.includes(' '));
  // prefer "Vincent van Gogh" (ends with the first lemma), then any name containing it
  return (
    multi.find((w) => new RegExp(` ${esc}$`).test(w)) ??
    multi.find((w) => new RegExp(`(^| )${esc}($| )`).test(w)) ??
    first
  );
}

/** Build entities from picks: synsets with the same display name are merged as senses. */
export function makeEntities(wn: WordNet, picks: Pick[], isCommonWord: (w: string) => boolean): Entity[] {
  const byKey = new Map<string, Entity>();
  const offsetToKey = new Map<number, string>();
  for (const p of picks) {
    const s = wn.get(p.offset);
    if (!s?.def) continue;
    const name = displayName(s, p.kind);
    const key = name.toLowerCase();
    const e = byKey.get(key);
    if (e) {
      // a second person with the same name is a different person: keep the first only
      if (e.kind === 'person' || p.kind === 'person' || e.senses.length >= 3 || e.domain !== p.domain) continue;
      e.senses.push(s);
      if (p.kind === 'movement') e.kind = 'movement';
      offsetToKey.set(s.offset, key);
      continue;
    }
    const short = p.kind === 'person' && s.words[0] !== name && !isCommonWord(s.words[0]) ? s.words[0] : undefined;
    byKey.set(key, {
      key,
      domain: p.domain,
      kind: p.kind,
      name,
      short,
      aliases: [],
      senses: [s],
      lexName: lexName(s),
      glosses: [],
      hypers: [],
      hypos: [],
      instances: [],
      wholes: [],
      parts: [],
      madeOf: [],
      movements: [],
      members: [],
      terms: [],
    });
    offsetToKey.set(s.offset, key);
  }
  const ref = (t: Synset): Ref => {
    const key = offsetToKey.get(t.offset);
    const name = key ? byKey.get(key)!.name : displayName(t, isInstance(t) && t.lexFile === 18 ? 'person' : 'concept');
    const def = t.lexFile === 18 && isInstance(t) ? parsePersonGloss(t.def).head : parseConceptGloss(t.def).def;
    return key ? { name, key, def } : { name, def };
  };
  const uniq = (rs: Ref[], self: string) => {
    const seen = new Set<string>([self]);
    return rs.filter((r) => {
      const k = r.name.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  for (const e of byKey.values()) {
    // merged senses in WordNet's frequency order for the name
    if (e.senses.length > 1) {
      const order = wn.lookup(e.name);
      const rank = (s: Synset) => order.indexOf(s.offset) + 1 || 1e9;
      e.senses.sort((a, b) => rank(a) - rank(b) || a.offset - b.offset);
    }
    const s0 = e.senses[0];
    const aliases = new Set<string>();
    for (const s of e.senses)
      for (const w of s.words) if (w.toLowerCase() !== e.key && (!e.short || w !== e.short)) aliases.add(w);
    e.aliases = e.kind === 'person' ? [] : [...aliases].filter((a) => !/[()]/.test(a)).slice(0, 4);
    if (e.kind === 'person') {
      e.person = parsePersonGloss(s0.def);
      e.hypers = uniq(wn.related(s0, '@i').map(ref), e.key);
    } else {
      e.glosses = e.senses.map((s) => parseConceptGloss(s.def, s.examples));
      // a "(domain)" tag is kept only when it names a field ("architecture"), not a usage label
      for (const g of e.glosses) if (g.context && !isField(wn, g.context)) g.context = undefined;
      e.hypers = uniq(
        e.senses.flatMap((s) => wn.related(s, e.kind === 'instance' ? '@i' : '@', '@i')).map(ref),
        e.key,
      ).slice(0, 3);
    }
    e.hypos = uniq(e.senses.flatMap((s) => wn.related(s, '~')).map(ref), e.key);
    e.instances = uniq(e.senses.flatMap((s) => wn.related(s, '~i')).map(ref), e.key);
    e.wholes = uniq(e.senses.flatMap((s) => wn.related(s, '#p')).map(ref), e.key).slice(0, 4);
    e.parts = uniq(e.senses.flatMap((s) => wn.related(s, '%p')).map(ref), e.key).slice(0, 8);
    e.madeOf = uniq(e.senses.flatMap((s) => wn.related(s, '%s')).map(ref), e.key).slice(0, 4);
    const topic = wn.related(s0, ';c')[0];
    if (topic) e.topic = topic.words[0];
    for (const s of e.senses) {
      const pr = wn
        .related(s, '+')
        .find((t) => t.lexFile === 18 && !isInstance(t) && t.words[0].toLowerCase() !== e.key);
      if (pr && e.kind !== 'person') {
        e.practitioner = { name: pr.words[0], def: pr.def };
        break;
      }
    }
  }
  const entities = [...byKey.values()];
  linkMovements(entities);
  linkTerms(entities);
  return entities;
}

/**
 * Art terms (techniques, media, genres, forms) a person's gloss names: "noted for his frescoes",
 * "developed the technique of collage". Terms named by more than 8 glosses ("painter", "portrait")
 * say nothing particular and are skipped.
 */
function linkTerms(entities: Entity[]) {
  const terms = entities.filter(
    (e) =>
      e.domain === 'art' && e.kind === 'concept' && e.lexName !== 'noun.person' && /^[a-z][a-z -]{3,}$/.test(e.name),
  );
  const persons = entities.filter((e) => e.domain === 'art' && e.kind === 'person' && e.person);
  const hits = new Map<string, Entity[]>();
  for (const t of terms) {
    const re = new RegExp(`\\b${t.name.replace(/-/g, '\\-')}(s|es)?\\b`, 'i');
    const ps = persons.filter((p) => re.test(p.person!.def));
    if (ps.length && ps.length <= 8) hits.set(t.key, ps);
  }
  for (const [key, ps] of hits) {
    const t = entities.find((e) => e.key === key)!;
    for (const p of ps) if (p.terms.length < 2) p.terms.push({ name: t.name, key, def: t.glosses[0]?.def });
  }
}

const INFLUENCE =
  /(influenc|precursor|forerunner|anticipat|revolt|react|oppos|inspired|before|prior|predecessor|rival)\w*( \w+){0,3} $/;

const USAGE_LABELS =
  /^(slang|informal|formal|plural|usually plural|colloquial|archaic|obsolete|dated|often|usually|sometimes|chiefly|British|Brit|US|figurative|euphemism|offensive|disparaging|vulgar|literary|capitalized|trademark)\b/i;

/** Is a gloss's "(…)" tag a field of knowledge ("architecture", "Greek mythology")? */
function isField(wn: WordNet, tag: string): boolean {
  if (USAGE_LABELS.test(tag)) return false;
  return wn.lookup(tag).some((o) => {
    const s = wn.get(o);
    return !!s && (s.lexFile === 4 || s.lexFile === 9 || s.lexFile === 10);
  });
}

function norm(s: string): string {
  return ` ${s
    .toLowerCase()
    .replace(/([a-z])-([a-z])/g, '$1$2')
    .replace(/[^a-z]+/g, ' ')
    .trim()} `;
}

function forms(name: string): string[] {
  const n = norm(name).trim();
  const out = new Set([n, `${n}s`]);
  if (n.endsWith('ism')) for (const suf of ['ist', 'ists']) out.add(n.slice(0, -3) + suf);
  if (n.endsWith('ist')) {
    out.add(`${n.slice(0, -3)}ism`);
  }
  if (n.endsWith(' art')) {
    out.add(`${n}ist`);
    out.add(`${n}ists`);
  }
  return [...out].filter((f) => f.length >= 5);
}

/**
 * Link persons of the art domain to the movements and -ist classes their glosses name
 * ("Dutch Post-impressionist painter" → Postimpressionist; "German expressionist painter" →
 * expressionism), longest match first; fill in the movements' member lists.
 */
function linkMovements(entities: Entity[]) {
  const keyOf = new Map<string, string>();
  const byKey = new Map(entities.map((e) => [e.key, e]));
  const targets = entities.filter((e) => e.domain === 'art' && e.kind === 'movement');
  // -ist / -ite classes of people ("impressionist", "Pre-Raphaelite", "cubist")
  const classes = entities.filter(
    (e) =>
      e.domain === 'art' &&
      e.kind === 'concept' &&
      e.lexName === 'noun.person' &&
      /(ist|ite)$/i.test(e.name) &&
      /\b(school|movement|adhere\w*|follow\w*|practitioner|advocate|\w+ism|ideals)\b/i.test(e.senses[0].def),
  );
  for (const t of [...targets, ...classes]) {
    const names = [t.name, ...t.aliases, ...(t.practitioner ? [t.practitioner.name] : [])];
    for (const n of names) for (const f of forms(n)) if (!keyOf.has(f)) keyOf.set(f, t.key);
  }
  const keys = [...keyOf.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  for (const p of entities) {
    if (p.kind !== 'person' || p.domain !== 'art' || !p.person) continue;
    let text = norm(p.person.def);
    const found: string[] = [];
    for (const k of keys) {
      const i = text.indexOf(` ${k} `);
      if (i < 0) continue;
      const key = keyOf.get(k)!;
      // "influenced the cubists", "a precursor of Impressionism": an influence, not membership
      const before = text.slice(Math.max(0, i - 40), i + 1);
      if (!INFLUENCE.test(before) && !found.includes(key)) found.push(key);
      text = `${text.slice(0, i)} ${'#'.repeat(k.length)} ${text.slice(i + k.length + 2)}`;
    }
    for (const key of found) {
      const m = byKey.get(key)!;
      p.movements.push({ name: m.name, key, def: m.glosses[0]?.def });
      m.members.push({ name: p.name, key: p.key, def: p.person.head });
    }
  }
}

// --- the core mix --------------------------------------------------------------------------------

/** The core mix's thresholds: the least degree a person or movement needs, and how many concepts. */
export const CORE_RULE = { personDegree: 4, movementDegree: 6, concepts: 12 };

/** Whether a person is a painter or sculptor (their WordNet classes, `@i`). */
const paintsOrCarves = (e: Entity) =>
  e.hypers.some((h) => /^(painter|sculptor|old master)$/.test(h.name.toLowerCase()));

/**
 * The art entities a student asks about first, by one rule over the art graph. An entity's degree
 * counts its links to and from other art entities (movement membership, terms its gloss names,
 * hypernyms, hyponyms, instances, parts and wholes). The core keeps the painters and sculptors of
 * degree >= 4, the movements of degree >= 6, and the 12 concepts of highest degree (ties by
 * name; concepts that name a class of person, such as "painter", are left out: what is asked of
 * them has no particular answer). `always` (the motivating entities) are kept whatever their degree.
 */
export function selectCore(entities: Entity[], always: readonly string[], rule = CORE_RULE): Entity[] {
  const degree = new Map<string, number>(entities.map((e) => [e.key, 0]));
  for (const e of entities) {
    for (const list of [e.members, e.movements, e.terms, e.hypers, e.hypos, e.instances, e.wholes, e.parts]) {
      for (const r of list) {
        if (!r.key || r.key === e.key || !degree.has(r.key)) continue;
        degree.set(r.key, degree.get(r.key)! + 1);
        degree.set(e.key, degree.get(e.key)! + 1);
      }
    }
  }
  const deg = (e: Entity) => degree.get(e.key)!;
  const keep = new Set(always);
  for (const e of entities) {
    if (e.domain !== 'art') continue;
    if (e.kind === 'person' && deg(e) >= rule.personDegree && paintsOrCarves(e)) keep.add(e.key);
    if (e.kind === 'movement' && deg(e) >= rule.movementDegree) keep.add(e.key);
  }
  const concepts = entities
    .filter((e) => e.domain === 'art' && e.kind === 'concept' && e.lexName !== 'noun.person')
    .sort((a, b) => deg(b) - deg(a) || (a.key < b.key ? -1 : 1));
  for (const e of concepts.slice(0, rule.concepts)) keep.add(e.key);
  return entities.filter((e) => keep.has(e.key));
}

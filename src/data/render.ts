// Entities → text: prose passages that join related facts, and question–answer pairs asked in many
// phrasings. Every answer restates a WordNet gloss (or a relation) as full sentences.
//
// Question phrasings are grouped by intent (what is asked: a definition, a person's dates, …). Each
// intent has training phrasings and held-out phrasings; a held-out phrasing never appears in
// training, so validation can test questions phrased in new ways about facts the model has seen.
import type { Entity, Ref } from './entities.ts';
import {
  article,
  cap,
  defIsNounPhrase,
  findPeriod,
  findPlace,
  joinList,
  predicateSentence,
  sentence,
  withArticle,
} from './gloss.ts';
import { Rng } from './rng.ts';

export interface QA {
  question: string;
  answer: string;
  /** the phrasing (question template) it was made from */
  template: string;
  entity: string;
}

export interface Rendered {
  passages: string[];
  qa: QA[];
  /** QA in held-out phrasings */
  valQa: QA[];
}

export interface RenderCtx {
  byKey: Map<string, Entity>;
  /** entity keys that must not be mentioned (held-out entities, when rendering training text) */
  hidden: Set<string>;
  /** probability that an applicable intent also yields a held-out-phrasing QA */
  valRate: number;
  /** entities asked about in every training phrasing (the motivating facts) */
  allPhrasings?: Set<string>;
  /** also ask each intent once more inside a conversational wrapper (WRAPPERS): the core mix */
  wrapped?: boolean;
  /** with `wrapped`: noisy copies (see noisy) of a training question per intent, in training text only */
  noisy?: number;
}

// --- names and small pieces ---------------------------------------------------------------------

const THE_CLASSES =
  /\b(palace|temple|tower|museum|mausoleum|cathedral|chapel|church|memorial|monument|statue|abbey|bridge|canal|river|ocean|sea|gallery|library|building|skyscraper|castle|fortress|amphitheater|campanile|shrine|obelisk|ziggurat|desert|mountain range|range|strait|gulf|bay|ship|dam|peninsula|archipelago|islands|lake|channel|hall|theater|wall)\b/;
/** "the Parthenon": instances of buildings, rivers, seas take "the", except names like "St. Paul's". */
function instanceName(e: Entity): string {
  if (
    e.kind !== 'instance' ||
    /^(the |St\.? |Saint |San |Santa |Notre |Stonehenge|Westminster|Lake |Mount )/i.test(e.name) ||
    /'s\b/.test(e.name)
  )
    return e.name;
  return /^[A-Z]/.test(e.name) && THE_CLASSES.test(e.hypers[0]?.name ?? '') ? `the ${e.name}` : e.name;
}

/** Countable common nouns whose gloss starts "a …" are asked about as "a fresco". */
function countableName(name: string, def: string | undefined): boolean {
  return (
    /^[a-z]/.test(name) &&
    !/(s|ism|ics|ing|ure|ry|ity|ness|ion)$/.test(name) &&
    /^(a|an|someone|somebody|one who)\b/.test(def ?? '') &&
    !/^an? (school|movement|style|group|genre)\b/.test(def ?? '')
  );
}
function countable(e: Entity): boolean {
  return e.kind === 'concept' && e.glosses.length > 0 && e.glosses.every((g) => countableName(e.name, g.def));
}
/** a mentioned concept as a subject: "A cyma recta", "Photography" */
function refSubject(r: Ref): string {
  return cap(countableName(r.name, r.def) ? `${article(r.name)} ${r.name}` : r.name);
}

/** a mentioned thing with an article unless it is a proper name */
function refNP(name: string): string {
  return /^[A-Z]/.test(name) ? name : withArticle(name);
}

/** names of schools, groups and periods take "the": "the Renaissance", "the Ashcan School" */
export function groupName(name: string): string {
  return /^[A-Z]/.test(name) &&
    /(School|school|Group|Renaissance|period|era|Ages|Wave|Brotherhood|Bauhaus|Eight)$/.test(name)
    ? `the ${name}`
    : name;
}

/** the name in running text (mid-sentence) */
export function nameOf(e: Entity): string {
  return e.kind === 'instance' ? instanceName(e) : e.kind === 'movement' ? groupName(e.name) : e.name;
}
/** the name as a question object: "a fresco", "Impressionism", "the Parthenon" */
function qname(e: Entity): string {
  return countable(e) ? `${article(e.name)} ${e.name}` : nameOf(e);
}
/** the name as a sentence subject (capitalised) */
function subject(e: Entity): string {
  return cap(qname(e));
}

export function plural(noun: string): string {
  const of = noun.indexOf(' of ');
  if (of > 0) return plural(noun.slice(0, of)) + noun.slice(of);
  if (/(man)$/.test(noun)) return noun.replace(/man$/, 'men');
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(noun)) return `${noun}es`;
  return `${noun}s`;
}

function visible(refs: Ref[], ctx: RenderCtx, full: boolean): Ref[] {
  return full ? refs : refs.filter((r) => !r.key || !ctx.hidden.has(r.key));
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

function yearNum(y?: string): number | undefined {
  if (!y || /BC/.test(y)) return undefined;
  const n = parseInt(y, 10);
  return Number.isFinite(n) ? n : undefined;
}

/** the century a person was mostly active in ("17th century"), from the dates */
export function personCentury(e: Entity): string | undefined {
  const l = e.person?.life;
  if (!l) return undefined;
  const b = yearNum(l.born);
  const d = yearNum(l.died);
  const mid =
    b !== undefined && d !== undefined ? (b + d) / 2 : b !== undefined ? b + 30 : d !== undefined ? d - 20 : undefined;
  if (mid === undefined) return l.century;
  return `${ordinal(Math.floor(mid / 100) + 1)} century`;
}

function datesParen(e: Entity): string {
  const t = e.person?.life?.text;
  return t ? ` (${t})` : '';
}

// --- person facts as sentences ------------------------------------------------------------------

function be(e: Entity): string {
  return e.person?.living ? 'is' : 'was';
}

/** "a Dutch Post-impressionist painter" */
function personHead(e: Entity, whole = false): string {
  const p = e.person!;
  const np = whole ? p.first : p.head;
  const ctx = p.context ? `, in ${p.context},` : '';
  return ctx ? np : withArticle(np);
}

function identitySentence(e: Entity, r: Rng, subj = e.name, whole = r.chance(0.5)): string {
  const p = e.person!;
  if (p.context) return sentence(`In ${p.context}, ${subj} ${be(e)} ${withArticle(whole ? p.first : p.head)}`);
  return sentence(`${subj} ${be(e)} ${personHead(e, whole)}`);
}

function possessive(subj: string): string {
  const p: Record<string, string> = { he: 'his', she: 'her', He: 'His', She: 'Her' };
  return p[subj] ?? `${subj}'s`;
}

function lifeSentence(e: Entity, r: Rng, subj = e.name): string | undefined {
  const l = e.person?.life;
  if (!l) return undefined;
  const about = l.approx ? 'about ' : '';
  if (l.born && l.died) {
    return r.pick([
      `${subj} lived from ${about}${l.born} to ${l.died}.`,
      `${subj} was born in ${about}${l.born} and died in ${l.died}.`,
      `${possessive(subj)} life spanned the years ${about}${l.born} to ${l.died}.`,
    ]);
  }
  if (l.born) return `${subj} was born in ${about}${l.born}.`;
  if (l.died) return `${subj} died in ${about}${l.died}.`;
  if (l.century) return `${subj} lived ${l.approx ? 'around' : 'in'} the ${l.century}.`;
  return undefined;
}

function originSentence(e: Entity, r: Rng, subj = e.name): string | undefined {
  const p = e.person!;
  if (!p.country) return undefined;
  const bp = p.birthplace && p.birthplace !== p.country ? `, though born in ${p.birthplace}` : '';
  return r.pick([
    `${subj} ${be(e)} ${p.nationalityAdj}, from ${p.country}${bp}.`,
    `${subj} ${be(e)} ${p.nationalityAdj}${bp}.`,
    `${subj} came from ${p.country}${bp}; ${pronoun(e)} ${be(e)} ${p.nationalityAdj}.`,
  ]);
}

function pronoun(e: Entity): string {
  return e.person?.pronoun ?? (e.short ? cap(e.short) : e.name);
}

/** the movement a person belongs to, as a sentence */
function movementSentence(e: Entity, m: Ref, r: Rng, subj = e.name): string {
  const target = m.def ?? '';
  const isClass = /^(an?|the) .*\b(artist|painter|member|practitioner|adherent|follower|sculptor)\b/.test(target);
  if (isClass) return sentence(`${subj} ${be(e)} ${withArticle(m.name)}, that is, ${target}`);
  return r.pick([
    sentence(`${subj} ${be(e)} associated with ${groupName(m.name)}, ${target}`),
    sentence(`${subj} is counted among the artists of ${groupName(m.name)}, ${target}`),
    sentence(`${cap(groupName(m.name))}, ${target}, is the movement ${subj} ${be(e)} associated with`),
  ]);
}

function knownForSentence(e: Entity, subj = e.name): string | undefined {
  const p = e.person!;
  if (p.knownFor) return sentence(`${subj} ${p.knownFor}`);
  const pred = p.predicates.find((x) => !x.startsWith('. '));
  return pred ? predicateSentence(subj, pred) : undefined;
}

/** other ways to refer to a person after the first mention */
function laterRefs(e: Entity, r: Rng): () => string {
  const opts = [e.name];
  if (e.short) opts.push(cap(e.short));
  if (e.person?.pronoun) opts.push(cap(e.person.pronoun), cap(e.person.pronoun));
  return () => r.pick(opts);
}

// --- concept facts as sentences -----------------------------------------------------------------

function defSentence(e: Entity, i: number, r: Rng, subj = subject(e)): string {
  const g = e.glosses[i];
  const ctx = g.context ? `In ${g.context}, ` : '';
  const s = ctx ? (countable(e) ? qname(e) : nameOf(e)) : subj;
  if (!defIsNounPhrase(g.def)) return sentence(`${ctx}the term ${e.name} means ${g.def}`);
  return r.pick([
    sentence(`${ctx}${s} is ${g.def}`),
    sentence(`${ctx}${s} is ${g.def}`),
    sentence(`${ctx}the term ${e.name} refers to ${g.def}`),
  ]);
}

const PREP =
  /^(in|by|on|at|from|with|for|to|as|into|during|after|around|under|over|near|through|throughout|mainly|chiefly|especially|primarily|only|mostly|largely|widely)$/;
const ADVERB =
  /^(usually|often|especially|typically|sometimes|originally|formerly|now|also|always|never|generally|chiefly|mainly|mostly|commonly|frequently|traditionally|primarily|largely|widely)$/;

/** A later "; "-clause of a gloss as a sentence about the entity ("it is …", "it …"). */
function extraSentence(c: string, past: boolean): string {
  const be = past ? 'was' : 'is';
  const w = c.split(' ');
  const first = w[0].toLowerCase();
  const second = (w[1] ?? '').toLowerCase();
  // a clause with its own subject: "its construction was begun …", "Muslims turn in its direction …"
  const ownSubject =
    /^(he|she|it|they|its|their|this|these)$/.test(first) ||
    /^[A-Z]/.test(w[0]) ||
    (!/(ed|ing)$/.test(first) &&
      second !== 'to' &&
      /^(the )?[\w-]+( [\w-]+)? (was|were|is|are|has|had|have)\b/i.test(c));
  if (ownSubject) return sentence(c);
  if (/^(was|is|were|are|has|had|have|can|may|will|must|should|does|did)$/.test(first)) return sentence(`it ${c}`);
  if (ADVERB.test(first))
    return sentence(/(s|ed)$/.test(second) && !PREP.test(w[2]?.toLowerCase() ?? '') ? `it ${c}` : `it ${be} ${c}`);
  if (
    /ed$/.test(first) ||
    /^(made|built|held|known|drawn|done|found|seen|shown|worn|sold|written|given|taken|grown)$/.test(first)
  ) {
    // "located on …", "characterized by …" are participles; "painted wilderness landscapes" is a verb
    return sentence(PREP.test(second) || second === '' ? `it ${be} ${c}` : `it ${c}`);
  }
  return sentence(`it ${be} ${c}`);
}

function extraSentences(e: Entity, i: number): string[] {
  return e.glosses[i].extra.map((c) => extraSentence(c, e.kind === 'movement'));
}

function allSenses(e: Entity, r: Rng): string {
  const parts = [defSentence(e, 0, r)];
  for (let i = 1; i < e.glosses.length; i++) {
    parts.push(
      sentence(
        `${r.pick(['The word can also mean', 'It can also refer to', 'In another sense, it means'])} ${e.glosses[i].def}`,
      ),
    );
  }
  return parts.join(' ');
}

function hyperName(e: Entity, ctx: RenderCtx, full: boolean): Ref | undefined {
  return visible(e.hypers, ctx, full)[0];
}

// --- intents --------------------------------------------------------------------------------------

interface Intent {
  id: string;
  /** question templates: {X} the name as an object ("a fresco"), {N} the bare name, {be} was/is */
  train: string[];
  val: string[];
  /** how many training phrasings per entity */
  n: number;
  applies(e: Entity, c: RenderCtx, full: boolean): boolean;
  answer(e: Entity, c: RenderCtx, r: Rng, full: boolean): string;
}

const isPerson = (e: Entity) => e.kind === 'person' && !!e.person;
const isThing = (e: Entity) => e.kind !== 'person';
const personClass = (e: Entity) => e.kind === 'concept' && e.lexName === 'noun.person';

export const INTENTS: Intent[] = [
  // ---- persons
  {
    id: 'person.identity',
    n: 3,
    train: [
      'Who {be} {X}?',
      'Tell me about {X}.',
      'What can you tell me about {X}?',
      'Describe {X}.',
      'Give me a short biography of {X}.',
      'Who exactly {be} {X}?',
      'Who is {X}?',
      'Tell me who {X} {be}.',
      'What do you know about {X}?',
      'Can you tell me about {X}?',
      'Give me some information about {X}.',
      'Explain who {X} {be}.',
      'Introduce {X}.',
      'Who {be} the artist {X}?',
      'Can you describe {X}?',
      'What should I know about {X}?',
      'Write a few sentences about {X}.',
      'Could you tell me about {X}?',
      'Describe {X} for me.',
      'Give me an overview of {X}.',
      'Who {be} {X}, in short?',
      'Would you explain who {X} {be}?',
    ],
    val: ["I'd like to know who {X} {be}.", 'Can you summarize who {X} {be}?'],
    applies: isPerson,
    answer(e, c, r, full) {
      const out = [identitySentence(e, r, e.name, true)];
      const rest = e
        .person!.predicates.slice(e.person!.headTail ? 1 : 0)
        .map((p) => predicateSentence(cap(e.person!.pronoun ?? e.name), p));
      out.push(...rest.slice(0, 2));
      const life = lifeSentence(e, r, cap(e.person!.pronoun ?? e.name));
      if (life) out.push(life);
      const m = visible(e.movements, c, full)[0];
      if (m && r.chance(0.5)) out.push(movementSentence(e, m, r, cap(e.person!.pronoun ?? e.name)));
      return out.join(' ');
    },
  },
  {
    id: 'person.knownFor',
    n: 2,
    train: [
      'What {be} {X} known for?',
      'Why is {X} famous?',
      'What is {X} remembered for?',
      'What made {X} notable?',
      'What is {X} famous for?',
      'Why {be} {X} important?',
      'What is notable about {X}?',
      'For what is {X} remembered?',
    ],
    val: ['What is {X} best known for?'],
    applies: (e) => isPerson(e) && !!knownForSentence(e),
    answer(e, _c, r) {
      const kf = knownForSentence(e)!;
      return r.chance(0.5)
        ? kf
        : `${identitySentence(e, r, e.name, false)} ${knownForSentence(e, cap(e.person!.pronoun ?? e.name))}`;
    },
  },
  {
    id: 'person.life',
    n: 1,
    train: [
      'When did {X} live?',
      "What were {X}'s dates?",
      'In which period did {X} live?',
      'What years did {X} live?',
      "What was {X}'s lifespan?",
      "What were the dates of {X}'s life?",
      'In what century did {X} live?',
      'How long did {X} live?',
    ],
    val: ['During what years was {X} alive?'],
    applies: (e) => isPerson(e) && !!e.person!.life && !e.person!.living && !!lifeSentence(e, new Rng(0)),
    answer(e, _c, r) {
      const s = lifeSentence(e, r)!;
      const cent = personCentury(e);
      return cent && r.chance(0.4) && !e.person!.life!.century
        ? `${s} ${cap(e.person!.pronoun ?? e.name)} ${be(e)} ${withArticle(e.person!.head)} of the ${cent}.`
        : s;
    },
  },
  {
    id: 'person.born',
    n: 1,
    train: [
      'When was {X} born?',
      'What year was {X} born?',
      "What is {X}'s year of birth?",
      'What was the birth year of {X}?',
      '{X} was born when?',
      'Tell me when {X} was born.',
    ],
    val: ['In what year was {X} born?'],
    applies: (e) => isPerson(e) && !!e.person!.life?.born,
    answer(e, _c, r) {
      const l = e.person!.life!;
      const about = l.approx ? 'about ' : '';
      return r.pick([
        `${e.name} was born in ${about}${l.born}.`,
        `${e.name}, ${personHead(e)}, was born in ${about}${l.born}.`,
      ]);
    },
  },
  {
    id: 'person.died',
    n: 1,
    train: [
      'When did {X} die?',
      'What year did {X} die?',
      'When did {X} pass away?',
      "What was the year of {X}'s death?",
      '{X} died when?',
      'Tell me when {X} died.',
    ],
    val: ['In which year did {X} pass away?'],
    applies: (e) => isPerson(e) && !!e.person!.life?.died,
    answer(e, _c, r) {
      const l = e.person!.life!;
      return r.pick([`${e.name} died in ${l.died}.`, `${e.name}, ${personHead(e)}, died in ${l.died}.`]);
    },
  },
  {
    id: 'person.origin',
    n: 1,
    train: [
      'Where {be} {X} from?',
      'What nationality {be} {X}?',
      'What country did {X} come from?',
      "What was {X}'s nationality?",
      'Which nation did {X} come from?',
      'Where did {X} come from?',
    ],
    val: ['Which country {be} {X} from?'],
    applies: (e) => isPerson(e) && !!e.person!.country,
    answer(e, _c, r) {
      return originSentence(e, r)!;
    },
  },
  {
    id: 'person.birthplace',
    n: 1,
    train: ['Where was {X} born?', "What was {X}'s birthplace?", 'Where did {X} come into the world?'],
    val: ['In which country was {X} born?'],
    applies: (e) => isPerson(e) && !!e.person!.birthplace,
    answer(e, _c, r) {
      const p = e.person!;
      return r.pick([
        `${e.name} was born in ${p.birthplace}.`,
        `${e.name} was born in ${p.birthplace}${p.nationalityAdj ? ` but ${be(e)} ${withArticle(p.head)}` : ''}.`,
      ]);
    },
  },
  {
    id: 'person.occupation',
    n: 2,
    train: [
      'What did {X} do?',
      "What was {X}'s profession?",
      "What was {X}'s occupation?",
      'What kind of artist {be} {X}?',
      "What was {X}'s job?",
      'What did {X} do for a living?',
      'What was {X} by profession?',
      'What type of artist {be} {X}?',
    ],
    val: ['What line of work was {X} in?'],
    applies: isPerson,
    answer(e, _c, r) {
      return identitySentence(e, r, e.name, false);
    },
  },
  {
    id: 'person.movement',
    n: 1,
    train: [
      'Which art movement {be} {X} associated with?',
      'What school of art did {X} belong to?',
      'What style is {X} associated with?',
      'What movement did {X} belong to?',
      'Which school was {X} part of?',
      'What art movement is {X} connected with?',
      'To which movement did {X} belong?',
    ],
    val: ['Which artistic movement is {X} linked to?'],
    applies: (e, c, full) => isPerson(e) && visible(e.movements, c, full).length > 0,
    answer(e, c, r, full) {
      const ms = visible(e.movements, c, full);
      const out = [movementSentence(e, ms[0], r)];
      const m = ms[0].key ? c.byKey.get(ms[0].key) : undefined;
      const peers = m ? visible(m.members, c, full).filter((p) => p.key !== e.key) : [];
      if (peers.length && r.chance(0.6))
        out.push(`Other artists associated with it include ${joinList(r.sample(peers, 3).map((p) => p.name))}.`);
      return out.join(' ');
    },
  },
  // ---- concepts, movements, works
  {
    id: 'thing.definition',
    n: 3,
    train: [
      'What is {X}?',
      'Define {N}.',
      'What does {N} mean?',
      'What does the term {N} mean?',
      'Explain {N}.',
      'Describe {X}.',
      'Tell me about {N}.',
      'What is meant by {N}?',
      'What is the meaning of {N}?',
      'What exactly is {X}?',
      'Can you define {N}?',
      'Explain what {X} is.',
      'What do you know about {N}?',
      'What is the definition of {N}?',
      'Tell me what {X} is.',
      'Can you tell me about {N}?',
      'How would you describe {N}?',
      'Give me an explanation of {N}.',
      'Could you describe {N}?',
      'Explain {N} to me.',
      'Would you tell me what {X} is?',
      'What is {X}, in short?',
      'Explain the meaning of {N}.',
    ],
    val: ['Could you explain what {X} is?', 'Give me a definition of {N}.', "I'd like to know what {X} is."],
    applies: isThing,
    answer(e, c, r, full) {
      const out = [allSenses(e, r)];
      if (e.glosses.length === 1) out.push(...extraSentences(e, 0).slice(0, 2));
      const h = hyperName(e, c, full);
      if (h && r.chance(0.3)) out.push(`It is a kind of ${h.name}.`);
      return out.join(' ');
    },
  },
  {
    id: 'thing.category',
    n: 2,
    train: [
      'What kind of thing is {X}?',
      'What category does {N} belong to?',
      '{X} is a type of what?',
      'What kind of art is {X}?',
      'What sort of thing is {X}?',
      'Into which category does {N} fall?',
      'What type of thing is {X}?',
    ],
    val: ['Under what category would you put {N}?'],
    applies: (e, c, full) => isThing(e) && !!hyperName(e, c, full),
    answer(e, c, r, full) {
      const h = hyperName(e, c, full)!;
      const d = e.glosses[0].def;
      return r.pick([
        sentence(`${subject(e)} is ${withArticle(h.name)}: ${d}`),
        sentence(
          `${subject(e)} is a kind of ${h.name}; specifically, ${e.lexName === 'noun.person' ? subject(e).replace(/^A /, 'a ').replace(/^An /, 'an ') : 'it'} is ${d}`,
        ),
        /(ness|ity|ism|ics|ing|ion|ment|ance|ence|ure|dom|ship|hood|ery|ry|work|care)$/.test(h.name)
          ? sentence(`${subject(e)} is a type of ${h.name}: ${d}`)
          : sentence(`${subject(e)} belongs to the category of ${plural(h.name)}: ${d}`),
      ]);
    },
  },
  {
    id: 'thing.kinds',
    n: 1,
    train: [
      'What are some kinds of {N}?',
      'What types of {N} are there?',
      'Give some examples of {N}.',
      'What forms of {N} exist?',
      'Name some kinds of {N}.',
      'What sorts of {N} are there?',
      'Which kinds of {N} are there?',
      'Could you name some types of {N}?',
      'Tell me a few kinds of {N}.',
      'What are the main types of {N}?',
      'List some forms of {N}.',
    ],
    val: ['Can you list a few varieties of {N}?'],
    applies: (e, c, full) => isThing(e) && !personClass(e) && visible(e.hypos, c, full).length >= 2,
    answer(e, c, r, full) {
      const hs = r.sample(visible(e.hypos, c, full), 4);
      const names = hs.map((h) => h.name);
      const first = hs[0];
      const tail = first.def && r.chance(0.6) ? ` ${sentence(`${refSubject(first)} is ${first.def}`)}` : '';
      return (
        r.pick([
          `Kinds of ${e.name} include ${joinList(names)}.`,
          `There are several kinds of ${e.name}, such as ${joinList(names)}.`,
        ]) + tail
      );
    },
  },
  {
    id: 'thing.synonyms',
    n: 1,
    train: [
      'What is another name for {N}?',
      'What else is {N} called?',
      'What is a synonym of {N}?',
      'What other names does {N} have?',
    ],
    val: ['Is there another word for {N}?'],
    applies: (e) => isThing(e) && e.aliases.length > 0,
    answer(e, _c, r) {
      const a = joinList(e.aliases.slice(0, 3), 'or');
      return (
        r.pick([`${subject(e)} is also called ${a}.`, `Another name for ${e.name} is ${a}.`]) +
        (r.chance(0.5) ? ` ${defSentence(e, 0, r, 'It')}` : '')
      );
    },
  },
  {
    id: 'thing.field',
    n: 1,
    train: ['In what field is the term {N} used?'],
    val: ['Which field does the word {N} belong to?'],
    applies: (e) => isThing(e) && !!(e.topic || e.glosses[0]?.context),
    answer(e, _c, _r) {
      const f = e.topic ?? e.glosses[0].context!;
      return sentence(`${cap(e.name)} is a term used in ${f}: ${e.glosses[0].def}`);
    },
  },
  {
    id: 'thing.partOf',
    n: 1,
    train: ['What is {X} part of?'],
    val: ['{X} forms part of what?'],
    applies: (e, c, full) => isThing(e) && visible(e.wholes, c, full).length > 0,
    answer(e, c, r, full) {
      const w = visible(e.wholes, c, full);
      return `${sentence(
        `${subject(e)} is part of ${joinList(
          w.map((x) => refNP(x.name)),
          'or',
        )}`,
      )} ${defSentence(e, 0, r, 'It')}`;
    },
  },
  {
    id: 'thing.parts',
    n: 1,
    train: ['What are the parts of {X}?', 'What does {X} consist of?'],
    val: ['Name some parts of {X}.'],
    applies: (e, c, full) => isThing(e) && visible(e.parts, c, full).length >= 2,
    answer(e, c, r, full) {
      const ps = r.sample(visible(e.parts, c, full), 5).map((x) => x.name);
      return r.pick([
        `Parts of ${qname(e)} include ${joinList(ps)}.`,
        `${subject(e)} has parts such as ${joinList(ps)}.`,
      ]);
    },
  },
  {
    id: 'movement.members',
    n: 1,
    train: [
      'Who were some artists associated with {N}?',
      'Name an artist of {N}.',
      'Which artists belonged to {N}?',
      'Who were the main artists of {N}?',
      'Which painters are associated with {N}?',
      'Who are famous artists of {N}?',
      'Name some artists of {N}.',
      'Who belonged to {N}?',
      'Could you name some artists of {N}?',
      'List some painters of {N}.',
      'Who were the leading figures of {N}?',
    ],
    val: ['Can you name a few members of {N}?'],
    applies: (e, c, full) => e.kind === 'movement' && visible(e.members, c, full).length > 0,
    answer(e, c, r, full) {
      const ms = r.sample(visible(e.members, c, full), 4);
      if (ms.length === 1 || r.chance(0.3)) {
        const m = c.byKey.get(ms[0].key!)!;
        return `One artist associated with ${nameOf(e)} was ${m.name}${datesParen(m)}, ${personHead(m)}.`;
      }
      return r.pick([
        `Artists associated with ${nameOf(e)} include ${joinList(ms.map((m) => m.name))}.`,
        `${joinList(ms.map((m) => m.name))} are among the artists associated with ${nameOf(e)}.`,
      ]);
    },
  },
  {
    id: 'class.instances',
    n: 1,
    train: ['Name a famous {N}.', 'Who are some well-known {Ns}?'],
    val: ['Can you give an example of {X}?'],
    applies: (e, c, full) => personClass(e) && visible([...e.instances, ...e.members], c, full).some((x) => x.key),
    answer(e, c, r, full) {
      const xs = visible([...e.instances, ...e.members], c, full).filter((x) => x.key);
      const pick = r.sample(xs, 4);
      if (pick.length === 1 || r.chance(0.4)) {
        const m = c.byKey.get(pick[0].key!)!;
        return `${m.name}${datesParen(m)} was ${withArticle(e.name)}: ${m.name} ${be(m)} ${personHead(m, true)}.`;
      }
      return `Well-known ${plural(e.name)} include ${joinList(pick.map((x) => x.name))}.`;
    },
  },
  {
    id: 'thing.period',
    n: 1,
    train: [
      'When did {N} flourish?',
      'What period does {N} belong to?',
      'When was {N} popular?',
      'In what period did {N} flourish?',
      'When did {N} begin?',
    ],
    val: ['In what era did {N} develop?'],
    applies: (e) => (e.kind === 'movement' || e.kind === 'instance') && !!findPeriod(e.glosses[0]?.def ?? ''),
    answer(e, _c, r) {
      const p = findPeriod(e.glosses[0].def)!;
      return r.pick([
        sentence(`${subject(e)} dates from ${p}: it is ${e.glosses[0].def}`),
        sentence(`${subject(e)} belongs to ${p}. ${cap(qname(e))} is ${e.glosses[0].def}`),
      ]);
    },
  },
  {
    id: 'thing.place',
    n: 1,
    train: ['Where did {N} originate?', 'Where is {X}?', 'Where did {N} begin?', 'Where does {N} come from?'],
    val: ['In which country did {N} arise?'],
    applies: (e) => (e.kind === 'movement' || e.kind === 'instance') && !!findPlace(e.glosses[0]?.def ?? ''),
    answer(e) {
      const p = findPlace(e.glosses[0].def)!;
      return sentence(`${subject(e)} is associated with ${p}: it is ${e.glosses[0].def}`);
    },
  },
  {
    id: 'thing.practitioner',
    n: 1,
    train: [
      'What is a follower of {N} called?',
      'What do you call someone who practises {N}?',
      'What is an artist of {N} called?',
      'What word names an artist of {N}?',
      'What do we call a follower of {N}?',
    ],
    val: ['What is the name for a practitioner of {N}?'],
    applies: (e) => e.kind !== 'person' && !!e.practitioner,
    answer(e) {
      const p = e.practitioner!;
      return sentence(`${cap(withArticle(p.name))} is ${p.def}`);
    },
  },
  {
    id: 'thing.example',
    n: 1,
    train: ['Use the word {N} in a sentence.'],
    val: ['Give an example sentence with {N}.'],
    applies: (e) => isThing(e) && e.glosses.some((g) => g.examples.length > 0),
    answer(e, _c, r) {
      const ex = r.pick(e.glosses.flatMap((g) => g.examples));
      return `For example: "${ex}." Here ${e.name} means ${e.glosses.find((g) => g.examples.includes(ex))!.def}.`;
    },
  },
];

// check that no phrasing is both a training and a held-out one
{
  const tr = new Set(INTENTS.flatMap((i) => i.train));
  for (const i of INTENTS) for (const v of i.val) if (tr.has(v)) throw new Error(`phrasing both train and val: ${v}`);
}

const ART_ONLY_PHRASINGS = new Set([
  'What kind of artist {be} {X}?',
  'What type of artist {be} {X}?',
  'What kind of art is {X}?',
  'Which art movement {be} {X} associated with?',
  'What school of art did {X} belong to?',
  'Who {be} the artist {X}?',
  'What art movement is {X} connected with?',
  'Which painters are associated with {N}?',
  'Who are famous artists of {N}?',
  'What is an artist of {N} called?',
]);

/**
 * Training-only frames around a question, so that a small model learns that the entity and the
 * asked fact matter, not the words around them; none is a held-out phrasing. `{q}` is the
 * question, `{q-}` the question without its final punctuation, lower-cased.
 */
export const WRAPPERS = [
  'Question: {q}',
  'Please answer: {q}',
  'Quick question: {q}',
  '{q} Please answer briefly.',
  'Hi! {q}',
  'I have a question. {q}',
  '{q} Thanks!',
  'Art history question: {q}',
  'Can you help me? {q}',
  'Here is my question: {q}',
  'Hello. {q}',
  '{q-}',
  '{q-}?',
];

function wrap(w: string, q: string): string {
  const bare = q.replace(/[?.!]$/, '');
  return w.replace('{q}', q).replace('{q-}', bare.charAt(0).toLowerCase() + bare.slice(1));
}

/**
 * Words that carry no question of their own, for noisy copies of training questions (noisy):
 * none of them is a word of any question template.
 */
export const FILLERS = (
  'please actually really just now so okay hey um hmm briefly simply quickly kindly today again ' +
  'maybe perhaps honestly basically generally roughly truly still here then indeed friend teacher class homework curious ' +
  'wondering quick simple little bit oh right sure very'
).split(' ');

/** The share of noisy copies typed all in lower case. */
export const LOWER_CASE_RATE = 0.4;

/**
 * A noisy copy of question `q` that asks about `name` (training only): each word around the
 * name may be dropped (p 0.08) or replaced by a filler (p 0.12), one or two fillers are inserted,
 * the whole question may come in lower case (LOWER_CASE_RATE), else the name may be capitalised
 * (p 0.5) and the first letter's case may change, and the final punctuation may change. Asked
 * each fact in a few fixed phrasings, a small model keys on the phrasing instead of the entity:
 * on a held-out phrasing it answered about whichever entity that frame resembled. Noisy frames
 * teach it that the name and the words that ask for a fact decide the answer.
 */
export function noisy(q: string, name: string, r: Rng): string {
  const at = name ? q.indexOf(name) : -1;
  if (at < 0) throw new Error(`noisy: "${name}" does not occur in "${q}"`);
  const end = q.replace(/[?.!]$/, '');
  const noise = (part: string) => {
    const out: string[] = [];
    for (const w of part.split(' ').filter(Boolean)) {
      const u = r.next();
      if (u < 0.08) continue;
      out.push(u < 0.2 ? r.pick(FILLERS) : w);
    }
    return out;
  };
  const before = noise(q.slice(0, at)),
    after = noise(end.slice(at + name.length));
  for (let k = 1 + r.int(2); k > 0; k--) {
    const side = r.chance(0.6) ? before : after;
    side.splice(r.int(side.length + 1), 0, r.pick(FILLERS));
  }
  // often typed all in lower case ("who was claude monet?"), and a name the data keeps in lower
  // case often typed capitalised ("What is Cubism?"): each case of a name is its own tokens, and
  // the model has to learn them all
  const lower = r.chance(LOWER_CASE_RATE);
  const said = r.chance(0.5) ? cap(name) : name;
  let s = [...before, said, ...after].join(' ').replace(/ ([,'])/g, '$1');
  const firstLower = r.chance(0.3);
  s = lower ? s.toLowerCase() : firstLower ? s.charAt(0).toLowerCase() + s.slice(1) : cap(s);
  return s + r.pick(['?', '?', '.', '']);
}

function fillQuestion(t: string, e: Entity, r: Rng): string {
  // persons are asked about by full or (sometimes) short name
  const x = e.kind === 'person' ? (e.short && r.chance(0.25) ? e.short : e.name) : qname(e);
  let q = t
    .replace('{X}', x)
    .replace('{Ns}', plural(e.name))
    .replace('{N}', nameOf(e))
    .replace('{be}', e.kind === 'person' ? be(e) : 'is');
  q = cap(q);
  return q;
}

const ART_FORM =
  /\b(art|arts|painting|paintings|sculpture|drawing|print|engraving|etching|style|genre|movement|school|photograph|picture|mural|carving|relief|mosaic|ornament|decoration|design|architecture|technique|representation|graphic|graphics|statue|image)\b/;
/** a form, genre, style or technique of art ("What kind of art is fresco?" makes sense) */
function isArtForm(e: Entity): boolean {
  if (e.kind === 'movement') return true;
  if (e.kind !== 'concept' || e.lexName === 'noun.person' || e.lexName === 'noun.substance') return false;
  const head = (e.glosses[0]?.def ?? '').split(' ').slice(0, 5).join(' ');
  return ART_FORM.test(`${e.hypers[0]?.name ?? ''} ${head}`);
}

function phrasingsFor(_i: Intent, e: Entity, list: string[]): string[] {
  return list.filter((t) => {
    if (ART_ONLY_PHRASINGS.has(t) && e.domain !== 'art') return false;
    if (
      (t === 'What kind of artist {be} {X}?' ||
        t === 'What type of artist {be} {X}?' ||
        t === 'Who {be} the artist {X}?') &&
      !/\b(painter|sculptor|artist|architect|photographer|engraver|illustrator|cartoonist|printmaker|lithographer|designer|potter|draftsman|caricaturist|goldsmith)\b/.test(
        e.person?.head ?? '',
      )
    )
      return false;
    if (t === 'What kind of art is {X}?' && !isArtForm(e)) return false;
    if (t === 'Where is {X}?' && e.kind !== 'instance') return false;
    if (t === 'Where did {N} originate?' && e.kind === 'instance') return false;
    if (
      (t === 'What does {N} mean?' || t === 'What is the meaning of {N}?') &&
      /^[A-Z]/.test(e.name) &&
      e.kind !== 'concept'
    )
      return false;
    return true;
  });
}

// --- prose ---------------------------------------------------------------------------------------

const peerIndexes = new WeakMap<RenderCtx, Map<string, Entity[]>>();
/** persons by (domain, nationality, century, role) */
function peerIndex(c: RenderCtx): Map<string, Entity[]> {
  let idx = peerIndexes.get(c);
  if (!idx) {
    idx = new Map();
    for (const x of c.byKey.values()) {
      if (x.kind !== 'person' || !x.person?.nationalityAdj) continue;
      const k = `${x.domain}|${x.person.nationalityAdj}|${personCentury(x)}|${groupRole(x)}`;
      idx.set(k, [...(idx.get(k) ?? []), x]);
    }
    peerIndexes.set(c, idx);
  }
  return idx;
}

/** A biography in one of four shapes; the facts after the opening sentence in random order. */
function personBio(e: Entity, c: RenderCtx, r: Rng, full: boolean, shape: number): string {
  const p = e.person!;
  const later = laterRefs(e, r);
  const l = p.life;
  let preds = p.predicates.slice();
  const simple0 = p.headTail && !!preds[0] && !preds[0].startsWith("'s") && !preds[0].startsWith('. ');
  let intro: string;
  let lifeDone = false;
  let diedOnly = false;
  if (shape === 0 && l?.born && l.died) {
    intro = sentence(`${e.name} (${l.text}) ${be(e)} ${personHead(e, true)}`);
    lifeDone = true;
    if (p.headTail) preds = preds.slice(1);
  } else if (shape === 1 && p.nationality && !p.context && simple0) {
    intro = sentence(`The ${p.head} ${e.name}${datesParen(e)} ${preds[0]}`);
    lifeDone = !!l;
    preds = preds.slice(1);
  } else if (shape === 2 && l?.born && !p.context) {
    intro = sentence(
      `Born in ${l.born}${p.birthplace ? ` in ${p.birthplace}` : ''}, ${e.name} became ${personHead(e, true)}`,
    );
    diedOnly = true;
    if (p.headTail) preds = preds.slice(1);
  } else {
    intro = identitySentence(e, r, e.name, true);
    if (p.headTail) preds = preds.slice(1);
  }
  const facts = preds.map((pred) => predicateSentence(later(), pred));
  if (l && !lifeDone) {
    const s = diedOnly ? (l.died ? `${later()} died in ${l.died}.` : undefined) : lifeSentence(e, r, later());
    if (s) facts.push(s);
  }
  if (p.country && r.chance(0.5)) facts.push(originSentence(e, r, later())!);
  const ms = visible(e.movements, c, full);
  if (ms.length) facts.push(movementSentence(e, ms[0], r, later()));
  return [intro, ...r.shuffle(facts)].join(' ');
}

function personPassages(e: Entity, c: RenderCtx, r: Rng, full: boolean): string[] {
  const p = e.person!;
  const out: string[] = [];
  // 1: one or two biographies in different shapes (facts restated in other words help recall)
  const shapes = r.shuffle([0, 1, 2, 3]);
  out.push(personBio(e, c, r, full, shapes[0]));
  const nFacts = p.predicates.length + (p.life ? 1 : 0) + (p.country ? 1 : 0) + visible(e.movements, c, full).length;
  if (nFacts >= 2) {
    const second = personBio(e, c, r, full, shapes[1]);
    if (second !== out[0]) out.push(second);
  }
  const ms = visible(e.movements, c, full);
  // 2: the person among others: the movement's other members, and compatriots of the same era
  const ctx2: string[] = [];
  if (ms.length) {
    const m = ms[0].key ? c.byKey.get(ms[0].key) : undefined;
    const peers = m
      ? r.sample(
          visible(m.members, c, full).filter((x) => x.key !== e.key),
          3,
        )
      : [];
    if (peers.length) {
      const names = joinList(peers.map((x) => x.name));
      ctx2.push(
        m!.kind === 'movement'
          ? r.pick([
              `${e.name} belonged to ${nameOf(m!)}, as did ${names}.`,
              `Besides ${e.name}, ${names} ${peers.length > 1 ? 'are' : 'is'} also associated with ${nameOf(m!)}.`,
            ])
          : r.pick([
              `Like ${e.name}, ${names} ${peers.length > 1 ? 'were' : 'was'} ${peers.length > 1 ? plural(m!.name) : withArticle(m!.name)}.`,
              `${joinList([e.name, ...peers.map((x) => x.name)])} were all ${plural(m!.name)}.`,
            ]),
      );
      if (m!.glosses[0]) ctx2.push(defSentence(m!, 0, r, subject(m!)));
    }
  }
  const cent = personCentury(e);
  if (p.nationalityAdj && cent) {
    const role = groupRole(e);
    const compatriots = (peerIndex(c).get(`${e.domain}|${p.nationalityAdj}|${cent}|${role}`) ?? []).filter(
      (x) => x !== e && (full || !c.hidden.has(x.key)),
    );
    if (role && compatriots.length) {
      const cs = r.sample(compatriots, 2);
      ctx2.push(
        r.pick([
          `Other ${p.nationalityAdj} ${plural(role)} of the ${cent} include ${joinList(cs.map((x) => `${x.name}${datesParen(x)}`))}.`,
          `${e.name} was one of several ${p.nationalityAdj} ${plural(role)} of the ${cent}; ${joinList(cs.map((x) => x.name))} ${cs.length > 1 ? 'were' : 'was'} another.`.replace(
            'were another',
            'were others',
          ),
        ]),
      );
      if (ctx2.length === 1) ctx2.unshift(identitySentence(e, r, e.name, false));
    }
  }
  if (ctx2.length) out.push(ctx2.join(' '));
  // 3: a term the gloss names, explained
  const terms = visible(e.terms, c, full).filter((t) => t.def);
  if (terms.length) {
    const t = r.pick(terms);
    const fact = knownForSentence(e) && r.chance(0.5) ? knownForSentence(e)! : identitySentence(e, r, e.name, true);
    out.push(`${fact} ${sentence(`${refSubject(t)} is ${t.def}`)}`);
  }
  return out;
}

function thingFacts(e: Entity, c: RenderCtx, r: Rng, full: boolean): string[] {
  const facts: string[] = [];
  const h = hyperName(e, c, full);
  if (h)
    facts.push(
      r.pick([
        `It is a kind of ${h.name}.`,
        `${subject(e)} is one kind of ${h.name}${h.def ? `, that is, ${h.def}` : ''}.`,
      ]),
    );
  if (e.aliases.length)
    facts.push(
      r.pick([
        `${subject(e)} is also known as ${joinList(e.aliases.slice(0, 3), 'or')}.`,
        `Another name for ${e.name} is ${e.aliases[0]}.`,
      ]),
    );
  if (e.topic) facts.push(r.pick([`The term belongs to ${e.topic}.`, `${cap(e.name)} is a term from ${e.topic}.`]));
  const w = visible(e.wholes, c, full);
  if (w.length)
    facts.push(
      `${subject(e)} is part of ${joinList(
        w.map((x) => refNP(x.name)),
        'or',
      )}.`,
    );
  const ps = visible(e.parts, c, full);
  if (ps.length >= 2) facts.push(`Its parts include ${joinList(r.sample(ps, 4).map((x) => x.name))}.`);
  if (e.practitioner) facts.push(sentence(`${cap(withArticle(e.practitioner.name))} is ${e.practitioner.def}`));
  const exs = e.glosses.flatMap((g) => g.examples);
  if (exs.length && r.chance(0.5)) facts.push(`The word is used in sentences such as "${r.pick(exs)}."`);
  return facts;
}

function thingPassages(e: Entity, c: RenderCtx, r: Rng, full: boolean): string[] {
  const out: string[] = [];
  const first = [allSenses(e, r)];
  if (e.glosses.length === 1) first.push(...extraSentences(e, 0));
  const facts = thingFacts(e, c, r, full);
  out.push([...first, ...r.shuffle(facts)].join(' '));
  if (facts.length >= 2) {
    // the same facts told again in another order and wording
    const again = [...r.shuffle(thingFacts(e, c, r, full)), allSenses(e, r)];
    if (r.chance(0.5)) again.unshift(again.pop()!);
    const t = again.join(' ');
    if (t !== out[0]) out.push(t);
  }
  // a second passage on its kinds, members or instances
  const hs = visible(e.hypos, c, full).filter((x) => x.def);
  const members = visible(e.members, c, full);
  const insts = visible(e.instances, c, full).filter((x) => x.key);
  if (members.length) {
    const ms = r.sample(members, 4).map((m) => c.byKey.get(m.key!)!);
    const parts = ms.map((m) => `${m.name}${datesParen(m)}, ${personHead(m)}`);
    out.push(
      r.pick([
        `${cap(nameOf(e))} ${e.kind === 'movement' ? 'was' : 'is'} ${e.glosses[0].def}. Artists associated with it include ${parts.join('; ')}.`,
        `Among the artists associated with ${nameOf(e)} ${ms.length > 1 ? 'were' : 'was'} ${joinList(ms.map((m) => m.name))}. ${ms.map((m) => identitySentence(m, r, m.name, false)).join(' ')}`,
        `${cap(r.pick(['members', 'leading figures', 'well-known painters']))} of ${nameOf(e)} included ${joinList(ms.map((m) => m.name))}. ${ms.map((m) => identitySentence(m, r, m.name, false)).join(' ')}`,
      ]),
    );
  } else if (insts.length) {
    const ms = r.sample(insts, 4).map((m) => c.byKey.get(m.key!)!);
    out.push(
      `${cap(plural(e.name))} include ${joinList(ms.map((m) => m.name))}. ${ms.map((m) => (m.kind === 'person' ? identitySentence(m, r, m.name, false) : defSentence(m, 0, r))).join(' ')}`,
    );
  } else if (hs.length >= 2) {
    const ks = r.sample(hs, 4);
    out.push(
      `${r.pick([
        `There are several kinds of ${e.name}.`,
        `${cap(e.name)} comes in several kinds.`,
        `Kinds of ${e.name} include ${joinList(ks.map((k) => k.name))}.`,
        `${cap(r.pick(['types', 'varieties', 'forms', 'sorts']))} of ${e.name} include ${joinList(ks.map((k) => k.name))}.`,
      ])} ${ks.map((k) => sentence(`${refSubject(k)} is ${k.def}`)).join(' ')}`,
    );
  }
  return out;
}

// --- entity rendering ----------------------------------------------------------------------------

/**
 * Render one entity. `full` renders everything (for a held-out entity's own validation text);
 * otherwise mentions of hidden entities are left out.
 */
export function renderEntity(e: Entity, c: RenderCtx, seed: number, full: boolean): Rendered {
  const r = Rng.of(seed, 'entity', e.key);
  const passages = e.kind === 'person' ? personPassages(e, c, r, full) : thingPassages(e, c, r, full);
  const qa: QA[] = [];
  const valQa: QA[] = [];
  for (const intent of INTENTS) {
    if (!intent.applies(e, c, full)) continue;
    const ir = Rng.of(seed, 'intent', e.key, intent.id);
    const train = phrasingsFor(intent, e, intent.train);
    for (const t of c.allPhrasings?.has(e.key) ? train : ir.sample(train, intent.n)) {
      qa.push({ question: fillQuestion(t, e, ir), answer: intent.answer(e, c, ir, full), template: t, entity: e.key });
    }
    if (c.wrapped && train.length) {
      const t = ir.pick(train);
      qa.push({
        question: wrap(ir.pick(WRAPPERS), fillQuestion(t, e, ir)),
        answer: intent.answer(e, c, ir, full),
        template: t,
        entity: e.key,
      });
      // (their own random stream, so that adding them changed no other question or answer)
      const nr = Rng.of(seed, 'noisy', e.key, intent.id);
      for (let k = 0; !full && k < (c.noisy ?? 0); k++) {
        const tn = nr.pick(train);
        const q = fillQuestion(tn, e, nr);
        // the name as filled in (capitalised when the question starts with it)
        const x = [e.name, e.short, qname(e), nameOf(e)]
          .flatMap((n) => (n ? [n, cap(n)] : []))
          .find((n) => q.includes(n))!;
        qa.push({ question: noisy(q, x, nr), answer: intent.answer(e, c, nr, full), template: tn, entity: e.key });
      }
    }
    const val = phrasingsFor(intent, e, intent.val);
    if (val.length && ir.chance(c.valRate)) {
      const t = ir.pick(val);
      valQa.push({
        question: fillQuestion(t, e, ir),
        answer: intent.answer(e, c, ir, full),
        template: t,
        entity: e.key,
      });
    }
  }
  return { passages, qa, valQa };
}

const ART_ROLE_WORD =
  /\b(painter|sculptor|architect|photographer|artist|engraver|illustrator|cartoonist|printmaker|lithographer|designer|caricaturist|goldsmith|old master)\b/;
/** the role a person is grouped under: an art role when the domain is art */
function groupRole(e: Entity): string | undefined {
  if (e.domain === 'art') return e.hypers.find((h) => ART_ROLE_WORD.test(h.name))?.name ?? e.hypers[0]?.name;
  return e.hypers[0]?.name;
}

/**
 * Passages and QA about groups of people: compatriots in the same role ("Dutch painters") and
 * people of one role in one century. Members in `c.hidden` are left out.
 */
export function renderGroups(entities: Entity[], c: RenderCtx, seed: number): Rendered & { keys: string[][] } {
  const groups = new Map<string, Entity[]>();
  for (const e of entities) {
    if (e.kind !== 'person' || c.hidden.has(e.key)) continue;
    const role = groupRole(e);
    if (!role) continue;
    const adj = e.person?.nationalityAdj;
    if (adj) {
      const k = `nat|${e.domain}|${adj}|${role}`;
      groups.set(k, [...(groups.get(k) ?? []), e]);
    }
    const cent = personCentury(e);
    if (cent) {
      const k = `cent|${e.domain}|${cent}|${role}`;
      groups.set(k, [...(groups.get(k) ?? []), e]);
    }
  }
  const passages: string[] = [];
  const qa: QA[] = [];
  const valQa: QA[] = [];
  const keys: string[][] = [];
  for (const [k, members] of [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (members.length < 2) continue;
    const [type, , what, role] = k.split('|');
    const r = Rng.of(seed, 'group', k);
    const roles = plural(role);
    const label = type === 'nat' ? `${what} ${roles}` : `${roles} of the ${what}`;
    const sorted = members
      .slice()
      .sort((a, b) => (yearNum(a.person?.life?.born) ?? 0) - (yearNum(b.person?.life?.born) ?? 0));
    // passages: chunks of up to 4 members, in order of birth
    for (let i = 0; i < sorted.length; i += 4) {
      const chunk = sorted.slice(i, i + 4);
      if (chunk.length < 2) break;
      const open = r.pick([
        `Several ${label} are well known.`,
        `The ${label} include ${joinList(chunk.map((m) => m.name))}.`,
        `${cap(label)}: ${joinList(chunk.map((m) => `${m.name}${datesParen(m)}`))}.`,
      ]);
      passages.push([open, ...chunk.map((m) => identitySentence(m, r, m.name, r.chance(0.5)))].join(' '));
      keys.push(chunk.map((m) => m.key));
    }
    const trainQ =
      type === 'nat'
        ? [`Name a ${what} ${role}.`, `Who are some ${what} ${roles}?`, `Can you name some famous ${what} ${roles}?`]
        : [`Name a ${role} of the ${what}.`, `Which ${roles} worked in the ${what}?`];
    const valQ = type === 'nat' ? [`List a few ${what} ${roles}.`] : [`Who were some ${roles} active in the ${what}?`];
    const answer = () => {
      const pick = r.sample(members, 3);
      if (r.chance(0.4)) {
        const m = pick[0];
        return `One example is ${m.name}${datesParen(m)}, ${personHead(m, true)}.`;
      }
      return `${joinList(pick.map((m) => m.name))} ${pick.length > 1 ? 'were' : 'was'} ${type === 'nat' ? `${what} ${roles}` : `${roles} of the ${what}`}.`;
    };
    for (const t of trainQ)
      qa.push({ question: t, answer: answer(), template: `group.${type}:${trainQ.indexOf(t)}`, entity: `group:${k}` });
    if (r.chance(c.valRate))
      valQa.push({ question: valQ[0], answer: answer(), template: `group.${type}:val`, entity: `group:${k}` });
  }
  return { passages, qa, valQa, keys };
}

export const TRAIN_PHRASINGS = INTENTS.flatMap((i) => i.train);
export const VAL_PHRASINGS = INTENTS.flatMap((i) => i.val);

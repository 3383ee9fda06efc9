// Reading facts out of WordNet glosses, and the small English helpers the renderer needs.
//
// A person's gloss is a noun phrase, e.g. "Dutch Post-impressionist painter noted for his use of
// color (1853-1890)": a nationality, descriptors and a role, then relative clauses or
// participles, then parenthesised dates. A concept's gloss is a definition noun phrase, sometimes
// with a "(domain)" tag before it and more "; "-separated clauses after it.

export interface Lifespan {
  born?: string;
  died?: string;
  /** "circa", "?" in the source */
  approx: boolean;
  /** e.g. "5th century BC" when only a century is given */
  century?: string;
  /** the parenthesis as WordNet gives it, e.g. "1853-1890" */
  text: string;
}

export interface PersonGloss {
  /** "(Greek mythology)" style tag before the gloss, without the parentheses */
  context?: string;
  /** as written in the gloss: "Dutch", "United States" */
  nationality?: string;
  /** the adjective for "X was Dutch" ("United States" → "American") */
  nationalityAdj?: string;
  /** "the Netherlands" */
  country?: string;
  birthplace?: string;
  life?: Lifespan;
  /** the gloss without dates and birthplace parentheses */
  def: string;
  /** first clause up to any relative clause / participle: "Dutch Post-impressionist painter" */
  head: string;
  /** the whole first clause: "Dutch Post-impressionist painter noted for his use of color" */
  first: string;
  /** further facts as subject-less predicates: "was noted for his use of color", "developed Tiffany glass" */
  predicates: string[];
  /** predicates[0] restates the tail of the first clause (so it repeats `first`) */
  headTail: boolean;
  /** "was noted for his use of color" when the gloss says so */
  knownFor?: string;
  pronoun?: 'he' | 'she';
  /** past ("was") unless the gloss only gives a birth year */
  living: boolean;
}

export interface ConceptGloss {
  context?: string;
  /** first clause of the definition */
  def: string;
  /** later clauses, each a sentence or predicate */
  extra: string[];
  examples: string[];
}

/** demonym (as glosses write it) → [adjective for "X was …", country phrase] */
const DEMONYMS: Record<string, [string, string]> = {
  'United States': ['American', 'the United States'],
  American: ['American', 'the United States'],
  English: ['English', 'England'],
  Englishman: ['English', 'England'],
  British: ['British', 'Britain'],
  Scottish: ['Scottish', 'Scotland'],
  Scots: ['Scottish', 'Scotland'],
  Welsh: ['Welsh', 'Wales'],
  Irish: ['Irish', 'Ireland'],
  French: ['French', 'France'],
  German: ['German', 'Germany'],
  Prussian: ['Prussian', 'Prussia'],
  Bavarian: ['Bavarian', 'Bavaria'],
  Italian: ['Italian', 'Italy'],
  Florentine: ['Florentine', 'Florence'],
  Venetian: ['Venetian', 'Venice'],
  Roman: ['Roman', 'Rome'],
  Genoese: ['Genoese', 'Genoa'],
  Sicilian: ['Sicilian', 'Sicily'],
  Neapolitan: ['Neapolitan', 'Naples'],
  Spanish: ['Spanish', 'Spain'],
  Catalan: ['Catalan', 'Catalonia'],
  Portuguese: ['Portuguese', 'Portugal'],
  Dutch: ['Dutch', 'the Netherlands'],
  Flemish: ['Flemish', 'Flanders'],
  Belgian: ['Belgian', 'Belgium'],
  Swiss: ['Swiss', 'Switzerland'],
  Austrian: ['Austrian', 'Austria'],
  Russian: ['Russian', 'Russia'],
  Soviet: ['Soviet', 'the Soviet Union'],
  Polish: ['Polish', 'Poland'],
  Czech: ['Czech', 'the Czech lands'],
  Czechoslovakian: ['Czechoslovakian', 'Czechoslovakia'],
  Hungarian: ['Hungarian', 'Hungary'],
  Swedish: ['Swedish', 'Sweden'],
  Norwegian: ['Norwegian', 'Norway'],
  Danish: ['Danish', 'Denmark'],
  Finnish: ['Finnish', 'Finland'],
  Icelandic: ['Icelandic', 'Iceland'],
  Greek: ['Greek', 'Greece'],
  Athenian: ['Athenian', 'Athens'],
  Macedonian: ['Macedonian', 'Macedonia'],
  Egyptian: ['Egyptian', 'Egypt'],
  Babylonian: ['Babylonian', 'Babylon'],
  Persian: ['Persian', 'Persia'],
  Iranian: ['Iranian', 'Iran'],
  Indian: ['Indian', 'India'],
  Pakistani: ['Pakistani', 'Pakistan'],
  Chinese: ['Chinese', 'China'],
  Japanese: ['Japanese', 'Japan'],
  Korean: ['Korean', 'Korea'],
  Mongolian: ['Mongolian', 'Mongolia'],
  Vietnamese: ['Vietnamese', 'Vietnam'],
  Indonesian: ['Indonesian', 'Indonesia'],
  Tibetan: ['Tibetan', 'Tibet'],
  Thai: ['Thai', 'Thailand'],
  Burmese: ['Burmese', 'Burma'],
  Filipino: ['Filipino', 'the Philippines'],
  Israeli: ['Israeli', 'Israel'],
  Palestinian: ['Palestinian', 'Palestine'],
  Syrian: ['Syrian', 'Syria'],
  Lebanese: ['Lebanese', 'Lebanon'],
  Turkish: ['Turkish', 'Turkey'],
  Armenian: ['Armenian', 'Armenia'],
  Canadian: ['Canadian', 'Canada'],
  Mexican: ['Mexican', 'Mexico'],
  Cuban: ['Cuban', 'Cuba'],
  Jamaican: ['Jamaican', 'Jamaica'],
  Haitian: ['Haitian', 'Haiti'],
  Brazilian: ['Brazilian', 'Brazil'],
  Argentine: ['Argentine', 'Argentina'],
  Argentinian: ['Argentinian', 'Argentina'],
  Chilean: ['Chilean', 'Chile'],
  Colombian: ['Colombian', 'Colombia'],
  Venezuelan: ['Venezuelan', 'Venezuela'],
  Peruvian: ['Peruvian', 'Peru'],
  Uruguayan: ['Uruguayan', 'Uruguay'],
  Nicaraguan: ['Nicaraguan', 'Nicaragua'],
  Guatemalan: ['Guatemalan', 'Guatemala'],
  Australian: ['Australian', 'Australia'],
  'New Zealand': ['New Zealand', 'New Zealand'],
  'South African': ['South African', 'South Africa'],
  Nigerian: ['Nigerian', 'Nigeria'],
  Kenyan: ['Kenyan', 'Kenya'],
  Ghanaian: ['Ghanaian', 'Ghana'],
  Ethiopian: ['Ethiopian', 'Ethiopia'],
  Algerian: ['Algerian', 'Algeria'],
  Moroccan: ['Moroccan', 'Morocco'],
  Romanian: ['Romanian', 'Romania'],
  Bulgarian: ['Bulgarian', 'Bulgaria'],
  Yugoslav: ['Yugoslav', 'Yugoslavia'],
  Serbian: ['Serbian', 'Serbia'],
  Croatian: ['Croatian', 'Croatia'],
  Slovak: ['Slovak', 'Slovakia'],
  Slovenian: ['Slovenian', 'Slovenia'],
  Lithuanian: ['Lithuanian', 'Lithuania'],
  Latvian: ['Latvian', 'Latvia'],
  Estonian: ['Estonian', 'Estonia'],
  Ukrainian: ['Ukrainian', 'Ukraine'],
  Byzantine: ['Byzantine', 'the Byzantine Empire'],
  Carthaginian: ['Carthaginian', 'Carthage'],
};
const DEMONYM_KEYS = Object.keys(DEMONYMS).sort((a, b) => b.length - a.length);
const DEMONYM_WORD_RE = new RegExp(`\\b(${DEMONYM_KEYS.join('|')})\\b`);
/** the leftmost demonym in a phrase (longest first at the same position) */
const DEMONYM_RE = new RegExp(`(?:^| )(${DEMONYM_KEYS.join('|')})(?:man|woman)?(?=[ -]|$)`);

/** words that begin a predicate with "was": participles and predicate adjectives */
const PARTICIPLES = new Set([
  'noted',
  'known',
  'remembered',
  'celebrated',
  'renowned',
  'best',
  'considered',
  'regarded',
  'credited',
  'called',
  'born',
  'influenced',
  'trained',
  'associated',
  'famed',
  'honored',
  'acclaimed',
  'admired',
  'educated',
  'elected',
  'appointed',
  'executed',
  'killed',
  'assassinated',
  'exiled',
  'imprisoned',
  'said',
  'believed',
  'thought',
  'involved',
  'married',
  'descended',
  'characterized',
  'marked',
  'used',
  'made',
  'built',
  'designed',
  'painted',
  'founded',
  'best-known',
  'inspired',
  'based',
  'derived',
  'named',
]);
/** adjectives that take "was" directly before a preposition ("active in"), else "was a …" */
const PRED_ADJ = new Set([
  'prominent',
  'important',
  'popular',
  'influential',
  'active',
  'notable',
  'famous',
  'responsible',
  'devoted',
  'dedicated',
  'instrumental',
  'successful',
  'skilled',
]);
const PREPS = new Set(['in', 'for', 'as', 'among', 'with', 'to', 'during', 'at', 'on', 'from', 'by', 'throughout']);
/** irregular past-tense verbs that can start a predicate */
const PAST_VERBS = new Set([
  'wrote',
  'made',
  'built',
  'led',
  'won',
  'drew',
  'took',
  'began',
  'became',
  'brought',
  'fought',
  'founded',
  'gave',
  'held',
  'knew',
  'left',
  'lost',
  'met',
  'ran',
  'sang',
  'saw',
  'set',
  'sold',
  'spent',
  'taught',
  'told',
  'threw',
  'understood',
  'was',
  'were',
  'had',
  'did',
  'rose',
  'sought',
  'struck',
  'swam',
  'bore',
  'broke',
  'chose',
  'flew',
  'froze',
  'grew',
  'hid',
  'lay',
  'read',
  'rode',
  'shot',
  'spoke',
  'stole',
  'thought',
  'wore',
  'fled',
  'dug',
  'cast',
  'put',
  'overthrew',
  'undertook',
]);
const DETERMINERS =
  /^(a|an|the|one|any|some|this|that|these|those|his|her|its|their|each|every|no|two|three|several|many|all|either|both|another|such)\b/i;
const PRONOUN_START = /^(he|she|it|they|his|her|its|their|him|them)\b/i;

export function cap(s: string): string {
  return s.length ? s[0].toUpperCase() + s.slice(1) : s;
}

/** 'a' or 'an' for a phrase, by its first sound (spelling heuristics). */
export function article(phrase: string): 'a' | 'an' {
  const w = phrase.trim().toLowerCase();
  if (/^(uni|use|usu|uti|ubiq|ukr|eu|ewe|one\b|once|ur[aeiou]|u\b|u-)/.test(w)) return 'a';
  if (/^(hour|honest|honou?r|heir|herb\b)/.test(w)) return 'an';
  if (/^[aeiou]/.test(w)) return 'an';
  if (/^[fhlmnrsx]\b/.test(w) || /^[fhlmnrsx]-/.test(w)) return 'an';
  return 'a';
}

/** The phrase with an indefinite article, unless it already starts with a determiner. */
export function withArticle(np: string): string {
  return DETERMINERS.test(np) ? np : `${article(np)} ${np}`;
}

/** "A", "A and B", "A, B and C" */
export function joinList(items: string[], conj = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conj} ${items[items.length - 1]}`;
}

/** Trim, drop a trailing period and make sure it ends with '.' and starts with a capital. */
export function sentence(s: string): string {
  let t = s
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/\s+([,.;:])/g, '$1');
  t = t.replace(/[.;,:]+$/, '');
  return `${cap(t)}.`;
}

/** Split a leading "(domain) " tag off a gloss. */
export function splitContext(def: string): { context?: string; rest: string } {
  const m = def.match(/^\(([^()]+)\)\s*(.*)$/);
  return m ? { context: m[1], rest: m[2] } : { rest: def };
}

function splitClauses(def: string): string[] {
  // split on ';' outside parentheses
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of def) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ';' && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function era(y: string, e?: string): string {
  return e ? `${y} ${e.trim()}` : y;
}

/** Parse the inside of a dates parenthesis; null if it is not one. */
export function parseLifespan(t: string): (Lifespan & { birthplace?: string }) | null {
  const s = t.trim();
  let m = s.match(/^(circa |c\.? ?|ca\.? ?)?(\?|\d+)(\?)?( BC| AD)?\s*(?:-|to)\s*(AD )?(\d+)(\?)?( BC| AD)?$/);
  if (m) {
    const approx = !!m[1] || !!m[3] || !!m[7] || m[2] === '?';
    let e1 = m[4]?.trim();
    const e2 = m[8]?.trim() ?? (m[5] ? 'AD' : undefined);
    if (!e1 && e2 === 'BC') e1 = 'BC';
    const bornEra = e1 === 'AD' && e2 === 'AD' ? undefined : e1;
    return {
      born: m[2] === '?' ? undefined : era(m[2], bornEra === 'AD' ? undefined : bornEra),
      died: era(
        m[6],
        e2 === 'AD' && !e1 ? undefined : e2 === 'AD' && e1 === 'BC' ? 'AD' : e2 === 'BC' ? 'BC' : undefined,
      ),
      approx,
      text: s,
    };
  }
  m = s.match(/^(\d+)-$/);
  if (m) return { born: m[1], approx: false, text: s };
  m = s.match(/^born(?: in ([A-Z][^0-9]*?))?(?: in)? (\d+)$/);
  if (m) return { born: m[2], approx: false, text: s, birthplace: m[1] };
  m = s.match(/^died (?:in |around )?(\d+)( BC)?$/);
  if (m) return { died: era(m[1], m[2]), approx: /around/.test(s), text: s };
  m = s.match(/^(?:(circa|c\.|early|late) )?(\d+(?:st|nd|rd|th) century(?: BC)?)$/);
  if (m)
    return { century: m[1] && m[1] !== 'circa' && m[1] !== 'c.' ? `${m[1]} ${m[2]}` : m[2], approx: !!m[1], text: s };
  m = s.match(/^(?:circa|c\.|ca\.) (\d+)( BC)?$/);
  if (m) return { century: undefined, born: undefined, approx: true, text: s };
  if (/\d/.test(s) && /^(flourished|reigned|died|born|circa|ca\.|c\.)/.test(s)) return { approx: true, text: s };
  return null;
}

/** Turn a clause that follows a person's name into a predicate ("was …", "developed …"). */
export function toPredicate(clause: string, past: boolean): string {
  const c = clause
    .trim()
    .replace(/^(and|but)\s+/, '')
    .replace(/ and (who|that) /g, ' and ');
  const be = past ? 'was' : 'is';
  const first = c
    .split(/\s+/)[0]
    .toLowerCase()
    .replace(/[^a-z-]/g, '');
  if (first === 'who' || first === 'that') return c.replace(/^(who|that)\s+/i, '');
  if (
    PARTICIPLES.has(first) ||
    /^(best|well|widely|often|sometimes|later|also|first|perhaps|remembered)\b/.test(first)
  ) {
    if (first === 'made' || first === 'built' || first === 'designed' || first === 'painted' || first === 'founded') {
      // "designed many churches" is a finite verb; "designed by X" is a participle
      return /^\w+ by\b/.test(c) ? `${be} ${c}` : c;
    }
    return `${be} ${c}`;
  }
  if (PRED_ADJ.has(first)) {
    const second = (c.split(/\s+/)[1] ?? '').toLowerCase();
    return PREPS.has(second) ? `${be} ${c}` : `${be} ${withArticle(c)}`;
  }
  if (PAST_VERBS.has(first) || (/ed$/.test(first) && first.length > 4)) return c;
  if (DETERMINERS.test(c)) return `${be} ${c}`;
  return `${be} ${withArticle(c)}`;
}

/** Where the head noun phrase of a person's first clause ends. */
const HEAD_END =
  /\s(?:well known|best known|who|whose|whom|that|which|noted|known|remembered|famous|celebrated|renowned|best known|considered|regarded|credited|called|said|born|died|often|widely|remembered)\b|,/;

export function parsePersonGloss(rawDef: string): PersonGloss {
  const { context, rest } = splitContext(rawDef.trim());
  let def = rest;
  let life: Lifespan | undefined;
  let birthplace: string | undefined;
  // pull date / birthplace parentheses out (last one first)
  def = def.replace(/\s*\(([^()]*)\)/g, (all, inner: string) => {
    const bp = inner.match(/^born in ((?:the )?[A-Z][A-Za-z .'-]*?)\s*(?:[;,].*)?$/);
    if (bp) {
      birthplace = bp[1];
      return '';
    }
    const l = parseLifespan(inner);
    if (l) {
      if (l.birthplace) birthplace = l.birthplace;
      delete l.birthplace;
      life = l;
      return '';
    }
    return all;
  });
  def = def
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[;,.]$/, '');
  const clauses = splitClauses(def);
  const first = clauses[0] ?? def;
  const cut = first.search(HEAD_END);
  const head = (cut > 0 ? first.slice(0, cut) : first).trim();
  // the nationality is the earliest demonym in the head ("surrealist Spanish painter")
  const nationality: string | undefined = DEMONYM_RE.exec(head)?.[1];
  const living =
    !!life && !!life.born && !life.died && !life.century && !/^died/.test(life.text) && !/\?/.test(life.text);
  const past = !living;
  const predicates: string[] = [];
  const headTail = cut > 0 && !!first.slice(cut).replace(/^,?\s*/, '');
  if (cut > 0) {
    const tail = first.slice(cut).replace(/^,?\s*/, '');
    if (/^whose\s/.test(tail)) predicates.push(`'s ${tail.slice(6)}`);
    else if (tail) predicates.push(toPredicate(tail, past));
  }
  for (const c of clauses.slice(1)) {
    if (PRONOUN_START.test(c)) predicates.push(`. ${cap(c)}`);
    else predicates.push(toPredicate(c, past));
  }
  let knownFor: string | undefined;
  const kf = def.match(
    /\b(noted|(?:well |best )?known|remembered|famous|celebrated|renowned|famed|notable)( chiefly| mainly| especially| primarily)? (for|as) ([^;()]+)/,
  );
  if (kf) knownFor = `${past ? 'was' : 'is'} ${kf[1]}${kf[2] ?? ''} ${kf[3]} ${kf[4].trim()}`;
  let pronoun: 'he' | 'she' | undefined;
  if (
    /\b(she|her|hers|herself|wife|daughter|sister|mother|queen|actress|princess|empress|duchess|woman|heroine|goddess|niece|aunt|widow|nun|ballerina)\b/i.test(
      rawDef,
    )
  )
    pronoun = 'she';
  else if (
    /\b(he|his|him|himself|husband|son|brother|father|king|actor|prince|emperor|duke|man|hero|god|nephew|uncle|widower|monk)\b/i.test(
      rawDef,
    )
  )
    pronoun = 'he';
  const dem = nationality ? DEMONYMS[nationality] : undefined;
  return {
    context,
    nationality,
    nationalityAdj: dem?.[0],
    country: dem?.[1],
    birthplace,
    life,
    def,
    head,
    first,
    predicates,
    headTail,
    knownFor,
    pronoun,
    living,
  };
}

/** Attach a predicate to a subject: "X" + "was noted for …" → "X was noted for …". */
export function predicateSentence(subject: string, pred: string): string {
  if (pred.startsWith("'s ")) return sentence(`${subject}${pred}`);
  if (pred.startsWith('. ')) return sentence(pred.slice(2));
  return sentence(`${subject} ${pred}`);
}

export function parseConceptGloss(rawDef: string, examples: string[] = []): ConceptGloss {
  const { context, rest } = splitContext(rawDef.trim());
  const clauses = splitClauses(rest.replace(/\s+/g, ' ').trim());
  return { context, def: (clauses[0] ?? rest).replace(/[.,]$/, ''), extra: clauses.slice(1), examples };
}

/** Does a definition read as a noun phrase (so "X is <def>" works)? */
export function defIsNounPhrase(def: string): boolean {
  return !/^(to|of|relating|pertaining|used|having|being|make|makes|consisting)\b/i.test(def);
}

/** A time expression in a gloss: "late 19th century", "1907", "the 1950s". */
export function findPeriod(def: string): string | undefined {
  let m = def.match(/\b((?:early |late |mid-|the early |the late )?\d{1,2}(?:st|nd|rd|th)[- ]century(?: BC)?)/i);
  if (m) return /^the /.test(m[1]) ? m[1] : `the ${m[1].replace(/-century/, ' century')}`;
  m = def.match(/\b(?:in|from|of|around|after|since|during) (?:the )?(\d{4}s?)\b/);
  if (m) return m[1].endsWith('s') ? `the ${m[1]}` : m[1];
  return undefined;
}

/** A country or place named in a gloss ("in France", "French painters"). */
export function findPlace(def: string): string | undefined {
  const m = def.match(/\bin ((?:the )?(?:United States|United Kingdom|[A-Z][a-z]+(?: [A-Z][a-z]+)?))\b/);
  if (m && !/^(the )?(World|Europe and|English|French)$/.test(m[1])) return m[1];
  const d = DEMONYM_WORD_RE.exec(def);
  return d ? DEMONYMS[d[1]][1] : undefined;
}

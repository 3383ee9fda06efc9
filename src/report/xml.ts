// A small, strict XML well-formedness check (no DTD processing, no namespaces beyond syntax).
// Enough to prove the report's HTML (written as XHTML-compatible HTML) and every SVG parse as XML:
// one root element, properly nested and closed tags, quoted and unique attributes, only the five
// predefined entities or character references, no '<' or stray '&' in text, no characters that
// XML 1.0 forbids. Returns the problems found (empty when well-formed), each with a line number.

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

function validChar(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

export function xmlProblems(src: string, maxProblems = 20): string[] {
  const problems: string[] = [];
  let i = 0;
  const lineAt = (pos: number) => src.slice(0, pos).split('\n').length;
  const fail = (msg: string, pos = i) => {
    problems.push(`line ${lineAt(pos)}: ${msg}`);
  };
  const stack: { name: string; pos: number }[] = [];
  let roots = 0;
  let sawDoctype = false;

  for (const ch of src) {
    const c = ch.codePointAt(0)!;
    if (!validChar(c)) {
      fail(`character U+${c.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, src.indexOf(ch));
      break;
    }
  }

  // text and attribute values: check references
  const checkRefs = (text: string, at: number, inAttr: boolean) => {
    if (inAttr && text.includes('<')) fail(`'<' in an attribute value`, at);
    const re = /&([^;\s&<]*)(;?)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text))) {
      const [, body, semi] = m;
      const ok =
        semi === ';' &&
        (PREDEFINED.has(body) ||
          (/^#[0-9]+$/.test(body) && validChar(Number(body.slice(1)))) ||
          (/^#x[0-9a-fA-F]+$/.test(body) && validChar(parseInt(body.slice(2), 16))));
      if (!ok) fail(`bad reference '&${body}${semi}'`, at + m.index);
    }
  };

  while (i < src.length && problems.length < maxProblems) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? src.length : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      if (!stack.length && text.trim()) fail('text outside the root element', i);
      if (text.includes(']]>')) fail("']]>' in text", i);
      checkRefs(text, i, false);
      i = textEnd;
    }
    if (lt < 0) break;
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      if (end < 0) {
        fail('unterminated comment');
        break;
      }
      if (src.slice(i + 4, end).includes('--')) fail("'--' inside a comment");
      i = end + 3;
      continue;
    }
    if (src.startsWith('<![CDATA[', i)) {
      if (!stack.length) fail('CDATA outside the root element');
      const end = src.indexOf(']]>', i);
      if (end < 0) {
        fail('unterminated CDATA section');
        break;
      }
      i = end + 3;
      continue;
    }
    if (src.startsWith('<?', i)) {
      const end = src.indexOf('?>', i + 2);
      if (end < 0) {
        fail('unterminated processing instruction');
        break;
      }
      const target = /^<\?([A-Za-z_:][A-Za-z0-9_:.-]*)/.exec(src.slice(i, end));
      if (!target) fail('processing instruction without a target');
      else if (target[1].toLowerCase() === 'xml' && i !== 0) fail('XML declaration not at the very start');
      i = end + 2;
      continue;
    }
    if (src.startsWith('<!DOCTYPE', i)) {
      if (sawDoctype || roots || stack.length) fail('misplaced DOCTYPE');
      sawDoctype = true;
      const end = src.indexOf('>', i);
      if (end < 0) {
        fail('unterminated DOCTYPE');
        break;
      }
      if (src.slice(i, end).includes('[')) fail('internal DTD subsets are not supported by this check');
      i = end + 1;
      continue;
    }
    if (src.startsWith('</', i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(src);
      if (!m) {
        fail('bad end tag');
        i += 2;
        continue;
      }
      let j = i + 2 + m[0].length;
      while (/\s/.test(src[j] ?? '')) j++;
      if (src[j] !== '>') {
        fail(`bad end tag </${m[0]}`);
        i = j;
        continue;
      }
      const open = stack.pop();
      if (!open) fail(`end tag </${m[0]}> with nothing open`);
      else if (open.name !== m[0]) fail(`end tag </${m[0]}> does not match <${open.name}> (line ${lineAt(open.pos)})`);
      i = j + 1;
      continue;
    }
    // start tag
    NAME.lastIndex = i + 1;
    const m = NAME.exec(src);
    if (!m) {
      fail(`'<' not starting a tag`);
      i += 1;
      continue;
    }
    const name = m[0];
    const start = i;
    let j = i + 1 + name.length;
    const attrs = new Set<string>();
    let closed = false,
      selfClosing = false;
    while (j < src.length) {
      const ws = j;
      while (/\s/.test(src[j] ?? '')) j++;
      if (src[j] === '>') {
        j++;
        closed = true;
        break;
      }
      if (src.startsWith('/>', j)) {
        j += 2;
        closed = selfClosing = true;
        break;
      }
      if (j === ws) {
        fail(`expected whitespace before an attribute in <${name}>`, j);
        break;
      }
      NAME.lastIndex = j;
      const a = NAME.exec(src);
      if (!a) {
        fail(`bad attribute in <${name}>`, j);
        break;
      }
      j += a[0].length;
      while (/\s/.test(src[j] ?? '')) j++;
      if (src[j] !== '=') {
        fail(`attribute ${a[0]} in <${name}> has no value`, j);
        break;
      }
      j++;
      while (/\s/.test(src[j] ?? '')) j++;
      const q = src[j];
      if (q !== '"' && q !== "'") {
        fail(`attribute ${a[0]} in <${name}> is not quoted`, j);
        break;
      }
      const end = src.indexOf(q, j + 1);
      if (end < 0) {
        fail(`unterminated attribute ${a[0]} in <${name}>`, j);
        break;
      }
      checkRefs(src.slice(j + 1, end), j + 1, true);
      if (attrs.has(a[0])) fail(`duplicate attribute ${a[0]} in <${name}>`, j);
      attrs.add(a[0]);
      j = end + 1;
    }
    if (!closed) {
      if (problems.length < maxProblems) fail(`unterminated start tag <${name}>`, start);
      break;
    }
    if (!stack.length) {
      roots++;
      if (roots > 1) fail(`second root element <${name}>`, start);
    }
    if (!selfClosing) stack.push({ name, pos: start });
    i = j;
  }
  for (const open of stack.reverse()) {
    if (problems.length >= maxProblems) break;
    problems.push(`line ${lineAt(open.pos)}: <${open.name}> is never closed`);
  }
  if (!roots && !problems.length) problems.push('no root element');
  return problems.slice(0, maxProblems);
}

export function isWellFormedXml(src: string): boolean {
  return xmlProblems(src).length === 0;
}

/**
 * GET /api/docs: the OpenAPI document as one plain HTML page, rendered on the server.
 * No script and no outside resource, so it reads the same offline and under the
 * app's strict CSP; schemas are shown as compact TypeScript-like types.
 */
export interface OpenApiOperation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  format?: string;
  $ref?: string;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  description?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  pattern?: string;
  title?: string;
};

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Bounds and formats worth reading next to a type. */
function notes(s: JsonSchema): string {
  const out: string[] = [];
  if (s.format) out.push(s.format);
  if (s.minLength !== undefined || s.maxLength !== undefined) out.push(`length ${s.minLength ?? 0}..${s.maxLength ?? ''}`);
  if (s.minimum !== undefined || s.maximum !== undefined) out.push(`${s.minimum ?? ''}..${s.maximum ?? ''}`);
  if (s.maxItems !== undefined) out.push(`at most ${s.maxItems}`);
  if (s.pattern) out.push(`/${s.pattern}/`);
  return out.length ? ` /* ${out.join(', ')} */` : '';
}

/** Schemas with a title (Message, Thread, …), printed once under "Types" and by name elsewhere. */
type Named = Map<string, JsonSchema>;

/** `string (integer) | integer`: how the generator spells a number it would also accept as text. */
function numeric(union: JsonSchema[]): JsonSchema | null {
  if (union.length !== 2) return null;
  const text = union.find((u) => u.type === 'string' && (u.format === 'integer' || u.format === 'numeric'));
  const number = union.find((u) => u.type === 'integer' || u.type === 'number');
  return text && number ? number : null;
}

/** A schema as a TypeScript-like type, indented. */
export function typeOf(s: JsonSchema | undefined, indent = '', named?: Named, top = true): string {
  if (!s) return 'unknown';
  if (s.$ref) return s.$ref.split('/').pop()!;
  if (s.title && named && !top) {
    if (!named.has(s.title)) named.set(s.title, s);
    return s.title;
  }
  const inner = (x: JsonSchema | undefined, at = indent) => typeOf(x, at, named, false);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = s.anyOf ?? s.oneOf;
  if (union) {
    const number = numeric(union);
    if (number) return inner(number);
    const parts = union.map((u) => inner(u));
    return parts.some((p) => p.includes('\n')) ? parts.join(`\n${indent}| `) : parts.join(' | ');
  }
  const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (type === 'array') return `${wrap(inner(s.items))}[]${notes(s)}`;
  if (type === 'object' || s.properties) {
    const props = Object.entries(s.properties ?? {});
    if (!props.length) {
      const values = s.patternProperties ? Object.values(s.patternProperties)[0] : undefined;
      if (values) return `Record<string, ${inner(values)}>`;
      return typeof s.additionalProperties === 'object' ? `Record<string, ${inner(s.additionalProperties)}>` : '{}';
    }
    const deeper = indent + '  ';
    const required = new Set(s.required ?? []);
    const lines = props.map(([name, p]) => `${deeper}${name}${required.has(name) ? '' : '?'}: ${inner(p, deeper)}`);
    return `{\n${lines.join('\n')}\n${indent}}`;
  }
  if (type === 'string' && s.format === 'binary') return 'bytes';
  return `${type ?? 'unknown'}${notes(s)}`;
}

const wrap = (t: string) => (t.includes('|') && !t.startsWith('{') ? `(${t})` : t);

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function renderOperation(path: string, method: string, op: OpenApiOperation, named: Named): string {
  const typeOf_ = (x: JsonSchema | undefined) => typeOf(x, '', named);
  const id = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
  const parts = [`<section id="${escapeHtml(id)}"><h2><span class="method">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>`];
  if (op.summary) parts.push(`<p>${escapeHtml(op.summary)}</p>`);
  if (op.description) parts.push(`<p>${escapeHtml(op.description)}</p>`);
  if (op.parameters?.length) {
    parts.push('<h3>Parameters</h3><ul>');
    for (const p of op.parameters) {
      parts.push(
        `<li><code>${escapeHtml(p.name)}</code> (${escapeHtml(p.in)}${p.required ? ', required' : ''}): <code>${escapeHtml(typeOf_(p.schema))}</code></li>`,
      );
    }
    parts.push('</ul>');
  }
  const body = op.requestBody?.content;
  if (body) {
    const [type, media] = Object.entries(body).find(([k]) => k === 'application/json') ?? Object.entries(body)[0] ?? [];
    if (type) parts.push(`<h3>Request body <small>${escapeHtml(type)}</small></h3><pre>${escapeHtml(typeOf_(media?.schema))}</pre>`);
  }
  const responses = Object.entries(op.responses ?? {});
  const success = responses.filter(([status]) => status.startsWith('2'));
  const errors = responses.filter(([status]) => !status.startsWith('2')).map(([status]) => status);
  if (success.length) parts.push('<h3>Answers</h3>');
  for (const [status, response] of success) {
    const content = Object.entries(response.content ?? {})[0];
    parts.push(`<h4>${escapeHtml(status)}${content ? ` <small>${escapeHtml(content[0])}</small>` : ''}</h4>`);
    if (response.description && !/^Response for status/.test(response.description)) parts.push(`<p>${escapeHtml(response.description)}</p>`);
    parts.push(content ? `<pre>${escapeHtml(typeOf_(content[1].schema))}</pre>` : '<p>No content.</p>');
  }
  if (errors.length) parts.push(`<p class="errors">Errors: ${errors.map(escapeHtml).join(', ')}, each an <a href="#errors">error body</a>.</p>`);
  parts.push('</section>');
  return parts.join('\n');
}

export function renderDocs(doc: OpenApiDocument): string {
  const entries = Object.entries(doc.paths)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([path, ops]) =>
      METHODS.filter((m) => ops[m]).map((m) => ({ path, method: m, op: ops[m]! })),
    );
  const toc = entries
    .map(({ path, method }) => {
      const id = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
      return `<li><a href="#${escapeHtml(id)}"><span class="method">${method.toUpperCase()}</span> ${escapeHtml(path)}</a></li>`;
    })
    .join('\n');
  const named: Named = new Map();
  const operations = entries.map(({ path, method, op }) => renderOperation(path, method, op, named)).join('\n');
  // Printing a named type may name others: go until none is new.
  const types: string[] = [];
  for (let i = 0; i < named.size; i++) {
    const [name, schema] = [...named][i]!;
    types.push(`<section id="type-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3><pre>${escapeHtml(typeOf(schema, '', named))}</pre></section>`);
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #1b1b1f; background: #fff; }
@media (prefers-color-scheme: dark) { body { color: #e6e6ea; background: #141416; } pre, code { background: #24242a; } }
pre, code { font: 14px/1.4 ui-monospace, monospace; background: #f3f3f6; border-radius: 4px; }
pre { padding: .75rem; overflow-x: auto; }
code { padding: 0 .2em; }
section { border-top: 1px solid #8884; padding-top: .5rem; margin-top: 1.5rem; }
.method { font-weight: 700; font-family: ui-monospace, monospace; }
nav ul { columns: 2 20rem; padding-left: 1rem; }
h2 { font-size: 1.2rem; } h3 { font-size: 1rem; margin-bottom: .25rem; } h4 { margin: .5rem 0 .25rem; font-size: .95rem; }
small { font-weight: 400; opacity: .75; }
</style>
</head>
<body>
<header>
<h1>${escapeHtml(doc.info.title)}</h1>
<p>${escapeHtml(doc.info.description ?? '')}</p>
<p>The same contract as a machine-readable document: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}).</p>
</header>
<nav aria-label="Routes"><ul>
${toc}
</ul></nav>
<main>
${operations}
<section id="errors"><h2>Error body</h2>
<pre>{
  error: {
    code: string      /* invalid_input, unauthorized, forbidden, not_found, conflict, rate_limited, … */
    message: string   /* for a person */
    fields?: Record&lt;string, string&gt;   /* on a 400: why each field is refused */
    errorId?: string  /* on a 500: the id the server logged it under */
  }
}</pre></section>
<h2 id="types">Types</h2>
${types.sort().join('\n')}
</main>
</body>
</html>`;
}

// API documentation page: loads openapi.json (OpenAPI 3.1) from the same service and renders
// it. Every string from the document is put into the page with textContent or as an attribute
// value, never parsed as HTML. No dependencies, no build step.
'use strict';

(() => {
  const TOKEN_KEY = 'apidocs.bearerToken';
  const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'query'];
  const MAX_DEPTH = 24; // schema nesting guard, on top of the $ref cycle guard
  const OPEN_DEPTH = 1; // nested schema levels shown expanded
  const MAX_BODY_CHARS = 1 << 20;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  let doc = {};
  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;
  const ops = []; // {el, section, haystack}
  const sections = [];

  // ---------------------------------------------------------------- DOM helpers

  // h('div', {class: 'x', text: 'hello'}, child, 'text') builds an element. Strings become text
  // nodes; attributes go through setAttribute; on* keys add event listeners.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = String(v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const has = (o, k) => isObj(o) && Object.prototype.hasOwnProperty.call(o, k);
  const str = (v) => (typeof v === 'string' ? v : '');

  // Text with paragraphs: blank lines separate paragraphs, single newlines are kept (CSS).
  function paragraphs(text, cls) {
    const div = h('div', { class: cls ? `text ${cls}` : 'text' });
    if (typeof text !== 'string' || !text.trim()) return null;
    for (const para of text.trim().split(/\n[ \t]*\n+/)) div.append(h('p', { text: para.trim() }));
    return div;
  }

  // Only links that cannot run script.
  function safeHref(url) {
    if (typeof url !== 'string') return null;
    try {
      const u = new URL(url, location.href);
      return ['http:', 'https:', 'mailto:'].includes(u.protocol) ? u.href : null;
    } catch {
      return null;
    }
  }

  function link(url, text) {
    const href = safeHref(url);
    return href ? h('a', { href, rel: 'noopener noreferrer' }, text || url) : h('span', { text: text || url });
  }

  function json(v, indent) {
    try {
      const s = JSON.stringify(v, null, indent ? 2 : undefined);
      return s === undefined ? String(v) : s;
    } catch {
      return String(v);
    }
  }

  function short(v, max = 120) {
    const s = json(v);
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  }

  function lockIcon(open) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('width', '14');
    svg.setAttribute('height', '14');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', open ? 'lock lock-open' : 'lock');
    const shackle = document.createElementNS(SVG_NS, 'path');
    shackle.setAttribute('d', open ? 'M5 7V4.5a3 3 0 0 1 5.9-.8' : 'M5 7V5a3 3 0 0 1 6 0v2');
    shackle.setAttribute('fill', 'none');
    shackle.setAttribute('stroke', 'currentColor');
    shackle.setAttribute('stroke-width', '1.6');
    const body = document.createElementNS(SVG_NS, 'rect');
    body.setAttribute('x', '3');
    body.setAttribute('y', '7');
    body.setAttribute('width', '10');
    body.setAttribute('height', '8');
    body.setAttribute('rx', '1.5');
    body.setAttribute('fill', 'currentColor');
    svg.append(shackle, body);
    return svg;
  }

  // A <details> whose content is built the first time it opens.
  function lazyDetails(summary, build, open, cls) {
    const d = h('details', { class: cls });
    d.append(summary);
    let built = false;
    const ensure = () => {
      if (built) return;
      built = true;
      try {
        append(d, [build()]);
      } catch (err) {
        d.append(h('p', { class: 'error', text: `Could not render this part: ${err.message}` }));
      }
    };
    d.addEventListener('toggle', () => d.open && ensure());
    if (open) {
      d.open = true;
      ensure();
    }
    return d;
  }

  // ---------------------------------------------------------------- references

  // resolvePointer follows a local reference (#/components/schemas/X) into the document.
  function resolvePointer(ref) {
    if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined;
    let frag = ref.slice(1);
    try {
      frag = decodeURIComponent(frag);
    } catch {
      return undefined;
    }
    if (frag === '') return doc;
    if (!frag.startsWith('/')) return undefined;
    let cur = doc;
    for (const raw of frag.slice(1).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, key)) {
        return undefined;
      }
      cur = cur[key];
    }
    return cur;
  }

  function refName(ref) {
    const parts = String(ref).split('/');
    const last = parts[parts.length - 1] || ref;
    try {
      return decodeURIComponent(last).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return last;
    }
  }

  // deref resolves a Reference Object (parameter, response, example, ...); its summary and
  // description replace the target's (OpenAPI 3.1).
  function deref(obj) {
    const seen = new Set();
    let cur = obj;
    while (isObj(cur) && typeof cur.$ref === 'string') {
      if (seen.has(cur.$ref)) return { $unresolved: cur.$ref };
      seen.add(cur.$ref);
      const target = resolvePointer(cur.$ref);
      if (!isObj(target)) return { $unresolved: cur.$ref, description: cur.description };
      const next = { ...target };
      if (typeof cur.summary === 'string') next.summary = cur.summary;
      if (typeof cur.description === 'string') next.description = cur.description;
      cur = next;
    }
    return isObj(cur) ? cur : {};
  }

  // Sibling keywords of a schema $ref apply with it (JSON Schema 2020-12): shown merged.
  function mergeSiblings(target, refSchema) {
    const out = isObj(target) ? { ...target } : target === false ? { not: {} } : {};
    for (const [k, v] of Object.entries(refSchema)) {
      if (k === '$ref') continue;
      if (k === 'properties' && isObj(out.properties) && isObj(v)) out.properties = { ...out.properties, ...v };
      else if (k === 'required' && Array.isArray(out.required) && Array.isArray(v)) {
        out.required = [...new Set([...out.required, ...v])];
      } else if (k === 'allOf' && Array.isArray(out.allOf) && Array.isArray(v)) out.allOf = [...out.allOf, ...v];
      else out[k] = v;
    }
    return out;
  }

  // resolveSchema follows $ref chains. stack holds the refs being expanded above this point:
  // meeting one again is a cycle, reported instead of expanded.
  function resolveSchema(schema, stack) {
    if (schema === true || schema === undefined) return { s: {}, refs: [] };
    if (schema === false) return { s: { not: {} }, refs: [], never: true };
    if (!isObj(schema)) return { s: {}, refs: [] };
    let s = schema;
    let name;
    const refs = [];
    while (isObj(s) && typeof s.$ref === 'string') {
      const ref = s.$ref;
      if (stack.includes(ref) || refs.includes(ref)) {
        return { s: mergeSiblings({}, s), name: name || refName(ref), refs, cyclic: ref };
      }
      const target = resolvePointer(ref);
      if (target === undefined) {
        return { s: mergeSiblings({}, s), name: name || refName(ref), refs, unresolved: ref };
      }
      refs.push(ref);
      if (!name) name = refName(ref);
      s = mergeSiblings(target, s);
      if (has(target, '$ref')) s.$ref = target.$ref;
    }
    return { s, name, refs };
  }

  // flattenAllOf merges allOf parts into one schema for display (properties and required are
  // combined; otherwise the first value of a keyword wins). Returns the names of the parts.
  function flattenAllOf(schema, stack) {
    if (!Array.isArray(schema.allOf)) return { s: schema, names: [] };
    const out = { ...schema };
    delete out.allOf;
    const names = [];
    const rest = [];
    let props = null; // the parts' properties in their order; the schema's own ones last
    for (const part of schema.allOf) {
      const r = resolveSchema(part, stack);
      if (r.cyclic || r.unresolved) {
        rest.push(part);
        if (r.name) names.push(r.name);
        continue;
      }
      const inner = flattenAllOf(r.s, stack.concat(r.refs));
      if (r.name) names.push(r.name);
      names.push(...inner.names);
      for (const [k, v] of Object.entries(inner.s)) {
        if (k === 'properties' && isObj(v)) props = { ...(props || {}), ...v };
        else if (k === 'required' && Array.isArray(v)) out.required = [...new Set([...(out.required || []), ...v])];
        else if (!has(out, k)) out[k] = v;
      }
    }
    if (props) out.properties = { ...props, ...(isObj(schema.properties) ? schema.properties : {}) };
    if (rest.length) out.allOf = rest;
    return { s: out, names };
  }

  // ---------------------------------------------------------------- schema description

  function typesOf(s) {
    let types = [];
    if (Array.isArray(s.type)) types = s.type.filter((t) => typeof t === 'string');
    else if (typeof s.type === 'string') types = [s.type];
    if (!types.length) {
      if (has(s, 'const')) types = [jsonType(s.const)];
      else if (Array.isArray(s.enum) && s.enum.length) types = [...new Set(s.enum.map(jsonType))];
      else if (isObj(s.properties) || isObj(s.additionalProperties) || isObj(s.patternProperties)) types = ['object'];
      else if (has(s, 'items') || Array.isArray(s.prefixItems)) types = ['array'];
    }
    if (s.nullable === true && !types.includes('null')) types.push('null');
    return types;
  }

  function jsonType(v) {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'array';
    if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
    return typeof v;
  }

  // typeLabel: "string | null", "array<Container>", "one of: A | B", "Container" (ref name is
  // added by the caller).
  function typeLabel(schema, stack, depth = 0) {
    const r = resolveSchema(schema, stack);
    if (r.never) return 'never';
    const { s } = flattenAllOf(r.s, stack.concat(r.refs));
    const parts = typesOf(s).map((t) => {
      if (t !== 'array') return t;
      if (depth > 2) return 'array';
      if (Array.isArray(s.prefixItems)) return 'array (tuple)';
      if (s.items === false) return 'array (empty)';
      if (has(s, 'items') && s.items !== true) {
        const ir = resolveSchema(s.items, stack.concat(r.refs));
        const inner = ir.name || typeLabel(s.items, stack.concat(r.refs), depth + 1);
        return `array<${inner}>`;
      }
      return 'array';
    });
    for (const kw of ['oneOf', 'anyOf']) {
      if (Array.isArray(s[kw]) && s[kw].length) {
        const alts = s[kw].map((v) => resolveSchema(v, stack).name || typeLabel(v, stack, depth + 1));
        parts.push(`${kw === 'oneOf' ? 'one of' : 'any of'}: ${alts.join(' | ')}`);
      }
    }
    if (isObj(s.not) && !Object.keys(s.not).length) return 'never';
    return parts.join(' | ') || 'any';
  }

  // Facts about a schema shown as small chips: format, bounds, pattern, flags.
  function constraintChips(s) {
    const chips = [];
    const add = (label, value, cls) =>
      chips.push(h('span', { class: `chip${cls ? ` ${cls}` : ''}` }, value === undefined ? label : [`${label} `, h('code', { text: value })]));
    if (typeof s.format === 'string') add('format', s.format, 'fmt');
    const num = (v) => typeof v === 'number';
    if (num(s.minimum)) add(s.exclusiveMinimum === true ? '>' : '≥', String(s.minimum));
    if (num(s.exclusiveMinimum)) add('>', String(s.exclusiveMinimum));
    if (num(s.maximum)) add(s.exclusiveMaximum === true ? '<' : '≤', String(s.maximum));
    if (num(s.exclusiveMaximum)) add('<', String(s.exclusiveMaximum));
    if (num(s.multipleOf)) add('multiple of', String(s.multipleOf));
    if (num(s.minLength)) add('min length', String(s.minLength));
    if (num(s.maxLength)) add('max length', String(s.maxLength));
    if (typeof s.pattern === 'string') add('pattern', s.pattern, 'pattern');
    if (num(s.minItems)) add('min items', String(s.minItems));
    if (num(s.maxItems)) add('max items', String(s.maxItems));
    if (s.uniqueItems === true) add('unique items');
    if (num(s.minProperties)) add('min properties', String(s.minProperties));
    if (num(s.maxProperties)) add('max properties', String(s.maxProperties));
    if (typeof s.contentMediaType === 'string') add('content', s.contentMediaType);
    if (typeof s.contentEncoding === 'string') add('encoding', s.contentEncoding);
    if (s.readOnly === true) add('read-only', undefined, 'flag');
    if (s.writeOnly === true) add('write-only', undefined, 'flag');
    if (s.deprecated === true) add('deprecated', undefined, 'warn');
    return chips;
  }

  // Values: const, enum, default, example(s).
  function valueLines(s) {
    const lines = [];
    const values = (label, list) =>
      lines.push(h('div', { class: 'values' }, h('span', { class: 'label', text: `${label}:` }),
        list.map((v) => [' ', h('code', { class: 'value', text: short(v) })])));
    if (has(s, 'const')) values('const', [s.const]);
    if (Array.isArray(s.enum)) values('enum', s.enum);
    if (has(s, 'default')) values('default', [s.default]);
    const examples = [];
    if (has(s, 'example')) examples.push(s.example);
    if (Array.isArray(s.examples)) examples.push(...s.examples);
    if (examples.length) {
      const long = examples.some((v) => isObj(v) || Array.isArray(v)) && json(examples, true).length > 80;
      if (long) {
        lines.push(h('div', { class: 'values' }, h('span', { class: 'label', text: examples.length > 1 ? 'examples:' : 'example:' }),
          examples.map((v) => h('pre', { class: 'code example', text: json(v, true) }))));
      } else values(examples.length > 1 ? 'examples' : 'example', examples);
    }
    return lines;
  }

  // schemaTree renders a schema: a head line (type, ref name, chips), its description and
  // values, and its children (properties, items, alternatives) as a nested list.
  function schemaTree(schema, stack = [], depth = 0) {
    const root = h('div', { class: 'schema' });
    const r = resolveSchema(schema, stack);
    const head = h('div', { class: 'schema-line' });
    appendTypeInfo(head, schema, r, stack);
    root.append(head);
    if (r.cyclic || r.unresolved) return root;
    const flat = flattenAllOf(r.s, stack.concat(r.refs));
    const s = flat.s;
    append(root, [paragraphs(s.description, 'schema-desc'), valueLines(s)]);
    const item = arrayOfObjects(s, stack.concat(r.refs));
    if (item) {
      root.append(h('div', { class: 'help', text: `Each ${item.name || 'item'}:` }));
      append(root, [paragraphs(item.s.description, 'schema-desc'), schemaChildren(item.s, item.stack, depth)]);
      return root;
    }
    const kids = schemaChildren(s, stack.concat(r.refs), depth);
    if (kids) root.append(kids);
    return root;
  }

  function appendTypeInfo(line, schema, r, stack) {
    if (r.cyclic) {
      append(line, [h('span', { class: 'type', text: r.name }),
        h('span', { class: 'chip warn', text: 'recursive: see above' })]);
      return;
    }
    if (r.unresolved) {
      append(line, [h('span', { class: 'type', text: r.name }),
        h('span', { class: 'chip warn' }, 'unresolved ', h('code', { text: r.unresolved }))]);
      return;
    }
    const flat = flattenAllOf(r.s, stack.concat(r.refs));
    const label = typeLabel(schema, stack);
    append(line, [h('span', { class: 'type', text: label })]);
    const names = [r.name, ...flat.names].filter(Boolean);
    if (names.length) line.append(h('span', { class: 'ref', title: r.refs[0] || '', text: names.join(' + ') }));
    if (typeof flat.s.title === 'string' && flat.s.title !== r.name) line.append(h('span', { class: 'title', text: flat.s.title }));
    append(line, constraintChips(flat.s));
  }

  // schemaChildren lists what a schema contains, or returns null.
  function schemaChildren(s, stack, depth) {
    const rows = [];
    const required = new Set(Array.isArray(s.required) ? s.required : []);
    if (isObj(s.properties)) {
      for (const [name, sub] of Object.entries(s.properties)) rows.push(row(name, sub, stack, depth, { required: required.has(name) }));
    }
    if (isObj(s.patternProperties)) {
      for (const [pattern, sub] of Object.entries(s.patternProperties)) rows.push(row(`/${pattern}/`, sub, stack, depth, { note: 'property names matching the pattern' }));
    }
    if (s.additionalProperties === false || s.unevaluatedProperties === false) {
      rows.push(h('li', { class: 'prop note', text: 'No other properties allowed.' }));
    } else if (isObj(s.additionalProperties)) {
      rows.push(row('[any other key]', s.additionalProperties, stack, depth, { note: 'additional properties' }));
    }
    if (Array.isArray(s.prefixItems)) {
      s.prefixItems.forEach((sub, i) => rows.push(row(`[${i}]`, sub, stack, depth, {})));
      if (s.items === false) rows.push(h('li', { class: 'prop note', text: 'No other items allowed.' }));
    }
    if (has(s, 'items') && s.items !== true && s.items !== false) {
      const ir = resolveSchema(s.items, stack);
      if (ir.cyclic || ir.unresolved || itemsWorthARow(ir.s)) rows.push(row('[items]', s.items, stack, depth, {}));
    }
    for (const kw of ['oneOf', 'anyOf']) {
      if (!Array.isArray(s[kw])) continue;
      const label = kw === 'oneOf' ? 'one of' : 'any of';
      s[kw].forEach((sub, i) => rows.push(row(`${label} #${i + 1}`, sub, stack, depth, { alt: true })));
    }
    if (Array.isArray(s.allOf)) s.allOf.forEach((sub, i) => rows.push(row(`all of #${i + 1}`, sub, stack, depth, { alt: true })));
    if (isObj(s.not) && Object.keys(s.not).length) rows.push(row('not', s.not, stack, depth, { alt: true }));
    for (const kw of ['if', 'then', 'else']) if (isObj(s[kw])) rows.push(row(kw, s[kw], stack, depth, { alt: true }));
    if (isObj(s.discriminator) && typeof s.discriminator.propertyName === 'string') {
      rows.unshift(h('li', { class: 'prop note' }, 'Discriminated by property ', h('code', { text: s.discriminator.propertyName })));
    }
    if (!rows.length) return null;
    return h('ul', { class: 'props' }, rows);
  }

  // row renders one property (or item, or alternative) of a schema.
  function row(name, sub, stack, depth, opts) {
    const li = h('li', { class: opts.alt ? 'prop alt' : 'prop' });
    const r = resolveSchema(sub, stack);
    const line = h('div', { class: 'schema-line' }, h('code', { class: 'prop-name', text: name }));
    if (opts.required) line.append(h('span', { class: 'req', title: 'required', text: 'required' }));
    appendTypeInfo(line, sub, r, stack);
    li.append(line);
    if (r.cyclic || r.unresolved) return li;
    const flat = flattenAllOf(r.s, stack.concat(r.refs));
    const s = flat.s;
    append(li, [paragraphs(s.description, 'schema-desc'), opts.note ? h('div', { class: 'help', text: opts.note }) : null, valueLines(s)]);
    if (depth >= MAX_DEPTH) {
      li.append(h('div', { class: 'help', text: '… nested too deep to show' }));
      return li;
    }
    const childStack = stack.concat(r.refs);
    if (!hasChildren(s)) return li;
    // An array of objects shows the objects' fields directly, without an [items] level.
    const item = arrayOfObjects(s, childStack);
    if (item) {
      const summary = h('summary', { class: 'nested-summary', text: `fields of each ${item.name || 'item'}` });
      li.append(lazyDetails(summary, () => schemaChildren(item.s, item.stack, depth + 1), depth < OPEN_DEPTH, 'nested'));
      return li;
    }
    const summary = h('summary', { class: 'nested-summary', text: r.name ? `${r.name} fields` : 'fields' });
    if (opts.alt) summary.textContent = r.name ? `${r.name}` : 'details';
    if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) summary.textContent = 'alternatives';
    else if (typesOf(s).includes('array') && !isObj(s.properties)) summary.textContent = 'items';
    li.append(lazyDetails(summary, () => schemaChildren(s, childStack, depth + 1), depth < OPEN_DEPTH, 'nested'));
    return li;
  }

  // arrayOfObjects returns the flattened item schema of a plain array of objects, or null.
  function arrayOfObjects(s, stack) {
    if (!typesOf(s).includes('array') || isObj(s.properties) || Array.isArray(s.prefixItems) || !isObj(s.items)) return null;
    if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf) || Array.isArray(s.allOf)) return null;
    const ir = resolveSchema(s.items, stack);
    if (ir.cyclic || ir.unresolved) return null;
    const next = stack.concat(ir.refs);
    const flat = flattenAllOf(ir.s, next);
    const is = flat.s;
    if (!isObj(is.properties) || Array.isArray(is.oneOf) || Array.isArray(is.anyOf)) return null;
    return { s: is, stack: next, name: ir.name };
  }

  function hasChildren(s) {
    if (isObj(s.properties) && Object.keys(s.properties).length) return true;
    if (isObj(s.patternProperties) || isObj(s.additionalProperties) || Array.isArray(s.prefixItems)) return true;
    if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf) || Array.isArray(s.allOf)) return true;
    if (['if', 'then', 'else'].some((k) => isObj(s[k]))) return true;
    if (has(s, 'items') && isObj(s.items)) {
      const ir = resolveSchema(s.items, []);
      return ir.cyclic !== undefined || ir.unresolved !== undefined || itemsWorthARow(ir.s);
    }
    return false;
  }

  // An array's items get their own row unless they are just a type (shown as array<type>).
  function itemsWorthARow(items) {
    return Object.keys(items).some((k) => k !== 'type' && k !== '$ref');
  }

  // ---------------------------------------------------------------- examples

  // exampleValue builds a request example from a schema: its example(s), const, default or
  // enum when present, otherwise a placeholder of the right type. Read-only fields are left out.
  function exampleValue(schema, stack = [], depth = 0) {
    const r = resolveSchema(schema, stack);
    if (r.cyclic || r.unresolved || depth > 8) return undefined;
    const { s } = flattenAllOf(r.s, stack.concat(r.refs));
    const next = stack.concat(r.refs);
    if (has(s, 'example')) return s.example;
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    if (has(s, 'const')) return s.const;
    if (has(s, 'default')) return s.default;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    for (const kw of ['oneOf', 'anyOf']) {
      if (Array.isArray(s[kw]) && s[kw].length) return exampleValue(s[kw][0], next, depth + 1);
    }
    const type = typesOf(s).find((t) => t !== 'null') || (typesOf(s).includes('null') ? 'null' : 'object');
    switch (type) {
      case 'object': {
        const out = {};
        if (isObj(s.properties)) {
          for (const [k, sub] of Object.entries(s.properties)) {
            const sr = resolveSchema(sub, next);
            if (sr.s.readOnly === true) continue;
            const v = exampleValue(sub, next, depth + 1);
            if (v !== undefined) out[k] = v;
          }
        }
        return out;
      }
      case 'array': {
        const v = has(s, 'items') ? exampleValue(s.items, next, depth + 1) : undefined;
        return v === undefined ? [] : [v];
      }
      case 'string':
        return ({
          'date-time': '2025-01-31T12:00:00Z', date: '2025-01-31', time: '12:00:00Z', uuid: '00000000-0000-0000-0000-000000000000',
          email: 'user@example.com', uri: 'https://example.com/', 'uri-reference': '/path', hostname: 'example.com',
          ipv4: '192.0.2.1', ipv6: '2001:db8::1', duration: 'PT1H',
        })[s.format] || 'string';
      case 'integer':
      case 'number':
        return typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : 0;
      case 'boolean':
        return false;
      case 'null':
        return null;
      default:
        return undefined;
    }
  }

  // bodyExamples lists the examples for one media type: the media type's example or
  // examples, else the schema's examples, else one built from the schema.
  function bodyExamples(media) {
    const list = [];
    if (has(media, 'example')) list.push({ label: 'Example', value: media.example });
    if (isObj(media.examples)) {
      for (const [name, ex] of Object.entries(media.examples)) {
        const e = deref(ex);
        if (has(e, 'value')) list.push({ label: e.summary ? `${name}: ${e.summary}` : name, value: e.value });
        else if (has(e, 'dataValue')) list.push({ label: e.summary ? `${name}: ${e.summary}` : name, value: e.dataValue });
      }
    }
    if (list.length || !has(media, 'schema')) return list;
    const r = resolveSchema(media.schema, []);
    const { s } = flattenAllOf(r.s, r.refs);
    if (Array.isArray(s.examples) && s.examples.length) {
      s.examples.forEach((v, i) => list.push({ label: s.examples.length > 1 ? `Example ${i + 1}` : 'Example', value: v }));
    } else if (has(s, 'example')) {
      list.push({ label: 'Example', value: s.example });
    } else {
      const v = exampleValue(media.schema);
      if (v !== undefined) list.push({ label: 'Built from the schema', value: v });
    }
    return list;
  }

  // ---------------------------------------------------------------- security

  function effectiveSecurity(op) {
    if (Array.isArray(op.security)) return op.security;
    return Array.isArray(doc.security) ? doc.security : [];
  }

  // 'required' when every alternative needs credentials, 'optional' when one is {}, or null.
  function authNeed(op) {
    const sec = effectiveSecurity(op).filter(isObj);
    if (!sec.length) return null;
    return sec.some((req) => Object.keys(req).length === 0) ? 'optional' : 'required';
  }

  function schemeText(name) {
    const scheme = deref(doc.components?.securitySchemes?.[name]);
    const type = str(scheme.type);
    if (type === 'http') {
      const s = str(scheme.scheme).toLowerCase();
      return s === 'bearer' ? `HTTP bearer token${scheme.bearerFormat ? ` (${scheme.bearerFormat})` : ''}` : `HTTP ${s} authentication`;
    }
    if (type === 'apiKey') return `API key in ${str(scheme.in)} ${str(scheme.name)}`;
    if (type === 'oauth2') return 'OAuth 2 bearer token';
    if (type === 'openIdConnect') return 'OpenID Connect bearer token';
    if (type === 'mutualTLS') return 'mutual TLS';
    return scheme.$unresolved ? 'undefined scheme' : type || 'unknown scheme';
  }

  function securityBlock(op) {
    const sec = effectiveSecurity(op).filter(isObj);
    const block = h('div', { class: 'security' });
    if (!sec.length) {
      block.append(h('p', { class: 'muted', text: 'No authentication.' }));
      return block;
    }
    const list = h('ul', { class: 'security-list' });
    for (const req of sec) {
      const names = Object.keys(req);
      if (!names.length) {
        list.append(h('li', { text: 'or no credentials at all' }));
        continue;
      }
      list.append(h('li', {}, names.map((n, i) => [
        i ? ' and ' : '',
        h('code', { text: n }), ` — ${schemeText(n)}`,
        Array.isArray(req[n]) && req[n].length ? [' with scopes ', req[n].map((sc, j) => [j ? ', ' : '', h('code', { text: String(sc) })])] : '',
      ])));
    }
    const desc = schemeNames(sec).map((n) => deref(doc.components?.securitySchemes?.[n]).description).filter(Boolean);
    append(block, [h('p', {}, lockIcon(authNeed(op) === 'optional'), ' Needs one of:'), list, desc.map((d) => paragraphs(d, 'muted'))]);
    return block;
  }

  function schemeNames(sec) {
    return [...new Set(sec.flatMap((req) => Object.keys(req)))];
  }

  // ---------------------------------------------------------------- parameters

  function operationParams(pathItem, op) {
    const map = new Map();
    for (const p of [...(Array.isArray(pathItem.parameters) ? pathItem.parameters : []), ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
      const param = deref(p);
      if (typeof param.name !== 'string') continue;
      map.set(`${param.in}:${param.name}`, param);
    }
    return [...map.values()];
  }

  function paramSchema(p) {
    if (has(p, 'schema')) return p.schema;
    if (isObj(p.content)) {
      const first = Object.values(p.content)[0];
      if (isObj(first) && has(first, 'schema')) return first.schema;
    }
    return {};
  }

  function paramsTable(params) {
    const tbody = h('tbody');
    for (const p of params) {
      const schema = paramSchema(p);
      const r = resolveSchema(schema, []);
      const { s } = flattenAllOf(r.s, r.refs);
      const typeCell = h('td', { class: 'type-cell' }, h('div', { class: 'schema-line' }));
      appendTypeInfo(typeCell.firstChild, schema, r, []);
      append(typeCell, [valueLines(s)]);
      const ex = [];
      if (has(p, 'example')) ex.push(p.example);
      if (isObj(p.examples)) for (const e of Object.values(p.examples)) { const d = deref(e); if (has(d, 'value')) ex.push(d.value); }
      tbody.append(h('tr', { class: p.deprecated ? 'deprecated' : null },
        h('th', { scope: 'row' }, h('code', { class: 'param-name', text: p.name }),
          p.required ? h('span', { class: 'req', text: 'required' }) : null,
          p.deprecated ? h('span', { class: 'chip warn', text: 'deprecated' }) : null),
        h('td', { text: str(p.in) }),
        typeCell,
        h('td', {}, paragraphs(p.description), ex.length ? h('div', { class: 'values' }, h('span', { class: 'label', text: 'example:' }),
          ex.map((v) => [' ', h('code', { class: 'value', text: short(v) })])) : null)));
    }
    return h('div', { class: 'table-wrap' }, h('table', { class: 'params' },
      h('thead', {}, h('tr', {}, ['Name', 'In', 'Type', 'Description'].map((t) => h('th', { scope: 'col', text: t })))),
      tbody));
  }

  // ---------------------------------------------------------------- bodies and responses

  function contentBlock(content) {
    const wrap = h('div', { class: 'content' });
    for (const [type, mediaRaw] of Object.entries(content)) {
      const media = isObj(mediaRaw) ? mediaRaw : {};
      const block = h('div', { class: 'media' }, h('div', { class: 'media-type' }, h('code', { text: type })));
      if (has(media, 'schema')) block.append(schemaTree(media.schema));
      else if (has(media, 'itemSchema')) append(block, [h('div', { class: 'help', text: 'Each item of the stream:' }), schemaTree(media.itemSchema)]);
      const exs = [];
      if (has(media, 'example')) exs.push({ label: 'Example', value: media.example });
      if (isObj(media.examples)) {
        for (const [name, ex] of Object.entries(media.examples)) {
          const e = deref(ex);
          if (has(e, 'value')) exs.push({ label: e.summary ? `${name}: ${e.summary}` : name, value: e.value });
        }
      }
      for (const ex of exs) {
        block.append(h('details', { class: 'example-block' }, h('summary', { text: ex.label }), h('pre', { class: 'code', text: json(ex.value, true) })));
      }
      wrap.append(block);
    }
    return wrap;
  }

  function statusClass(code) {
    const c = String(code)[0];
    return ['1', '2', '3', '4', '5'].includes(c) ? `s${c}xx` : 'sdefault';
  }

  function sortedStatuses(responses) {
    const rank = (k) => (k === 'default' ? 1000 : /^\d/.test(k) ? Number(k.replace(/X/gi, '0')) + (/X/i.test(k) ? 0.5 : 0) : 999);
    return Object.keys(responses).sort((a, b) => rank(a) - rank(b));
  }

  function responsesBlock(responses) {
    const wrap = h('div', { class: 'responses' });
    for (const code of sortedStatuses(responses)) {
      const resp = deref(responses[code]);
      const block = h('div', { class: 'response' },
        h('div', { class: 'response-head' }, h('span', { class: `status ${statusClass(code)}`, text: code }),
          resp.$unresolved ? h('span', { class: 'chip warn' }, 'unresolved ', h('code', { text: resp.$unresolved })) : null,
          paragraphs(resp.description, 'response-desc')));
      if (isObj(resp.headers) && Object.keys(resp.headers).length) {
        const rows = Object.entries(resp.headers).map(([name, hdr]) => {
          const hd = deref(hdr);
          const schema = paramSchema(hd);
          const r = resolveSchema(schema, []);
          const cell = h('td', {}, h('div', { class: 'schema-line' }));
          appendTypeInfo(cell.firstChild, schema, r, []);
          return h('tr', {}, h('th', { scope: 'row' }, h('code', { text: name }), hd.required ? h('span', { class: 'req', text: 'required' }) : null), cell, h('td', {}, paragraphs(hd.description)));
        });
        block.append(h('div', { class: 'table-wrap' }, h('table', { class: 'params headers' },
          h('caption', { text: 'Response headers' }),
          h('thead', {}, h('tr', {}, ['Header', 'Type', 'Description'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, rows))));
      }
      if (isObj(resp.content) && Object.keys(resp.content).length) {
        if (/^2/.test(code)) block.append(contentBlock(resp.content));
        else {
          // Error bodies are usually the same problem schema: shown on demand.
          const label = Object.entries(resp.content).map(([type, media]) => {
            const n = isObj(media) && has(media, 'schema') ? resolveSchema(media.schema, []).name : '';
            return n ? `${type} (${n})` : type;
          }).join(', ');
          block.append(lazyDetails(h('summary', { class: 'nested-summary', text: label }), () => contentBlock(resp.content), false, 'nested error-body'));
        }
      }
      wrap.append(block);
    }
    return wrap;
  }

  // ---------------------------------------------------------------- try it

  function serverBase() {
    const docURL = new URL('openapi.json', location.href);
    for (const server of Array.isArray(doc.servers) ? doc.servers : []) {
      if (!isObj(server) || typeof server.url !== 'string') continue;
      const url = server.url.replace(/\{([^}]+)\}/g, (m, n) => {
        const v = server.variables?.[n]?.default;
        return typeof v === 'string' ? v : m;
      });
      try {
        const u = new URL(url, docURL);
        if (u.origin === location.origin) return u.href.replace(/\/?$/, '/');
      } catch {
        // not a usable URL: try the next server
      }
    }
    return new URL('./', docURL).href;
  }

  function getToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch {
      return '';
    }
  }

  function setToken(v) {
    try {
      if (v) sessionStorage.setItem(TOKEN_KEY, v);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage unavailable: the token lives in the input only
    }
  }

  function cleanToken(v) {
    return v.trim().replace(/^bearer\s+/i, '');
  }

  function paramInput(p, id) {
    const schema = paramSchema(p);
    const r = resolveSchema(schema, []);
    const { s } = flattenAllOf(r.s, r.refs);
    const types = typesOf(s);
    let input;
    const enumValues = Array.isArray(s.enum) ? s.enum : types.includes('boolean') ? [true, false] : null;
    if (enumValues) {
      input = h('select', { id, name: p.name });
      input.append(h('option', { value: '', text: '— not set —' }));
      for (const v of enumValues) input.append(h('option', { value: String(v), text: String(v) }));
      if (p.required && has(s, 'default')) input.value = String(s.default);
    } else {
      let placeholder = has(p, 'example') ? p.example : has(s, 'example') ? s.example : Array.isArray(s.examples) && s.examples.length ? s.examples[0] : has(s, 'default') ? s.default : '';
      if (isObj(p.examples)) {
        const first = deref(Object.values(p.examples)[0]);
        if (has(first, 'value')) placeholder = first.value;
      }
      if (Array.isArray(placeholder)) placeholder = placeholder.join(',');
      else if (placeholder !== null && typeof placeholder === 'object') placeholder = json(placeholder);
      input = h('input', {
        id, name: p.name, type: 'text', spellcheck: 'false', autocomplete: 'off',
        placeholder: placeholder === '' || placeholder === null ? (types.includes('array') ? 'comma-separated values' : '') : String(placeholder),
        inputmode: types.includes('integer') ? 'numeric' : types.includes('number') ? 'decimal' : null,
      });
    }
    if (p.required) input.required = true;
    return input;
  }

  function tryPanel(method, path, pathItem, op) {
    const params = operationParams(pathItem, op).filter((p) => ['path', 'query', 'header', 'cookie'].includes(p.in) &&
      !(p.in === 'header' && ['accept', 'content-type', 'authorization'].includes(String(p.name).toLowerCase())));
    const form = h('form', { class: 'try-form', novalidate: true });
    const inputs = [];
    if (params.length) {
      const grid = h('div', { class: 'fields' });
      for (const p of params) {
        const id = nextId('param');
        const input = paramInput(p, id);
        if (p.in === 'cookie') input.disabled = true;
        inputs.push({ p, input });
        grid.append(h('div', { class: 'field' },
          h('label', { for: id }, h('code', { text: p.name }), ' ', h('span', { class: 'muted', text: `(${p.in}${p.required ? ', required' : ''})` })),
          input,
          p.in === 'cookie' ? h('span', { class: 'help', text: 'Cookies cannot be set from this page.' }) : null));
      }
      form.append(grid);
    }

    let bodyArea = null;
    let typeSelect = null;
    const body = deref(op.requestBody);
    const bodyTypes = isObj(body.content) ? Object.keys(body.content) : [];
    if (bodyTypes.length && !['get', 'head'].includes(method)) {
      const areaId = nextId('body');
      bodyArea = h('textarea', { id: areaId, class: 'code', rows: '12', spellcheck: 'false', autocomplete: 'off' });
      const exampleSelect = h('select', { 'aria-label': 'Example to load' });
      const bodyHead = h('div', { class: 'body-head' }, h('label', { for: areaId, text: `Request body${body.required ? ' (required)' : ''}` }));
      const typeId = nextId('ctype');
      typeSelect = h('select', { id: typeId });
      for (const t of bodyTypes) typeSelect.append(h('option', { value: t, text: t }));
      const preferred = bodyTypes.find((t) => /json/i.test(t));
      if (preferred) typeSelect.value = preferred;
      const loadExamples = () => {
        const examples = bodyExamples(isObj(body.content[typeSelect.value]) ? body.content[typeSelect.value] : {});
        exampleSelect.replaceChildren(...examples.map((ex, i) => h('option', { value: String(i), text: ex.label })));
        exampleSelect.hidden = examples.length < 2;
        const show = (i) => {
          const ex = examples[i];
          bodyArea.value = ex === undefined ? '' : typeof ex.value === 'string' && !/json/i.test(typeSelect.value) ? ex.value : json(ex.value, true);
        };
        exampleSelect.onchange = () => show(Number(exampleSelect.value));
        show(0);
      };
      typeSelect.addEventListener('change', loadExamples);
      bodyHead.append(h('label', { for: typeId, class: 'sr-only', text: 'Content type' }), typeSelect, exampleSelect);
      if (bodyTypes.length === 1) typeSelect.disabled = true;
      form.append(h('div', { class: 'body-field' }, bodyHead, bodyArea));
      loadExamples();
    }

    const need = authNeed(op);
    const send = h('button', { type: 'submit', class: 'send', text: 'Send' });
    const cancel = h('button', { type: 'button', class: 'cancel', text: 'Cancel', hidden: true });
    const note = h('span', { class: 'help auth-note' });
    const refreshNote = () => {
      if (!need) note.textContent = 'Sent without a token.';
      else if (getToken()) note.textContent = 'Sent with the bearer token from the top of the page.';
      else if (need === 'optional') note.textContent = 'A bearer token is optional here.';
      else note.textContent = 'Needs a bearer token: paste one at the top of the page.';
    };
    refreshNote();
    document.addEventListener('apidocs:token', refreshNote);
    form.append(h('div', { class: 'actions' }, send, cancel, note));

    const result = h('div', { class: 'result', 'aria-live': 'polite' });
    let controller = null;
    cancel.addEventListener('click', () => controller && controller.abort());

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      result.replaceChildren();
      const fail = (msg, focus) => {
        result.replaceChildren(h('p', { class: 'error', role: 'alert', text: msg }));
        if (focus) focus.focus();
      };
      for (const { p, input } of inputs) {
        if (p.required && p.in !== 'cookie' && !input.value.trim()) return fail(`${p.name} (${p.in}) is required.`, input);
      }
      let missing = null;
      const urlPath = path.replace(/\{([^}]+)\}/g, (m, name) => {
        const found = inputs.find(({ p }) => p.in === 'path' && p.name === name);
        if (!found || !found.input.value) {
          missing = missing || name;
          return m;
        }
        return encodeURIComponent(found.input.value.trim());
      });
      if (missing) return fail(`Path parameter ${missing} is required.`);
      let url;
      try {
        url = new URL(urlPath.replace(/^\//, ''), serverBase());
      } catch (err) {
        return fail(`Bad URL: ${err.message}`);
      }
      if (url.origin !== location.origin) return fail('Only requests to this page\'s own origin can be sent.');
      const headers = new Headers({ Accept: 'application/json, application/problem+json;q=0.9, */*;q=0.5' });
      for (const { p, input } of inputs) {
        const v = input.value.trim();
        if (!v || input.disabled) continue;
        if (p.in === 'query') {
          const r = resolveSchema(paramSchema(p), []);
          const isArray = typesOf(r.s).includes('array') && p.explode !== false;
          if (isArray) for (const part of v.split(',')) url.searchParams.append(p.name, part.trim());
          else url.searchParams.append(p.name, v);
        } else if (p.in === 'header') {
          try {
            headers.set(p.name, v);
          } catch (err) {
            return fail(`Header ${p.name}: ${err.message}`, input);
          }
        }
      }
      const token = getToken();
      if (need && token) headers.set('Authorization', `Bearer ${token}`);
      const init = { method: method.toUpperCase(), headers, credentials: 'same-origin', cache: 'no-store' };
      if (bodyArea && bodyArea.value.trim()) {
        const ctype = typeSelect.value;
        if (/json/i.test(ctype)) {
          try {
            JSON.parse(bodyArea.value);
          } catch (err) {
            return fail(`The body is not valid JSON: ${err.message}`, bodyArea);
          }
        }
        if (!/^multipart\//i.test(ctype)) headers.set('Content-Type', ctype);
        init.body = bodyArea.value;
      } else if (bodyArea && body.required) {
        return fail('The request body is required.', bodyArea);
      }

      controller = new AbortController();
      init.signal = controller.signal;
      send.disabled = true;
      cancel.hidden = false;
      result.append(h('p', { class: 'muted', text: `Sending ${init.method} ${url.pathname}${url.search}…` }));
      const started = performance.now();
      try {
        const res = await fetch(url, init);
        const elapsed = Math.round(performance.now() - started);
        await showResponse(result, res, init.method, url, elapsed);
      } catch (err) {
        fail(err.name === 'AbortError' ? 'Cancelled.' : `The request failed: ${err.message}`);
      } finally {
        send.disabled = false;
        cancel.hidden = true;
        controller = null;
      }
    });

    return h('section', { class: 'try' }, h('h4', { text: 'Try it' }), form, result);
  }

  async function showResponse(result, res, method, url, elapsed) {
    const ctype = res.headers.get('content-type') || '';
    const textual = !ctype || /^text\/|json|xml|javascript|x-www-form-urlencoded/i.test(ctype);
    let bodyText = '';
    let parsed;
    let note = '';
    if (method === 'HEAD' || res.status === 204 || res.status === 304) {
      note = 'No body.';
    } else if (textual) {
      bodyText = await res.text();
      if (/json/i.test(ctype) || /^\s*[{[]/.test(bodyText)) {
        try {
          parsed = JSON.parse(bodyText);
          bodyText = JSON.stringify(parsed, null, 2);
        } catch {
          // shown as it came
        }
      }
      if (!bodyText) note = 'Empty body.';
    } else {
      const blob = await res.blob();
      note = `${blob.size} bytes of ${ctype}, not shown.`;
    }
    const truncated = bodyText.length > MAX_BODY_CHARS;
    if (truncated) bodyText = bodyText.slice(0, MAX_BODY_CHARS);

    const head = h('div', { class: 'result-status' },
      h('span', { class: `status ${statusClass(res.status)}`, text: `${res.status} ${res.statusText}`.trim() }),
      h('span', { class: 'muted', text: `${elapsed} ms` }),
      h('code', { class: 'result-url', text: `${method} ${url.pathname}${url.search}` }));
    const meta = h('dl', { class: 'result-headers' });
    for (const name of ['content-type', 'x-request-id']) {
      const v = res.headers.get(name);
      if (v !== null) meta.append(h('dt', { text: name }), h('dd', {}, h('code', { text: v })));
    }
    const all = [];
    res.headers.forEach((v, k) => all.push(`${k}: ${v}`));
    const allHeaders = h('details', { class: 'all-headers' }, h('summary', { text: `All response headers (${all.length})` }), h('pre', { class: 'code', text: all.join('\n') }));

    let problem = null;
    if (/problem\+json/i.test(ctype) && isObj(parsed)) {
      problem = h('div', { class: 'problem' },
        h('strong', { text: typeof parsed.title === 'string' ? parsed.title : 'Problem' }),
        typeof parsed.detail === 'string' ? h('p', { text: parsed.detail }) : null,
        Array.isArray(parsed.errors) && parsed.errors.length ? h('ul', {}, parsed.errors.filter(isObj).map((e) =>
          h('li', {}, typeof e.field === 'string' ? [h('code', { text: e.field }), ': '] : null, String(e.reason ?? e.message ?? json(e))))) : null,
        typeof parsed.type === 'string' ? h('div', { class: 'muted' }, 'type ', h('code', { text: parsed.type })) : null);
    }
    result.replaceChildren();
    append(result, [head, meta, allHeaders, problem,
      note ? h('p', { class: 'muted', text: note }) : h('pre', { class: 'code response-body', tabindex: '0', 'aria-label': 'Response body', text: bodyText }),
      truncated ? h('p', { class: 'muted', text: 'Body truncated to its first megabyte.' }) : null]);
  }

  // ---------------------------------------------------------------- operations

  const usedAnchors = new Set();
  function opAnchor(method, path, op) {
    const base = typeof op.operationId === 'string' && op.operationId ? op.operationId : `${method}-${path}`;
    let id = `op-${base.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '')}`;
    if (usedAnchors.has(id)) id = nextId(id);
    usedAnchors.add(id);
    return id;
  }

  function operationDetails(method, path, pathItem, op, webhook) {
    const need = authNeed(op);
    const summaryText = str(op.summary) || (webhook ? '' : str(op.operationId));
    const sum = h('summary', { class: 'op-summary' },
      h('span', { class: `method m-${method}`, text: method.toUpperCase() }),
      h('code', { class: 'path', text: path }),
      summaryText ? h('span', { class: 'op-title', text: summaryText }) : null,
      op.deprecated ? h('span', { class: 'chip warn', text: 'deprecated' }) : null,
      need ? h('span', { class: `auth auth-${need}`, title: need === 'required' ? 'Requires a bearer token' : 'Token optional' },
        lockIcon(need === 'optional'), h('span', { class: 'sr-only', text: need === 'required' ? 'requires authentication' : 'authentication optional' })) : null);

    const details = lazyDetails(sum, () => {
      const body = h('div', { class: 'op-body' });
      append(body, [paragraphs(op.description, 'op-desc')]);
      if (typeof op.operationId === 'string') body.append(h('div', { class: 'muted op-id' }, 'operationId ', h('code', { text: op.operationId })));
      if (isObj(op.externalDocs) && op.externalDocs.url) body.append(h('p', {}, link(op.externalDocs.url, op.externalDocs.description || 'More documentation')));
      body.append(h('h4', { text: 'Authentication' }), securityBlock(op));
      const params = operationParams(pathItem, op);
      if (params.length) body.append(h('h4', { text: 'Parameters' }), paramsTable(params));
      if (has(op, 'requestBody')) {
        const rb = deref(op.requestBody);
        body.append(h('h4', {}, 'Request body', rb.required ? h('span', { class: 'req', text: 'required' }) : null));
        append(body, [paragraphs(rb.description)]);
        if (isObj(rb.content)) body.append(contentBlock(rb.content));
      }
      if (isObj(op.responses)) body.append(h('h4', { text: 'Responses' }), responsesBlock(op.responses));
      if (isObj(op.callbacks) && Object.keys(op.callbacks).length) {
        body.append(h('h4', { text: 'Callbacks' }), h('p', {}, Object.keys(op.callbacks).map((n, i) => [i ? ', ' : '', h('code', { text: n })])));
      }
      if (!webhook && method !== 'trace') body.append(tryPanel(method, path, pathItem, op));
      return body;
    }, false, `op${op.deprecated ? ' deprecated' : ''}`);
    details.id = opAnchor(method, path, op);
    details.addEventListener('toggle', () => {
      if (details.open && history.replaceState) history.replaceState(null, '', `#${details.id}`);
    });
    return details;
  }

  function collectOperations() {
    const groups = new Map(); // tag -> [{method, path, item, op}]
    const untagged = [];
    const hooks = [];
    const walk = (items, fn) => {
      if (!isObj(items)) return;
      for (const [path, raw] of Object.entries(items)) {
        const item = deref(raw);
        for (const method of METHODS) if (isObj(item[method])) fn(path, method, item, item[method]);
      }
    };
    walk(doc.paths, (path, method, item, op) => {
      const tags = Array.isArray(op.tags) ? op.tags.filter((t) => typeof t === 'string') : [];
      if (!tags.length) untagged.push({ path, method, item, op });
      for (const t of tags) {
        if (!groups.has(t)) groups.set(t, []);
        groups.get(t).push({ path, method, item, op });
      }
    });
    walk(doc.webhooks, (path, method, item, op) => hooks.push({ path, method, item, op }));
    return { groups, untagged, hooks };
  }

  function renderOperations(main) {
    const { groups, untagged, hooks } = collectOperations();
    const tagInfo = new Map();
    for (const t of Array.isArray(doc.tags) ? doc.tags : []) if (isObj(t) && typeof t.name === 'string') tagInfo.set(t.name, t);
    const order = [...tagInfo.keys()].filter((t) => groups.has(t));
    for (const t of groups.keys()) if (!order.includes(t)) order.push(t);
    const list = order.map((t) => ({ name: t, info: tagInfo.get(t) || {}, entries: groups.get(t) }));
    if (untagged.length) list.push({ name: list.length ? 'Other operations' : 'Operations', info: {}, entries: untagged, untagged: true });
    if (hooks.length) list.push({ name: 'Webhooks', info: { description: 'Requests this service sends to you.' }, entries: hooks, webhook: true });

    if (!list.length) {
      main.append(h('p', { class: 'muted', text: 'This document describes no operations.' }));
      return;
    }
    const nav = h('nav', { class: 'tag-nav', 'aria-label': 'Tags' }, h('ul', {}, list.map((g, i) =>
      h('li', {}, h('a', { href: `#tag-${i}`, text: `${g.name} (${g.entries.length})` })))));
    main.append(nav);
    list.forEach((g, i) => {
      const section = h('section', { class: 'tag-section', id: `tag-${i}`, 'aria-labelledby': `tag-${i}-h` },
        h('h2', { id: `tag-${i}-h`, text: g.name }),
        paragraphs(g.info.description, 'tag-desc'),
        isObj(g.info.externalDocs) && g.info.externalDocs.url ? h('p', {}, link(g.info.externalDocs.url, g.info.externalDocs.description || 'More documentation')) : null);
      const entry = { el: section, ops: [] };
      for (const { path, method, item, op } of g.entries) {
        const el = operationDetails(method, path, item, op, g.webhook);
        section.append(el);
        const hay = [method, path, op.summary, op.operationId, g.untagged ? '' : g.name, ...(Array.isArray(op.tags) ? op.tags : [])]
          .filter((x) => typeof x === 'string').join(' ').toLowerCase();
        const rec = { el, haystack: hay };
        ops.push(rec);
        entry.ops.push(rec);
      }
      sections.push(entry);
      main.append(section);
    });
  }

  // ---------------------------------------------------------------- header, toolbar

  function renderInfo() {
    const info = isObj(doc.info) ? doc.info : {};
    const title = str(info.title) || 'API documentation';
    document.title = `${title} — API`;
    document.getElementById('title').textContent = title;
    const version = document.getElementById('version');
    if (info.version) {
      version.textContent = `v${String(info.version).replace(/^v/i, '')}`;
      version.hidden = false;
    }
    const oas = document.getElementById('oas-version');
    if (typeof doc.openapi === 'string') {
      oas.textContent = `OpenAPI ${doc.openapi}`;
      oas.hidden = false;
    }
    const summary = document.getElementById('summary');
    if (typeof info.summary === 'string' && info.summary) {
      summary.textContent = info.summary;
      summary.hidden = false;
    }
    const desc = paragraphs(info.description);
    if (desc) document.getElementById('description').replaceChildren(...desc.childNodes);

    const meta = document.getElementById('info-meta');
    const item = (label, ...value) => meta.append(h('dt', { text: label }), h('dd', {}, value));
    if (isObj(info.contact)) {
      const c = info.contact;
      item('Contact', c.name ? str(c.name) : '', c.email ? [' ', link(`mailto:${c.email}`, str(c.email))] : '', c.url ? [' ', link(c.url)] : '');
    }
    if (isObj(info.license)) {
      const l = info.license;
      item('License', l.url ? link(l.url, str(l.name) || l.url) : str(l.name), l.identifier ? ` (${str(l.identifier)})` : '');
    }
    if (info.termsOfService) item('Terms', link(info.termsOfService));
    if (isObj(doc.externalDocs) && doc.externalDocs.url) item('Docs', link(doc.externalDocs.url, doc.externalDocs.description));
    item('Requests go to', h('code', { text: serverBase() }));
    meta.hidden = false;
  }

  function setupToken() {
    const input = document.getElementById('token');
    const show = document.getElementById('token-show');
    const clear = document.getElementById('token-clear');
    input.value = getToken();
    const changed = () => document.dispatchEvent(new Event('apidocs:token'));
    input.addEventListener('input', () => {
      setToken(cleanToken(input.value));
      changed();
    });
    input.addEventListener('change', () => {
      input.value = cleanToken(input.value);
    });
    document.getElementById('token-form').addEventListener('submit', (ev) => ev.preventDefault());
    show.addEventListener('click', () => {
      const showing = input.type === 'text';
      input.type = showing ? 'password' : 'text';
      show.textContent = showing ? 'Show' : 'Hide';
      show.setAttribute('aria-pressed', String(!showing));
    });
    clear.addEventListener('click', () => {
      input.value = '';
      setToken('');
      changed();
      input.focus();
    });
  }

  function setupFilter() {
    const input = document.getElementById('filter');
    const count = document.getElementById('filter-count');
    const apply = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const sec of sections) {
        let any = false;
        for (const op of sec.ops) {
          const match = words.every((w) => op.haystack.includes(w));
          op.el.hidden = !match;
          if (match) {
            any = true;
            shown++;
          }
        }
        sec.el.hidden = !any;
      }
      count.textContent = words.length ? `${shown} of ${ops.length} operations` : `${ops.length} operations`;
    };
    input.addEventListener('input', apply);
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && input.value) {
        input.value = '';
        apply();
      }
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const t = ev.target;
      if (t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      ev.preventDefault();
      input.focus();
      input.select();
    });
    apply();
  }

  function setupExpandButtons() {
    const set = (open) => {
      for (const op of ops) if (!op.el.hidden) op.el.open = open;
    };
    document.getElementById('expand-all').addEventListener('click', () => set(true));
    document.getElementById('collapse-all').addEventListener('click', () => set(false));
  }

  function openFromHash() {
    const id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    const el = document.getElementById(id);
    if (!el) return;
    if (el.tagName === 'DETAILS') el.open = true;
    el.scrollIntoView();
    const focusable = el.tagName === 'DETAILS' ? el.querySelector('summary') : el;
    if (focusable) focusable.focus({ preventScroll: true });
  }

  async function main() {
    setupToken();
    const container = document.getElementById('operations');
    const status = document.getElementById('status');
    try {
      const res = await fetch('openapi.json', { headers: { Accept: 'application/json' }, cache: 'no-cache' });
      if (!res.ok) throw new Error(`openapi.json answered ${res.status} ${res.statusText}`);
      doc = await res.json();
      if (!isObj(doc)) throw new Error('openapi.json is not a JSON object');
    } catch (err) {
      status.className = 'error';
      status.textContent = `Could not load the API description: ${err.message}`;
      return;
    }
    status.remove();
    renderInfo();
    renderOperations(container);
    setupFilter();
    setupExpandButtons();
    openFromHash();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();

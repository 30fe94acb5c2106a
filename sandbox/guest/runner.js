// The sandbox's side of a JavaScript run. Runs INSIDE bubblewrap as uid 65534 under Node's permission
// model (no file access but this file, no child processes, no workers), jitless, with an empty
// environment and no network. The user's code runs in a fresh vm context that has no require, no
// process and no string evaluation; that context is a convenience, not the boundary.
//
// Protocol: write "ready\n" to the result fd, read the job (JSON) from stdin, call
// `run(inputs)`, write one JSON answer to the result fd. Series arrive as {index, values, name},
// frames as {index, columns}, scalars as numbers, records as plain objects; the same shapes go back.
// Missing numbers arrive as NaN.
'use strict';

const fs = require('fs');
const vm = require('vm');

const RESULT_FD = Number(process.argv[2]);
const MAX_OUTPUT = Number(process.argv[3]);
const MAX_RUNTIME_MS = Number(process.argv[4]);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$/;

let answered = false;

const CONSOLE = `(() => {
  const print = __print;
  const show = (v) => { if (typeof v === 'string') return v; try { return JSON.stringify(v) ?? String(v); } catch (e) { return String(v); } };
  const line = (stream) => (...args) => print(stream, args.map(show).join(' '));
  globalThis.console = Object.freeze({ log: line(1), info: line(1), debug: line(1), warn: line(2), error: line(2) });
  delete globalThis.__print;
})();`;

function writeAll(text) {
  const buffer = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < buffer.length) offset += fs.writeSync(RESULT_FD, buffer, offset, buffer.length - offset);
}

function answer(obj) {
  if (answered) return;
  answered = true;
  let text = JSON.stringify(obj);
  if (text.length > MAX_OUTPUT) {
    text = JSON.stringify({ ok: false, kind: 'output_size', exception: null, message: String(text.length), line: null, detail: '' });
  }
  writeAll(text);
  process.exit(0);
}

function failure(kind, error) {
  const name = error && typeof error === 'object' && typeof error.name === 'string' ? error.name : typeof error;
  const message = error && typeof error === 'object' && 'message' in error ? String(error.message) : String(error);
  const stack = error && typeof error === 'object' && typeof error.stack === 'string' ? error.stack : '';
  const match = /model\.js:(\d+)/.exec(stack);
  return { ok: false, kind, exception: name, message: message.slice(0, 400), line: match ? Number(match[1]) : null, detail: stack.slice(-4000) };
}

function classify(error) {
  const message = error && typeof error === 'object' ? String(error.message) : '';
  if (error && error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
  // Errors from the vm context come from another realm: compare names, not classes.
  if (error && typeof error === 'object' && error.name === 'RangeError' && /allocat|Invalid array length|Invalid typed array length|Invalid string length|Array buffer/i.test(message)) return 'memory';
  return 'code';
}

// Turns the job's inputs (JSON text in __wire) into the user's shapes INSIDE the context, so the objects
// belong to it. Missing numbers arrive as NaN (arithmetic propagates them, as in pandas).
const PREPARE_INPUTS = `(() => {
  const raw = JSON.parse(__wire);
  delete globalThis.__wire;
  const nan = (values) => values.map((v) => (v === null ? NaN : v));
  const inputs = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value.type === 'series') inputs[name] = { index: value.index, values: nan(value.values), name: value.name };
    else if (value.type === 'frame') {
      const columns = {};
      for (const [column, data] of Object.entries(value.columns)) {
        const dtype = (value.dtypes || {})[column];
        columns[column] = dtype === 'float' || dtype === 'int' ? nan(data) : data;
      }
      inputs[name] = value.index === undefined ? { columns } : { index: value.index, columns };
    } else if (value.type === 'scalar') inputs[name] = value.value === null ? NaN : value.value;
    else inputs[name] = value.value;
  }
  return inputs;
})()`;

function isNumberOrNull(v) {
  return v === null || typeof v === 'number';
}

function numbers(values, where) {
  if (!Array.isArray(values)) throw new TypeError(`${where} is not an array`);
  return values.map((v) => {
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number') throw new TypeError(`${where} holds a ${typeof v}; use numbers or null`);
    return Number.isFinite(v) ? v : null;
  });
}

function toWire(value) {
  if (typeof value === 'number') return { type: 'scalar', value: Number.isFinite(value) ? value : null };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`the returned value is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : 'a ' + typeof value}; return a series {index, values}, a frame {index, columns}, a number or a record`);
  }
  if (Array.isArray(value.index) && Array.isArray(value.values)) {
    if (!value.index.every((d) => typeof d === 'string' && ISO_DATE.test(d))) throw new TypeError('a series index must hold ISO dates (YYYY-MM-DD)');
    if (value.index.length !== value.values.length) throw new TypeError(`the series has ${value.index.length} dates but ${value.values.length} values`);
    const name = typeof value.name === 'string' ? value.name : null;
    return { type: 'series', name, index: value.index.slice(), values: numbers(value.values, 'the series values') };
  }
  if (value.columns && typeof value.columns === 'object' && !Array.isArray(value.columns)) {
    const columns = {};
    const dtypes = {};
    for (const [name, column] of Object.entries(value.columns)) {
      if (!Array.isArray(column)) throw new TypeError(`column ${name} is not an array`);
      if (column.every(isNumberOrNull)) {
        columns[name] = numbers(column, `column ${name}`);
        dtypes[name] = 'float';
      } else if (column.every((v) => typeof v === 'boolean')) {
        columns[name] = column.slice();
        dtypes[name] = 'bool';
      } else if (column.every((v) => v === null || typeof v === 'string')) {
        columns[name] = column.slice();
        dtypes[name] = 'string';
      } else {
        throw new TypeError(`column ${name} mixes types or holds objects`);
      }
    }
    if (value.index === undefined) return { type: 'frame', index_type: 'range', columns, dtypes };
    if (!Array.isArray(value.index)) throw new TypeError('a frame index must be an array');
    const dates = value.index.every((d) => typeof d === 'string' && ISO_DATE.test(d));
    if (!dates && !value.index.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) throw new TypeError('a frame index holds objects');
    return { type: 'frame', index: value.index.slice(), index_type: dates ? 'datetime' : 'labels', columns, dtypes };
  }
  const record = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null || typeof item === 'string' || typeof item === 'boolean') record[key] = item;
    else if (typeof item === 'number') record[key] = Number.isFinite(item) ? item : null;
    else throw new TypeError(`field ${key} of the returned record is ${Array.isArray(item) ? 'an array' : 'a ' + typeof item}; records hold numbers, strings, booleans or null`);
  }
  return { type: 'record', value: record };
}

function main(text) {
  const job = JSON.parse(text);
  const context = vm.createContext({}, { codeGeneration: { strings: false, wasm: false }, name: 'model' });
  // console.log/warn/error inside the context print to the run's stdout/stderr (kept, capped, as logs).
  context.__print = (stream, text) => (stream === 2 ? process.stderr : process.stdout).write(`${String(text)}\n`);
  vm.runInContext(CONSOLE, context);
  const budget = Math.max(1, MAX_RUNTIME_MS);
  let result;
  try {
    vm.runInContext(job.code, context, { filename: 'model.js', timeout: budget });
    if (typeof context[job.entrypoint] !== 'function') {
      answer({ ok: false, kind: 'entrypoint', exception: null, message: job.entrypoint, line: null, detail: '' });
      return;
    }
    context.__wire = JSON.stringify(job.inputs);
    result = vm.runInContext(`${job.entrypoint}(${PREPARE_INPUTS})`, context, { filename: 'call.js', timeout: budget });
  } catch (error) {
    answer(failure(error instanceof SyntaxError && !/call\.js/.test(String(error.stack)) ? 'syntax' : classify(error), error));
    return;
  }
  if (result && typeof result.then === 'function') {
    answer({ ok: false, kind: 'value', exception: null, message: 'the function returned a Promise; return the value itself', line: null, detail: '' });
    return;
  }
  let wire;
  try {
    wire = toWire(result);
  } catch (error) {
    answer({ ok: false, kind: 'value', exception: null, message: String(error.message), line: null, detail: '' });
    return;
  }
  answer({ ok: true, value: wire });
}

process.on('uncaughtException', (error) => answer(failure(classify(error), error)));
writeAll('ready\n');
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  let text;
  try {
    text = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    answer(failure('code', error));
    return;
  }
  main(text);
});

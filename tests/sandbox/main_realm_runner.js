// TEST-ONLY stand-in for sandbox/guest/runner.js: runs the code in Node's MAIN realm with `require`
// and `process` in reach, as if it had escaped the vm context, to show that Node's permission model,
// the seccomp filter and the namespaces hold on their own. Same protocol: "ready\n", job on stdin,
// one JSON answer on the result fd.
'use strict';
const fs = require('fs');
const vm = require('vm');

const RESULT_FD = Number(process.argv[2]);
let answered = false;
function answer(obj) {
  if (answered) return;
  answered = true;
  fs.writeSync(RESULT_FD, JSON.stringify(obj));
  process.exit(0);
}
function fail(error) {
  const name = error && error.name ? error.name : typeof error;
  const code = error && error.code ? `${error.code}: ` : '';
  const cause = error && error.cause ? ` (cause: ${error.cause.code || ''} ${error.cause.message || error.cause})` : '';
  answer({ ok: false, kind: 'code', exception: name, message: `${code}${error && error.message ? error.message : String(error)}${cause}`, line: null, detail: String((error && error.stack) || '') });
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
globalThis.require = require;
fs.writeSync(RESULT_FD, 'ready\n');
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', async () => {
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  try {
    const run = vm.runInThisContext(`(function () {\n${job.code}\nreturn run;\n})()`, { filename: 'model.js' });
    const value = await run({});
    answer({ ok: true, value: { type: 'scalar', value: typeof value === 'number' ? value : null } });
  } catch (error) {
    fail(error);
  }
});

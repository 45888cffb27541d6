// Type-checks the extension's scripts with TypeScript (`make lint`): the
// worker and each page as its own program, since the pages are classic
// scripts that each declare their own top-level names. The protocol's types
// come from Go (extension/protocol.gen.d.ts), so a page that reads a field
// the protocol does not have, or calls a method that does not exist, fails.
'use strict';

const path = require('node:path');
const ts = require('typescript');

const EXT = path.resolve(__dirname, '..', 'extension');
const shared = ['protocol.gen.d.ts', 'globals.d.ts', 'protocol.gen.js'];
const programs = {
  worker: ['wasmcache.js', 'background.js'],
  options: ['pages/common.js', 'pages/options.js'],
  accounts: ['pages/common.js', 'pages/accounts.js'],
  popup: ['pages/common.js', 'pages/popup.js'],
};

const options = {
  allowJs: true,
  checkJs: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts', 'lib.webworker.importscripts.d.ts'],
  types: ['chrome'],
  typeRoots: [path.resolve(__dirname, '..', 'node_modules', '@types')],
  strict: false,
  noImplicitAny: false,
  skipLibCheck: true,
};

let failed = 0;
for (const [name, files] of Object.entries(programs)) {
  const program = ts.createProgram([...shared, ...files].map((f) => path.join(EXT, f)), options);
  const diags = ts.getPreEmitDiagnostics(program);
  for (const d of diags) {
    const where = d.file ? path.relative(process.cwd(), d.file.fileName) + ':' + (d.file.getLineAndCharacterOfPosition(d.start || 0).line + 1) : '';
    console.error(`${name}: ${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  }
  failed += diags.length;
}
if (failed) {
  console.error(`typecheck: ${failed} problem(s)`);
  process.exit(1);
}
console.log('typecheck: the worker and ' + (Object.keys(programs).length - 1) + ' pages agree with the protocol');

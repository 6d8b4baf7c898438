// check.js runs Microsoft's Kusto.Language parser and semantic analyzer
// (@kusto/language-service-next) over KQL queries, against the table
// schemas in schemas.json (transcribed from Microsoft's Azure Monitor table
// reference, one source URL per table).
//
// Input on stdin: a JSON array of {"name": ..., "query": ...} (the output of
// `idtrace logs --kql --format json`). Output on stdout: a JSON array of
// {"name", "diagnostics": [{"severity", "code", "message", "start", "length"}]}.
// Exit status 0 when it ran (the caller judges the diagnostics), 2 on bad input.
'use strict';
const fs = require('fs');
const path = require('path');
require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');

const K = Kusto.Language;

function globals() {
  const schemas = JSON.parse(fs.readFileSync(path.join(__dirname, 'schemas.json'), 'utf8'));
  const tables = [];
  for (const [name, t] of Object.entries(schemas.tables)) {
    const cols = t.columns.map(([c, ty]) => `['${c}']:${ty}`).join(', ');
    tables.push(new K.Symbols.TableSymbol.$ctor7(name, `(${cols})`, t.source));
  }
  const db = new K.Symbols.DatabaseSymbol.$ctor2('LogAnalytics', null, tables);
  return K.GlobalState.Default.WithDatabase(db);
}

function main() {
  let input;
  try {
    input = JSON.parse(fs.readFileSync(0, 'utf8'));
    if (!Array.isArray(input)) throw new Error('want a JSON array of {name, query}');
  } catch (e) {
    process.stderr.write(`check.js: stdin: ${e.message}\n`);
    process.exit(2);
  }
  const g = globals();
  const out = [];
  for (const q of input) {
    const code = K.KustoCode.ParseAndAnalyze(q.query, g);
    const d = code.GetDiagnostics();
    const diags = [];
    for (let i = 0; i < d.Count; i++) {
      const x = d.getItem(i);
      diags.push({ severity: String(x.Severity), code: String(x.Code), message: String(x.Message), start: x.Start, length: x.Length });
    }
    out.push({ name: q.name, diagnostics: diags });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();

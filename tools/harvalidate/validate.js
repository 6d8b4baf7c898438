#!/usr/bin/env node
// Validates HAR files with the third-party npm package har-validator (JSON
// Schema of HAR 1.2). Used by the Go tests of internal/har on every HAR the
// writer produces. Usage: node validate.js FILE...
// Exits 0 when every file is valid, 1 listing the failures, 2 on usage.
'use strict';

const fs = require('fs');
const validator = require('har-validator');

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node validate.js FILE...');
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    let data;
    try {
      let text = fs.readFileSync(file, 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      data = JSON.parse(text);
    } catch (e) {
      failed++;
      console.log(`FAIL ${file}: ${e.message}`);
      continue;
    }
    try {
      await validator.har(data);
      console.log(`ok   ${file}`);
    } catch (e) {
      failed++;
      const errs = (e.errors || [{ message: e.message }]).slice(0, 20);
      console.log(`FAIL ${file}:`);
      for (const x of errs) {
        console.log(`     ${x.dataPath || ''} ${x.message}${x.params ? ' ' + JSON.stringify(x.params) : ''}`);
      }
    }
  }
  if (failed > 0) {
    console.log(`${failed} of ${files.length} file(s) failed validation`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});

#!/usr/bin/env node
// Records a page with Playwright's own HAR recorder (recordHar, bodies
// embedded), driving the system Chromium through playwright-core: the peer
// that the idtrace tests and bench/browser compare `idtrace capture --browser`
// with. It never downloads a browser. (record.mjs, beside it, is the
// recorder internal/browser's peer test uses: it stops after a named
// request instead of after a quiet time.)
//
// Usage: node record.cjs URL OUT.har [--idle MS] [--timeout MS] [--browser PATH]
// Stops once no request has been in flight for --idle ms (default 2000) in any
// page of the context (pop-ups included), or after --timeout ms (default
// 60000, exit 3). Prints one JSON line: {"requests": N, "ms": WALL}.
'use strict';

const { chromium } = require('playwright-core');

const FLAGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function parse(argv) {
  const o = { idle: 2000, timeout: 60000, browser: process.env.IDTRACE_BROWSER || '/usr/bin/chromium', pos: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--idle' || a === '--timeout') {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a}: want a positive number of milliseconds, got ${argv[i]}`);
      o[a.slice(2)] = v;
    } else if (a === '--browser') {
      o.browser = argv[++i];
      if (!o.browser) throw new Error('--browser: want a path');
    } else if (a.startsWith('--')) {
      throw new Error(`unknown flag ${a}`);
    } else {
      o.pos.push(a);
    }
  }
  if (o.pos.length !== 2) throw new Error('usage: node record.cjs URL OUT.har [--idle MS] [--timeout MS] [--browser PATH]');
  return o;
}

async function main() {
  let o;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    return 2;
  }
  const [url, out] = o.pos;
  const t0 = Date.now();
  const browser = await chromium.launch({ executablePath: o.browser, headless: true, args: FLAGS });
  let code = 0;
  try {
    const context = await browser.newContext({ recordHar: { path: out, content: 'embed', mode: 'full' } });
    // The requests in flight, by object: a finish event for a request whose
    // start was not seen (a service worker's own fetches) must not make
    // another request look finished.
    const inflight = new Set();
    let seen = 0, last = Date.now();
    const bump = () => { last = Date.now(); };
    const done = r => { inflight.delete(r); bump(); };
    context.on('request', r => { inflight.add(r); seen++; bump(); });
    context.on('requestfinished', done);
    context.on('requestfailed', done);
    context.on('page', bump);
    const page = await context.newPage();
    await page.goto(url, { timeout: o.timeout }).catch(e => console.error(`goto: ${e.message.split('\n')[0]}`));
    for (;;) {
      if (Date.now() - t0 > o.timeout) { code = 3; console.error(`timeout after ${o.timeout} ms with ${inflight.size} requests in flight`); break; }
      if (inflight.size === 0 && Date.now() - last >= o.idle) break;
      await new Promise(r => setTimeout(r, 50));
    }
    await context.close(); // writes the HAR
    console.log(JSON.stringify({ requests: seen, ms: Date.now() - t0 }));
  } finally {
    await browser.close();
  }
  return code;
}

main().then(c => process.exit(c), e => { console.error(e.stack || String(e)); process.exit(1); });

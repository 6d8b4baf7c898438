// Records a page with Playwright's own HAR recorder (recordHar, bodies
// embedded) in the Debian chromium, for comparison with idtrace capture
// --browser.
//
//   node record.mjs URL OUT.har [DONE_PATH] [TIMEOUT_MS]
//
// It opens URL, waits until a response for DONE_PATH (default /done) has
// finished plus one second (or TIMEOUT_MS), closes the context (which
// writes the HAR) and prints "requests N".
import { chromium } from 'playwright-core';

const [url, out, donePath = '/done', timeout = '60000'] = process.argv.slice(2);
const executablePath = process.env.IDTRACE_BROWSER || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-popup-blocking'],
});
const context = await browser.newContext({ recordHar: { path: out, content: 'embed' } });
let requests = 0;
context.on('requestfinished', () => { requests++; });
context.on('requestfailed', () => { requests++; });
const page = await context.newPage();
const done = new Promise((resolve) => {
  context.on('requestfinished', (r) => { if (new URL(r.url()).pathname === donePath) setTimeout(resolve, 1000); });
});
await page.goto(url);
await Promise.race([done, new Promise((r) => setTimeout(r, Number(timeout)))]);
await context.close(); // writes the HAR
console.log(`requests ${requests}`);
// Closing Debian's chromium through Playwright can take tens of seconds;
// the HAR is complete, so give it two and leave.
await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 2000))]);
process.exit(0);

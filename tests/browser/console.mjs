// SPDX-License-Identifier: GPL-3.0-or-later
// The fluxlab console in a real browser: Debian's chromium, headless, driven
// over the DevTools protocol by playwright-core (no browser download).
//   node console.mjs URL ARTIFACT_DIR
// Prints "PASS name" / "FAIL name: detail" per check (tests/netns/console.sh
// turns them into checks) and saves screenshots into ARTIFACT_DIR.
import { chromium } from 'playwright-core';

const [url, artefacts] = process.argv.slice(2);
let failed = 0;
const pass = (n) => console.log('PASS ' + n);
const fail = (n, d) => { failed++; console.log('FAIL ' + n + ': ' + String(d).replace(/\s+/g, ' ').slice(0, 400)); };
async function check(name, fn) {
  try { await fn(); pass(name); } catch (e) { fail(name, e.message || e); }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  // refused requests (400, 409) are part of the test: only script errors count
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(m.text());
  });
  await page.goto(url);

  await check('the palette lists the shipped scenarios', async () => {
    await page.waitForSelector('#scenarios li[data-name="check"]', { timeout: 20000 });
    const n = await page.locator('#scenarios li').count();
    if (n < 20) throw new Error(`${n} scenarios listed`);
  });

  await check('a broken scenario shows file:line: message', async () => {
    await page.click('#scenarios li[data-name="check"]');
    await page.waitForFunction(() => document.getElementById('editor').value.includes('name: check'), null, { timeout: 10000 });
    const text = await page.inputValue('#editor');
    const lines = text.split('\n');
    const i = lines.findIndex((l) => /^\s*protocols:/.test(l));
    if (i < 0) throw new Error('no protocols: line in check.yaml');
    lines[i] = lines[i].replace(/\[.*\]/, '[http, gopher]');
    await page.fill('#editor', lines.join('\n'));
    await page.click('#btn-check');
    const want = new RegExp(`^check\\.yaml:${i + 1}: .*unknown protocol 'gopher'`);
    await page.waitForFunction((src) => [...document.querySelectorAll('#diagnostics li')]
      .some((li) => new RegExp(src).test(li.textContent)), want.source, { timeout: 10000 });
    await page.screenshot({ path: `${artefacts}/console-validation-error.png` });
  });

  await check('a broken scenario is refused at start too', async () => {
    await page.click('#btn-start');
    await page.waitForFunction(() => /not a valid scenario/.test(document.getElementById('message').textContent),
      null, { timeout: 10000 });
  });

  await check('start check.yaml: the status says running', async () => {
    await page.click('#scenarios li[data-name="check"]');
    await page.waitForFunction(() => !document.getElementById('editor').value.includes('gopher'), null, { timeout: 10000 });
    await page.click('#btn-start');
    await page.waitForSelector('#status[data-state="running"]', { timeout: 20000 });
  });

  await check('a second start is refused with a clear message', async () => {
    await page.click('#btn-start');
    await page.waitForFunction(() => /already in progress.*stop it first/.test(document.getElementById('message').textContent),
      null, { timeout: 10000 });
  });

  await check('the live topology shows legit traffic on the clients link', async () => {
    await page.waitForSelector('#link-cli[data-traffic="legit"]', { timeout: 60000 });
  });

  await check('during the SYN flood its link turns red (attack)', async () => {
    const idx = await page.waitForFunction(() => {
      const texts = [...document.querySelectorAll('g.node')].map((g) => [g.id, g.textContent]);
      const n = texts.find(([, t]) => t.startsWith('syn-flood'));
      return n ? n[0].replace('node-', '') : false;
    }, null, { timeout: 60000 });
    const id = await idx.jsonValue();
    await page.waitForSelector(`#link-${id}[data-traffic="attack"]`, { timeout: 60000 });
    const red = await page.locator(`#link-${id} line[stroke="#c62828"]`).count();
    if (red < 1) throw new Error('no red segment on the attack link');
    await page.screenshot({ path: `${artefacts}/console-live-flood.png` });
  });

  await check('the live plots fill up', async () => {
    await page.waitForFunction(() => {
      const pl = document.querySelector('#plots .plot polyline');
      return pl && pl.getAttribute('points').split(' ').length >= 5;
    }, null, { timeout: 60000 });
  });

  await check('the finished run reports 0 misrouted and its expectations hold', async () => {
    await page.waitForSelector('#summary-text', { timeout: 240000 });
    const t = await page.textContent('#summary-text');
    if (!/legit misrouted 0\//.test(t) || !/expectations hold/.test(t) || !/exit 0/.test(t)) throw new Error(t);
  });

  await check('the report is shown and the run is listed', async () => {
    await page.waitForFunction(() => (document.getElementById('report').getAttribute('src') || '').includes('/api/report?id='),
      null, { timeout: 20000 });
    const frame = page.frameLocator('#report');
    await frame.locator('svg').first().waitFor({ timeout: 20000 });
    await page.waitForSelector('#runs tbody tr', { timeout: 20000 });
    await page.screenshot({ path: `${artefacts}/console-report.png`, fullPage: true });
  });

  await check('the page raised no script error', async () => {
    if (consoleErrors.length) throw new Error(consoleErrors.join(' | '));
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

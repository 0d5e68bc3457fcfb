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

  // ---------------------------------------------------- address families
  // a dual-stack scenario (IPv4 /24 and IPv6 /64 pools, IPv6 clients and an
  // IPv6 attacker), shortened to 12 s in the editor
  await check('a dual-stack run starts', async () => {
    await page.click('#scenarios li[data-name="te-100-some-20ms-ecs-v6"]');
    await page.waitForFunction(() => document.getElementById('editor').value.includes('pool6'), null, { timeout: 10000 });
    const text = await page.inputValue('#editor');
    await page.fill('#editor', text.replace(/^duration: .*$/m, 'duration: 12s'));
    await page.waitForSelector('#status[data-state="idle"]', { timeout: 60000 });
    await page.click('#btn-start');
    await page.waitForSelector('#status[data-state="running"]', { timeout: 20000 });
  });

  await check('the live view shows both families and the links that carry IPv6', async () => {
    await page.waitForFunction(() => {
      const r = document.querySelector('#families-live-table tr[data-family="ipv6"]');
      return r && /^[1-9]/.test(r.cells[1].textContent);
    }, null, { timeout: 60000 });
    await page.waitForSelector('#families-live-table tr[data-family="ipv4"]', { timeout: 10000 });
    await page.waitForSelector('#link-cli[data-families="ipv4 ipv6"]', { timeout: 30000 });
    const badge = await page.textContent('#link-cli text.fam6');
    if (badge !== 'v4+v6') throw new Error(`clients link badge ${badge}`);
    // the resolver's upstream to fluxgated stays IPv4
    await page.waitForSelector('#link-res[data-families="ipv4"]', { timeout: 10000 });
    const idx = await page.evaluate(() => {
      const n = [...document.querySelectorAll('g.node')].find((g) => g.textContent.startsWith('invalid-v6'));
      return n ? n.id.replace('node-', '') : null;
    });
    if (!idx) throw new Error('no invalid-v6 attacker node');
    await page.waitForSelector(`#link-${idx}[data-families="ipv6"]`, { timeout: 10000 });
    await page.waitForSelector('#link-srv[data-families="ipv4 ipv6"]', { timeout: 30000 });
    await page.waitForSelector('#link-dcy[data-families="ipv4 ipv6"]', { timeout: 30000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#plots .plot h4')]
      .some((h) => h.textContent.startsWith('sessions/s per family')), null, { timeout: 10000 });
    await page.screenshot({ path: `${artefacts}/console-families-live.png` });
  });

  await check('the finished dual-stack run shows its figures per family', async () => {
    await page.waitForSelector('#summary-families tr[data-family="ipv6"]', { timeout: 240000 });
    const t = await page.textContent('#summary-text');
    if (!/expectations hold/.test(t)) throw new Error(t);
    for (const f of ['ipv4', 'ipv6']) {
      const row = await page.$$eval(`#summary-families tr[data-family="${f}"] td`, (tds) => tds.map((d) => d.textContent));
      // legit misrouted 0 of a positive count, attacker reach 0 / 0
      if (!/^0\/[1-9]/.test(row[3]) || row[4] !== '0 / 0') throw new Error(`${f}: ${row.join(' | ')}`);
    }
  });

  await check('the comparison of two runs has the per-family figures', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length >= 2, null, { timeout: 20000 });
    const boxes = page.locator('#runs tbody input[type="checkbox"]');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.click('#btn-compare');
    await page.waitForSelector('#compare tr[data-family="ipv6"]', { timeout: 20000 });
    const rows = await page.$$eval('#compare tr[data-family="ipv6"]', (trs) => trs.map((r) => r.cells[0].textContent));
    if (!rows.some((r) => /IPv6: attacker reach/.test(r))) throw new Error(rows.join(' | '));
    // the newest run (dual-stack) has the IPv6 figures, the IPv4-only one a dash
    const reach = await page.$$eval('#compare tr[data-family="ipv6"]', (trs) => {
      const r = trs.find((x) => /attacker reach/.test(x.cells[0].textContent));
      return [r.cells[1].textContent, r.cells[2].textContent];
    });
    if (reach[0] !== '0 / 0' || reach[1] !== '–') throw new Error(reach.join(' | '));
    await page.screenshot({ path: `${artefacts}/console-families-compare.png`, fullPage: true });
  });

  await check('the page raised no script error', async () => {
    if (consoleErrors.length) throw new Error(consoleErrors.join(' | '));
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

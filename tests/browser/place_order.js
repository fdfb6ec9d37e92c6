#!/usr/bin/env node
// Places an order the way a person would: through Swagger UI at /docs, in
// Debian's headless Chromium driven by playwright-core.
//
//   node place_order.js DOCS_URL ORDER_ID SCREENSHOT.png
//
// Opens DOCS_URL, expands POST /orders, clicks "Try it out", types an order
// with ORDER_ID as the request body, clicks "Execute" and waits for the
// response area to show the status.  Takes a screenshot of the operation,
// request and live response, to SCREENSHOT.png.  Prints one JSON line:
//   {"status": "202", "body": "...", "request_url": "...",
//    "offsite": [...], "page_errors": [...]}
// and exits 0 once the response area showed a status, 1 otherwise.  Any
// request to a host other than the one of DOCS_URL is refused and listed in
// "offsite": the page must need nothing from outside this machine.
// Every wait is bounded.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 15000;       // any one step (click, wait for an element)
const OVERALL_MS = 90000;    // the whole run

async function main() {
  const [docsUrl, orderId, screenshot] = process.argv.slice(2);
  if (!docsUrl || !orderId || !screenshot) {
    throw new Error('usage: node place_order.js DOCS_URL ORDER_ID SCREENSHOT.png');
  }
  const allowedHost = new URL(docsUrl).host;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mod_orders-chromium-'));
  const result = { status: null, body: null, request_url: null,
                   offsite: [], page_errors: [] };
  let context;
  try {
    // A persistent context is how playwright takes a user data dir of our
    // own: a fresh, empty profile for every run.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      timeout: STEP_MS,
    });
    context.setDefaultTimeout(STEP_MS);
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.host === allowedHost || url.protocol === 'data:' || url.protocol === 'blob:') {
        return route.continue();
      }
      result.offsite.push(route.request().url());
      return route.abort();
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (err) => result.page_errors.push(String(err)));
    page.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname.endsWith('/orders')) {
        result.request_url = req.url();
      }
    });

    await page.goto(docsUrl, { waitUntil: 'load', timeout: STEP_MS });
    // Swagger UI names each operation's block operations-{tag}-{operationId}.
    const op = page.locator('#operations-orders-placeOrder');
    await op.waitFor({ state: 'visible' });
    await op.locator('.opblock-summary').first().click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    const body = op.locator('textarea.body-param__text');
    await body.waitFor({ state: 'visible' });
    await body.fill(JSON.stringify({
      order_id: orderId,
      user_id: 'swagger-ui',
      item_ids: [101, 'item_2'],
      total_amount: 12.5,
    }, null, 2));
    await op.getByRole('button', { name: 'Execute' }).click();

    // The live response: its status cell, then the body Swagger UI shows.
    const live = op.locator('.live-responses-table .response');
    const status = live.locator('.response-col_status').first();
    await status.waitFor({ state: 'visible' });
    result.status = (await status.innerText()).trim();
    const shown = live.locator('.response-col_description pre').first();
    if (await shown.count()) {
      result.body = (await shown.innerText()).trim();
    }
    // The picture: from the operation's header down to the live response
    // (the documented responses below it are left out).
    await page.evaluate(() => window.scrollTo(0, 0));
    const top = await op.boundingBox();
    const bottom = await live.first().boundingBox();
    await page.screenshot({
      path: screenshot,
      fullPage: true,
      clip: { x: top.x, y: top.y, width: top.width,
              height: bottom.y + bottom.height - top.y + 8 },
    });
  } finally {
    if (context) {
      await context.close().catch(() => {});
    }
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return result;
}

const overall = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: `gave up after ${OVERALL_MS} ms` }) + '\n');
  process.exit(1);
}, OVERALL_MS);

main().then((result) => {
  clearTimeout(overall);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.status ? 0 : 1);
}, (err) => {
  clearTimeout(overall);
  process.stdout.write(JSON.stringify({ error: String(err && err.stack || err) }) + '\n');
  process.exit(1);
});

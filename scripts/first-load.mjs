// First load as a new user gets it, for `make bench`: Chromium on a throttled link (1.6 Mbit/s down,
// 750 kbit/s up, 150 ms round trips; Lighthouse's "slow 4G"), cold cache. For /login and for the Integrations
// page (signed in first, then the cache cleared): bytes on the wire (compressed, headers included), first
// contentful paint, and interactive (the WASM has hydrated the page); then a second visit with the cache kept.
//
// usage: node scripts/first-load.mjs BASE_URL EMAIL PASSWORD
// prints one "#firstload <page> <bytes> <wasm bytes> <fcp ms> <interactive ms> <second-visit bytes>" line per page.
import { chromium } from "@playwright/test";

const [base, email, password] = process.argv.slice(2);
const SLOW = { offline: false, latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"],
});

/** Loads `path` in a new tab of `context` on the slow link; what it cost and when it became usable. */
async function visit(context, path) {
  const page = await context.newPage();
  // Records when the app marks the body hydrated (ui::App), before the test harness could notice.
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.body?.hasAttribute("data-hydrated")) {
        window.__interactiveAt = performance.now();
        obs.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", SLOW);
  const urls = new Map();
  let bytes = 0;
  let wasm = 0;
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
    if ((urls.get(e.requestId) ?? "").endsWith(".wasm")) wasm += e.encodedDataLength;
  });
  await page.goto(base + path, { waitUntil: "load", timeout: 180_000 });
  await page.waitForFunction(() => window.__interactiveAt !== undefined, null, { timeout: 180_000 });
  await page.waitForLoadState("networkidle");
  const timing = await page.evaluate(() => ({
    fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
    interactive: window.__interactiveAt,
  }));
  await page.close();
  return { bytes, wasm, ...timing };
}

async function measure(name, path, signIn) {
  const context = await browser.newContext();
  if (signIn) {
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Integrations", level: 1 }).waitFor();
    path = new URL(page.url()).pathname;
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.clearBrowserCache");
    await page.close();
  }
  const cold = await visit(context, path);
  const warm = await visit(context, path);
  console.log(
    `#firstload ${name} ${cold.bytes} ${cold.wasm} ${Math.round(cold.fcp)} ${Math.round(cold.interactive)} ${warm.bytes}`,
  );
  await context.close();
}

await measure("login", "/login", false);
await measure("integrations", "/integrations", true);
await browser.close();

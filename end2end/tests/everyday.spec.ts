import { test, expect, Page } from "@playwright/test";
import { ensureAcmeDelivery, fixtures, hydrated, login } from "./helpers";

// The small things people notice on every visit: the icon, the window title, copy buttons on a plain-http
// address, times in the reader's own zone, and a phone-sized window that never scrolls sideways.

test("the favicon is served where browsers ask for it", async ({ page }) => {
  const res = await page.request.get("/favicon.ico");
  expect(res.status()).toBe(200);
  expect(res.headers()["content-type"]).toContain("image/svg+xml");
});

test("the window title names the open tab", async ({ page }) => {
  await login(page, fixtures().admin);
  await expect(page).toHaveTitle("Webhooks · Integrations · Integration Hub");
  await page.getByRole("tab", { name: "Deliveries" }).click();
  await expect(page).toHaveTitle("Deliveries · Integrations · Integration Hub");
  await page.goto(`/t/${fixtures().acme}/integrations?tab=api-keys`);
  await expect(page).toHaveTitle("API Keys · Integrations · Integration Hub");
});

/** Opens the first delivery's detail, where "Copy as cURL" is. */
async function openDelivery(page: Page) {
  await ensureAcmeDelivery(page);
  await login(page, fixtures().admin);
  await page.getByRole("tab", { name: "Deliveries" }).click();
  const panel = page.getByRole("tabpanel", { name: "Deliveries" });
  await panel.getByRole("button", { name: /^Open delivery / }).first().click();
  await expect(page.getByRole("dialog", { name: "Delivery" }).getByTestId("attempt").first()).toBeVisible();
}

test("copy works where the Clipboard API is missing, and says so only once the text is copied", async ({ page }) => {
  // A plain-http address that is not localhost is not a secure context: browsers leave navigator.clipboard out.
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined, configurable: true });
    (window as unknown as { copiedTexts: string[] }).copiedTexts = [];
    document.addEventListener("copy", () => {
      const sel = document.activeElement as HTMLTextAreaElement | null;
      (window as unknown as { copiedTexts: string[] }).copiedTexts.push(sel?.value ?? "");
    });
  });
  await openDelivery(page);
  await page.getByRole("button", { name: /Copy as cURL/ }).click();
  await expect(page.getByTestId("toast").filter({ hasText: "cURL command copied" })).toBeVisible();
  const copied = await page.evaluate(() => (window as unknown as { copiedTexts: string[] }).copiedTexts);
  expect(copied.length).toBe(1);
  expect(copied[0]).toContain("curl");
});

test("a copy that fails says so and never claims success", async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined, configurable: true });
    document.execCommand = () => false;
  });
  await openDelivery(page);
  await page.getByRole("button", { name: /Copy as cURL/ }).click();
  await expect(page.getByText("Could not copy: select the text and copy it by hand")).toBeVisible();
  await expect(page.getByText("cURL command copied")).toHaveCount(0);
});

test.describe("in the reader's time zone", () => {
  test.use({ timezoneId: "Asia/Kolkata" });
  test("times carry their instant and show the local zone", async ({ page }) => {
    await openDelivery(page);
    const panel = page.getByRole("tabpanel", { name: "Deliveries" });
    await page.keyboard.press("Escape");
    const time = panel.getByTestId("delivery-row").first().locator("time");
    await expect(time).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await expect(time).toHaveAttribute("title", /GMT\+5:30$/);
    await expect(time).toHaveText(/ago|just now/);
  });
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });
  test("no page scrolls sideways", async ({ page }) => {
    await ensureAcmeDelivery(page);
    const f = fixtures();
    // A long name and URL: the card must wrap or truncate them, not widen the page.
    await page.request.post("/api/v1/webhooks", {
      headers: { Authorization: `Bearer ${f.acmeKey}` },
      data: {
        name: "A rather long endpoint name for the customer success team",
        url: "https://hooks.example.com/a/very/long/path/that/goes/on/and/on/for/quite/a/while",
        events: ["ticket.created", "ticket.updated", "ticket.closed", "contact.*"],
      },
    });
    await login(page, f.admin);
    for (const tab of ["webhooks", "api-keys", "deliveries", "event-types"]) {
      await page.goto(`/t/${f.acme}/integrations?tab=${tab}`);
      await hydrated(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${tab} is ${overflow}px wider than the screen`).toBeLessThanOrEqual(0);
    }
  });
});

import { test, expect, Page } from "@playwright/test";
import { example, fixtures, hydrated, login, publish, startReceiver, useTheme } from "./helpers";

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

async function createViaModal(page: Page, name: string, url: string) {
  const panel = page.getByRole("tabpanel", { name: "Webhooks" });
  await panel.getByRole("button", { name: "New endpoint" }).click();
  const dialog = page.getByRole("dialog", { name: "New endpoint" });
  await dialog.getByLabel("Name", { exact: true }).fill(name);
  // A bad URL first: the server's field error shows next to the field and the input stays.
  await dialog.getByLabel("URL").fill("ftp://files.example.com/in");
  await dialog.getByRole("checkbox", { name: "ticket.created" }).check();
  await dialog.getByText("Filters (0)").click();
  await dialog.getByRole("button", { name: "Add filter" }).click();
  await dialog.getByLabel("Filter 1 field").fill("data.ticket.priority");
  await dialog.getByLabel("Filter 1 operator").selectOption("in");
  await dialog.getByLabel("Filter 1 value").fill("high");
  await expect(dialog.getByText('"in" needs a list of values')).toBeVisible();
  await dialog.getByLabel("Filter 1 value").fill('["high", "urgent"]');
  await expect(dialog.getByText('"in" needs a list of values')).toBeHidden();
  await dialog.getByText("Headers (0)").click();
  await dialog.getByRole("button", { name: "Add header" }).click();
  await dialog.getByLabel("Header 1 name").fill("X-Team");
  await dialog.getByLabel("Header 1 value").fill("support");
  await dialog.getByRole("button", { name: "Create endpoint" }).click();
  await expect(dialog.locator("#wh-url-error")).toContainText(/http/i);
  await expect(dialog.getByLabel("Filter 1 field")).toHaveValue("data.ticket.priority");
  await dialog.getByLabel("URL").fill(url);
  await dialog.getByRole("button", { name: "Create endpoint" }).click();
  await expect(dialog).toBeHidden();
  const card = panel.getByTestId("webhook-card").filter({ hasText: name });
  await expect(card).toBeVisible();
  return card;
}

async function cardAction(page: Page, name: string, action: string) {
  const card = page.getByRole("tabpanel", { name: "Webhooks" }).getByTestId("webhook-card").filter({ hasText: name });
  await card.getByRole("button", { name: `Actions for ${name}` }).click();
  await page.getByRole("menu", { name: `Actions for ${name}` }).getByRole("menuitem", { name: action }).click();
}

for (const theme of ["light", "dark"] as const) {
  test(`create an endpoint in the modal with events, a filter and a header, then test-fire it (${theme})`, async ({ page }) => {
    const rx = await startReceiver();
    await useTheme(page, theme);
    await login(page, fixtures().admin);
    await expect(page.locator("html")).toHaveClass(theme === "dark" ? /dark/ : /^(?!.*dark)/);
    const card = await createViaModal(page, `Support desk ${theme}`, rx.url);
    await expect(card).toContainText("ticket.created");

    await cardAction(page, `Support desk ${theme}`, "Test");
    const dialog = page.getByRole("dialog", { name: `Test “Support desk ${theme}”` });
    await expect(dialog.getByLabel("Event type")).toHaveValue("ticket.created");
    await expect(dialog.getByLabel("Payload (data)")).toHaveValue(/"priority": "high"/);
    // Invalid JSON is caught before sending.
    await dialog.getByLabel("Payload (data)").fill("{ not json");
    await expect(dialog.getByText(/Not valid JSON/)).toBeVisible();
    await expect(dialog.getByRole("button", { name: "Send test event" })).toBeDisabled();
    await dialog.getByLabel("Payload (data)").fill(JSON.stringify(await example(page, "ticket.created")));
    await dialog.getByRole("button", { name: "Send test event" }).click();
    const result = dialog.getByTestId("test-result");
    await expect(result.getByTestId("test-status")).toHaveText("HTTP 200");
    await expect(result.getByTestId("body")).toContainText('"received": true');
    await result.getByText(/Response headers/).click();
    await expect(result).toContainText("x-receiver");
    expect(rx.requests.at(-1)!.headers["x-team"]).toBe("support");
    expect(rx.requests.at(-1)!.headers["webhook-signature"]).toMatch(/^v1,/);
    await rx.close();
  });

  test(`published events appear live; a failing receiver goes retrying → dead letter; replay succeeds once fixed (${theme})`, async ({ page }) => {
    const rx = await startReceiver();
    await useTheme(page, theme);
    const f = fixtures();
    const created = await page.request.post("/api/v1/webhooks", {
      headers: { Authorization: `Bearer ${f.acmeKey}` },
      // Retry delays are scaled 1000× down in the e2e server: 3,000 s → 3 s between attempts.
      data: { name: `Flaky CRM ${theme}`, url: rx.url, events: ["contact.*"], max_retries: 2, retry_delay_seconds: 3000, backoff_factor: 1 },
    });
    expect(created.status()).toBe(201);
    const hook = await created.json();

    await login(page, f.admin);
    await page.getByRole("tab", { name: "Deliveries" }).click();
    const panel = page.getByRole("tabpanel", { name: "Deliveries" });
    await panel.getByLabel("Endpoint", { exact: true }).selectOption({ label: `Flaky CRM ${theme}` });
    await expect(page).toHaveURL(new RegExp(`webhook=${hook.id}`));
    await expect(panel.getByTestId("live-status")).toHaveText("Live");
    await expect(panel).toContainText("No deliveries match");

    // Live: rows arrive without a reload.
    const contact = await example(page, "contact.created");
    await publish(page, "contact.created", contact);
    await expect(panel.getByTestId("delivery-row")).toHaveCount(1);
    await expect(panel.getByTestId("delivery-status").first()).toHaveText("Success");

    rx.failing = true;
    await publish(page, "contact.created", contact);
    await expect(panel.getByTestId("delivery-row")).toHaveCount(2);
    await expect(panel.getByTestId("delivery-status").first()).toHaveText("Retrying");
    await expect(panel.getByTestId("delivery-status").first()).toHaveText("Dead letter", { timeout: 30_000 });

    // The detail drawer shows each attempt with the receiver's answer.
    await panel.getByRole("button", { name: /Open delivery contact.created \(Dead letter\)/ }).click();
    const drawer = page.getByRole("dialog", { name: "Delivery" });
    await expect(drawer.getByTestId("attempt")).toHaveCount(3);
    await expect(drawer.getByTestId("attempt").first()).toContainText("HTTP 500");
    await expect(drawer.getByTestId("attempt").first()).toContainText("receiver is down");
    await drawer.getByRole("button", { name: "Copy as cURL" }).click();
    const curl = await page.evaluate(() => navigator.clipboard.readText());
    expect(curl).toContain(`curl -X POST '${rx.url}'`);
    expect(curl).toContain("webhook-signature: v1,");

    // Fixed receiver: replay → a new successful delivery.
    rx.failing = false;
    await drawer.getByRole("button", { name: "Replay" }).click();
    await expect(page.getByTestId("toast").filter({ hasText: "Replay queued" })).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(panel.getByTestId("delivery-row")).toHaveCount(3);
    await expect(panel.getByTestId("delivery-status").first()).toHaveText("Success");

    // The dead-letter view filters by status (in the URL) and recovers in bulk.
    await panel.getByLabel("Status", { exact: true }).selectOption({ label: "Dead letter" });
    await expect(page).toHaveURL(/status=failed/);
    await expect(panel.getByTestId("delivery-row")).toHaveCount(1);
    const dlq = panel.getByRole("region", { name: "Dead-letter queue" });
    // It was replayed already (above), so recovering sends it no second time.
    await dlq.getByRole("button", { name: "Recover" }).click();
    await expect(page.getByTestId("toast").filter({ hasText: "every dead letter in range was replayed already" })).toBeVisible();

    // Filters survive a reload (they live in the URL) and the stats panel counts what happened.
    await page.reload();
    await hydrated(page);
    await expect(panel.getByLabel("Status")).toHaveValue("failed");
    await panel.getByLabel("Status", { exact: true }).selectOption({ label: "All" });
    await expect(panel.getByTestId("delivery-row")).toHaveCount(3);
    await expect(panel.getByRole("region", { name: "Statistics: this endpoint" })).toBeVisible();
    await expect(panel.getByRole("img", { name: /Deliveries by outcome over 24h: 3 in all/ })).toBeVisible();
    await rx.close();
  });
}

test("routing preview and signature playground give the right verdicts", async ({ page }) => {
  const f = fixtures();
  for (const [name, filters] of [
    ["Urgent only", [{ field: "data.ticket.priority", operator: "equals", value: "urgent" }]],
    ["All tickets", []],
  ] as const) {
    const r = await page.request.post("/api/v1/webhooks", {
      headers: { Authorization: `Bearer ${f.acmeKey}` },
      data: { name, url: "https://hooks.example.com/" + name.replace(" ", "-"), events: ["ticket.*"], filters },
    });
    expect(r.status()).toBe(201);
  }
  await login(page, f.admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Developer tools" }).click();
  await expect(page.getByRole("heading", { name: "Developer tools", level: 1 })).toBeVisible();
  await page.getByLabel("Event type").selectOption("ticket.created");
  await page.getByRole("button", { name: "Preview routing" }).click();
  const verdict = (name: string) => page.getByTestId("route-verdict").filter({ hasText: name });
  await expect(verdict("All tickets").getByTestId("route-outcome")).toHaveText("Would receive it");
  await expect(verdict("Urgent only").getByTestId("route-outcome")).toHaveText("Filtered out");
  await expect(verdict("Urgent only")).toContainText("data.ticket.priority");
  await expect(verdict("Flaky CRM light").getByTestId("route-outcome")).toHaveText("Not subscribed");

  // A request signed by the hub (the test-fire above went to a real receiver; here we sign one ourselves).
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const crypto = await import("node:crypto");
  const body = '{"type":"ticket.created","data":{"id":1}}';
  const ts = Math.floor(Date.now() / 1000);
  const sig = crypto.createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_1.${ts}.${body}`).digest("base64");
  const headers = `webhook-id: msg_1\nwebhook-timestamp: ${ts}\nwebhook-signature: v1,${sig}`;
  const play = page.getByRole("region", { name: "Signature playground" });
  await play.getByLabel("Signing secret").fill(secret);
  await play.getByLabel(/Headers/).fill(headers);
  await play.getByLabel("Raw body").fill(body);
  await play.getByRole("button", { name: "Verify" }).click();
  await expect(play.getByTestId("signature-result")).toHaveText("Valid signature");

  await play.getByLabel("Raw body").fill(JSON.stringify(JSON.parse(body), null, 2));
  await play.getByRole("button", { name: "Verify" }).click();
  await expect(play.getByTestId("signature-result")).toHaveText("Invalid signature");
  await expect(play.getByTestId("signature-reason")).toContainText("re-formatted");

  await play.getByLabel("Raw body").fill(body);
  await play.getByLabel(/Headers/).fill(headers.replace(String(ts), String(ts - 3600)));
  await play.getByRole("button", { name: "Verify" }).click();
  await expect(play.getByTestId("signature-reason")).toContainText("in the past");

  await play.getByLabel("Signing secret").fill("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  await play.getByLabel(/Headers/).fill(headers);
  await play.getByRole("button", { name: "Verify" }).click();
  await expect(play.getByTestId("signature-reason")).toContainText("not the secret");
});

import { test, expect, Locator, Page, TestInfo } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { example, fixtures, login, useTheme } from "./helpers";

/** A stand-in for Slack's incoming webhook on loopback: answers 200 `ok` in plain text, as Slack does. */
async function startSlack() {
  const http = await import("node:http");
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      bodies.push(body);
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/e2e`,
    bodies,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** What the e2e SMTP server (tests/smtp/server.py) wrote, one record per message accepted. */
interface Mail {
  rcpt_tos: string[];
  headers: [string, string][];
  parts: { content_type: string; content: string }[];
}

function mails(): Mail[] {
  const dir = (fixtures() as unknown as { smtpDir: string }).smtpDir;
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Mail);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const header = (m: Mail, name: string) => m.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

async function openNewEndpoint(page: Page) {
  await page.getByRole("tabpanel", { name: "Webhooks" }).getByRole("button", { name: "New endpoint" }).click();
  return page.getByRole("dialog", { name: "New endpoint" });
}

async function pick(dialog: Locator, kind: string) {
  const picker = dialog.getByRole("radiogroup", { name: "Destination" });
  await expect(picker.getByRole("radio")).toHaveCount(5);
  await expect(picker.getByRole("radio", { name: "Webhook", exact: true })).toHaveAttribute("aria-checked", "true");
  await picker.getByRole("radio", { name: kind, exact: true }).click();
  await expect(picker.getByRole("radio", { name: kind, exact: true })).toHaveAttribute("aria-checked", "true");
  await expect(picker.getByRole("radio", { name: "Webhook", exact: true })).toHaveAttribute("aria-checked", "false");
}

async function cardAction(page: Page, name: string, action: string) {
  const card = page.getByRole("tabpanel", { name: "Webhooks" }).getByTestId("webhook-card").filter({ hasText: name });
  await card.getByRole("button", { name: `Actions for ${name}` }).click();
  await page.getByRole("menu", { name: `Actions for ${name}` }).getByRole("menuitem", { name: action }).click();
}

/** No serious or critical axe findings inside the endpoint dialog (the preview's colours included). */
async function shot(dialog: Locator, info: TestInfo, name: string) {
  const path = info.outputPath(`${name}.png`);
  await dialog.getByTestId("message-preview").locator("[role=group]").screenshot({ path });
  await info.attach(name, { path, contentType: "image/png" });
}

async function axeDialog(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).include("#webhook-form").withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), what).toEqual([]);
}

for (const theme of ["light", "dark"] as const) {
  test(`a Slack destination: picker, live preview of the message, test-fire and the Slack JSON sent (${theme})`, async ({ page }, info) => {
    const slack = await startSlack();
    const name = `Support Slack ${theme}`;
    const ticket = ((await example(page, "ticket.created")) as { ticket: { subject: string; priority: string } }).ticket;
    await useTheme(page, theme);
    await login(page, fixtures().admin);
    await expect(page.locator("html")).toHaveClass(theme === "dark" ? /dark/ : /^(?!.*dark)/);

    const dialog = await openNewEndpoint(page);
    await pick(dialog, "Slack");
    const top = info.outputPath(`form-${theme}.png`);
    await page.screenshot({ path: top });
    await info.attach(`form-${theme}`, { path: top, contentType: "image/png" });
    // Only what a Slack destination has: no headers, no body template, no signing options.
    await expect(dialog.getByText(/^Headers \(/)).toHaveCount(0);
    await expect(dialog.getByLabel("Body template", { exact: false })).toHaveCount(0);
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    const url = dialog.getByLabel("Incoming webhook URL");
    await expect(url).toHaveAttribute("placeholder", /hooks\.slack\.com/);
    await url.fill(slack.url);
    await dialog.getByRole("checkbox", { name: "ticket.created" }).check();
    await dialog.getByText("Delivery settings").click();
    await expect(dialog.getByLabel(/Rate limit/)).toHaveValue("60");

    // The preview renders the category default for the subscribed type's example...
    const preview = dialog.getByTestId("message-preview");
    await expect(preview.getByLabel("Example event")).toHaveValue("ticket.created");
    const block = preview.getByTestId("slack-preview");
    await expect(block.getByTestId("preview-title")).toHaveText(new RegExp(`^Ticket created: #\\d+ ${escapeRe(ticket.subject)}`));
    await expect(block).toContainText("Priority");
    // Empty parts fall back to the category default, which the placeholders show (or point to).
    await expect(dialog.getByLabel(/^Fields/)).toHaveAttribute("placeholder", /^Status: \{\{ ticket\.status \}\}\nPriority: /);
    await expect(dialog.getByLabel("Title")).toHaveAttribute("placeholder", /.+/);

    // ...and follows the title template as it is typed.
    await dialog.getByLabel("Title").fill("New ticket: {{ ticket.subject }} ({{ ticket.priority | upper }})");
    const title = `New ticket: ${ticket.subject} (${ticket.priority.toUpperCase()})`;
    await expect(block.getByTestId("preview-title")).toHaveText(title);

    // A template that does not render says so in place of the preview; fixing it brings the preview back.
    await dialog.getByLabel("Text", { exact: true }).fill("{{ ticket.subject | nosuchfilter }}");
    await expect(preview.getByTestId("preview-error")).toContainText("does not render");
    await expect(preview.getByTestId("preview-error")).toContainText("nosuchfilter");
    await dialog.getByLabel("Text", { exact: true }).fill("Requested by {{ ticket.requester.name }}");
    await expect(block.getByTestId("preview-title")).toHaveText(title);

    // A fields line without a label is caught in the browser.
    const fields = dialog.getByLabel(/^Fields/);
    await fields.fill("Priority: {{ ticket.priority }}\n{{ ticket.status }}");
    await fields.blur();
    await expect(dialog.locator("#msg-fields-error")).toHaveText("Line 2: write it as Label: {{ template }}");
    await fields.fill("Priority: {{ ticket.priority }}\nStatus: {{ ticket.status }}");
    await expect(dialog.locator("#msg-fields-error")).toBeEmpty();
    await expect(block.getByText("Status", { exact: true })).toBeVisible();

    // The exact payload: Slack's Block Kit JSON.
    await preview.getByText("Show payload").click();
    const payload = preview.getByTestId("preview-payload");
    await expect(payload).toContainText('"blocks"');
    await expect(payload).toContainText(title);
    await axeDialog(page, `Slack form (${theme})`);
    await shot(dialog, info, `slack-${theme}`);

    // The same message as Discord and Teams show it; the rate limit follows each platform's default.
    const picker = dialog.getByRole("radiogroup", { name: "Destination" });
    for (const [kind, testid, rate] of [["Discord", "discord-preview", "30"], ["Microsoft Teams", "teams-preview", "240"]] as const) {
      await picker.getByRole("radio", { name: kind, exact: true }).click();
      await expect(preview.getByTestId(testid).getByTestId("preview-title")).toHaveText(title);
      await expect(dialog.getByLabel(/Rate limit/)).toHaveValue(rate);
      await expect(dialog.getByLabel("Incoming webhook URL")).toHaveValue(slack.url);
      await axeDialog(page, `${kind} form (${theme})`);
      await shot(dialog, info, `${testid}-${theme}`);
    }
    await picker.getByRole("radio", { name: "Slack", exact: true }).click();
    await expect(dialog.getByLabel(/Rate limit/)).toHaveValue("60");
    await expect(block.getByTestId("preview-title")).toHaveText(title);

    await dialog.getByRole("button", { name: "Create endpoint" }).click();
    await expect(dialog).toBeHidden();
    const card = page.getByRole("tabpanel", { name: "Webhooks" }).getByTestId("webhook-card").filter({ hasText: name });
    await expect(card.getByTestId("webhook-kind")).toHaveText("Slack");
    await expect(card.getByTestId("webhook-target")).toHaveText(slack.url);

    // Test-fire from the card: Slack's `ok` comes back, and the stand-in got the blocks.
    await cardAction(page, name, "Test");
    const fire = page.getByRole("dialog", { name: `Test “${name}”` });
    await expect(fire.getByLabel("Event type")).toHaveValue("ticket.created");
    await fire.getByRole("button", { name: "Send test event" }).click();
    const result = fire.getByTestId("test-result");
    await expect(result.getByTestId("test-status")).toHaveText("HTTP 200");
    await expect(result.getByTestId("body")).toContainText("ok");
    expect(slack.bodies).toHaveLength(1);
    const sent = JSON.parse(slack.bodies[0]);
    expect(Array.isArray(sent.blocks)).toBe(true);
    expect(sent.blocks[0]).toMatchObject({ type: "header", text: { text: title } });
    await page.keyboard.press("Escape");
    await expect(fire).toBeHidden();

    // The delivery log shows the attempt with the JSON that was sent.
    await cardAction(page, name, "View deliveries");
    const deliveries = page.getByRole("tabpanel", { name: "Deliveries" });
    await deliveries.getByRole("button", { name: /Open delivery ticket\.created \(Success\)/ }).first().click();
    const attempt = page.getByRole("dialog", { name: "Delivery" }).getByTestId("attempt").first();
    await expect(attempt).toContainText("HTTP 200");
    await expect(attempt).toContainText('"blocks"');
    await expect(attempt).toContainText(title);
    await slack.close();
  });

  test(`an email destination: two recipients, the subject in the preview, test-fire reaches the SMTP server (${theme})`, async ({ page }, info) => {
    const name = `Ops email ${theme}`;
    const [ops, oncall] = [`ops-${theme}@example.com`, `oncall-${theme}@example.com`];
    const ticket = ((await example(page, "ticket.created")) as { ticket: { subject: string } }).ticket;
    await useTheme(page, theme);
    await login(page, fixtures().admin);

    const dialog = await openNewEndpoint(page);
    await pick(dialog, "Email");
    await expect(dialog.getByLabel("URL", { exact: false })).toHaveCount(0);
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    const recipients = dialog.getByLabel("Recipients");
    // Addresses are checked in the browser with the server's rule; what was typed stays.
    await recipients.fill(`${ops}, not-an-address`);
    await recipients.blur();
    await expect(dialog.locator("#wh-recipients-error")).toHaveText('"not-an-address" is not an email address');
    await dialog.getByRole("checkbox", { name: "ticket.created" }).check();
    await dialog.getByRole("button", { name: "Create endpoint" }).click();
    await expect(dialog.getByRole("alert")).toHaveText("Please correct the highlighted fields.");
    await expect(recipients).toHaveValue(`${ops}, not-an-address`);
    await recipients.fill(`${ops}\n${oncall}`);
    await expect(dialog.locator("#wh-recipients-error")).toBeEmpty();

    const preview = dialog.getByTestId("message-preview");
    const mail = preview.getByTestId("email-preview");
    await expect(mail.getByTestId("preview-title")).toHaveText(new RegExp(`^Ticket created: #\\d+ ${escapeRe(ticket.subject)}`));
    await expect(mail.getByTestId("email-to")).toContainText(ops);
    await expect(mail.getByTestId("email-to")).toContainText(oncall);
    await expect(mail.getByTestId("email-from")).toContainText("hub@e2e.test");
    await expect(mail).toContainText("Unsubscribe");
    const subject = `[Acme] ${ticket.subject}`;
    await dialog.getByLabel("Subject").fill("[Acme] {{ ticket.subject }}");
    await expect(mail.getByTestId("preview-title")).toHaveText(subject);
    await preview.getByText("Show payload").click();
    await expect(preview.getByTestId("preview-payload")).toContainText(`Subject: ${subject}`);
    await expect(preview.getByTestId("preview-payload")).toContainText("/unsubscribe/");
    await axeDialog(page, `email form (${theme})`);
    await shot(dialog, info, `email-${theme}`);

    await dialog.getByRole("button", { name: "Create endpoint" }).click();
    await expect(dialog).toBeHidden();
    const card = page.getByRole("tabpanel", { name: "Webhooks" }).getByTestId("webhook-card").filter({ hasText: name });
    await expect(card.getByTestId("webhook-kind")).toHaveText("Email");
    await expect(card.getByTestId("webhook-target")).toHaveText("2 recipients");

    const before = mails().length;
    await cardAction(page, name, "Test");
    const fire = page.getByRole("dialog", { name: `Test “${name}”` });
    await fire.getByRole("button", { name: "Send test event" }).click();
    await expect(fire.getByTestId("test-result").getByTestId("test-status")).toHaveText(/250/);
    await expect.poll(() => mails().length).toBe(before + 2);
    const got = mails().slice(before);
    expect(got.map((m) => m.rcpt_tos).flat().sort()).toEqual([oncall, ops].sort());
    for (const m of got) {
      expect(header(m, "Subject")).toBe(subject);
      expect(header(m, "From")).toContain("hub@e2e.test");
      expect(m.parts.map((p) => p.content_type)).toEqual(expect.arrayContaining(["text/plain", "text/html"]));
    }

    // Editing shows the kind and keeps the message and recipients.
    await page.keyboard.press("Escape");
    await cardAction(page, name, "Edit");
    const edit = page.getByRole("dialog", { name: "Edit endpoint" });
    await expect(edit.getByTestId("destination-kind")).toContainText("Email");
    await expect(edit.getByLabel("Recipients")).toHaveValue(`${ops}\n${oncall}`);
    await expect(edit.getByLabel("Subject")).toHaveValue("[Acme] {{ ticket.subject }}");
  });
}

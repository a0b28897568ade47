import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { createHmac } from "node:crypto";
import { fixtures, hydrated, login, useTheme } from "./helpers";

const BASE_URL = `http://127.0.0.1:${process.env.E2E_PORT ?? 3107}`;

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

/** RFC 4648 base32 (no padding), as the enrolment shows the key. */
function base32(s: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of s.replace(/[\s=]/g, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code an authenticator app shows `offsetSeconds` from now (RFC 6238: SHA-1, 6 digits, 30 s). */
function totp(secret: string, offsetSeconds = 0): string {
  const counter = Math.floor((Date.now() / 1000 + offsetSeconds) / 30);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac("sha1", base32(secret)).update(msg).digest();
  const off = h[h.length - 1] & 15;
  return String((h.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function axe(page: Page, selector: string, what: string) {
  const results = await new AxeBuilder({ page }).include(selector).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), what).toEqual([]);
}

for (const theme of ["light", "dark"] as const) {
  test(`TOTP: enrol on the Account page, sign out, sign in with password and code (${theme})`, async ({ page, browser }) => {
    const f = fixtures();
    // An admin invites a manager of Acme; the invite is accepted in a browser of their own.
    await login(page, f.admin);
    const email = `tfa-${theme}-${Date.now()}@acme.test`;
    const password = "two-factor-password-1";
    const invited = await page.request.post("/api/invite_user", {
      data: { input: { email, role: "tenant", tenant_id: f.acme } },
      headers: { accept: "application/json", origin: BASE_URL },
    });
    expect(invited.status(), await invited.text()).toBe(200);
    const token = ((await invited.json()) as { url: string }).url.split("/accept/")[1];

    const ctx = await browser.newContext();
    const u = await ctx.newPage();
    await useTheme(u, theme);
    const accepted = await u.request.post("/api/accept_user_link", {
      data: { token, password },
      headers: { accept: "application/json", origin: BASE_URL },
    });
    expect(accepted.status(), await accepted.text()).toBe(200);

    // Enrol: the dialog shows the QR code and the key; a code from the key turns it on.
    await u.goto(`/t/${f.acme}/account`);
    await hydrated(u);
    const section = u.getByRole("region", { name: "Two-factor authentication" });
    await expect(section.getByTestId("two-factor-state")).toContainText("Off");
    await section.getByRole("button", { name: "Set up two-factor sign-in" }).click();
    const dialog = u.getByRole("dialog", { name: "Set up two-factor sign-in" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole("img", { name: /QR code/ }).locator("svg")).toBeVisible();
    const secret = (await dialog.getByTestId("totp-secret").getAttribute("data-secret"))!;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await axe(u, "#two-factor-dialog", `enrol dialog, ${theme}`);
    await dialog.getByLabel("Code from the app").fill("000000" === totp(secret) ? "111111" : "000000");
    await dialog.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
    await expect(dialog.locator("#enrol-code-error")).toContainText("is not the code your app shows now");
    await dialog.getByLabel("Code from the app").fill(totp(secret));
    await dialog.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
    const codesDialog = u.getByRole("dialog", { name: "Your recovery codes" });
    const codes = codesDialog.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
    await expect(codes).toHaveCount(10);
    const recovery = (await codes.first().innerText()).trim();
    expect(recovery).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    await expect(codesDialog.getByRole("link", { name: "Download" })).toHaveAttribute("download", "integration-hub-recovery-codes.txt");
    await axe(u, "#two-factor-dialog", `recovery codes, ${theme}`);
    await codesDialog.getByRole("button", { name: "I have saved them" }).click();
    await expect(section.getByTestId("two-factor-state")).toContainText("10 recovery codes left");

    // Sign out; the password alone now leads to the code step, not into the app.
    await ctx.clearCookies();
    await useTheme(u, theme);
    await u.goto("/login");
    await hydrated(u);
    await u.getByLabel("Email").fill(email);
    await u.getByLabel("Password").fill(password);
    await u.getByRole("button", { name: "Sign in" }).click();
    await expect(u).toHaveURL(/\/login\?step=code/);
    await expect(u.getByRole("heading", { name: "Two-factor sign-in" })).toBeVisible();
    await hydrated(u);
    await axe(u, "main", `code step, ${theme}`);
    // A wrong code is refused beside the field.
    await u.getByLabel("Code from your authenticator app").fill(totp(secret) === "000000" ? "111111" : "000000");
    await u.getByRole("button", { name: "Verify" }).click();
    await expect(u.locator("#code-error")).toContainText("is not right");
    // The recovery code step is one link away, and scans clean too.
    await u.getByRole("link", { name: "Use a recovery code" }).click();
    await expect(u.getByRole("heading", { name: "Use a recovery code" })).toBeVisible();
    await axe(u, "main", `recovery step, ${theme}`);
    await u.getByRole("link", { name: "Use your authenticator app" }).click();
    await expect(u.getByRole("heading", { name: "Two-factor sign-in" })).toBeVisible();
    // The code that enrolled was used in its step: the next step's code signs in.
    await u.getByLabel("Code from your authenticator app").fill(totp(secret, 30));
    await u.getByRole("button", { name: "Verify" }).click();
    await expect(u.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();

    // The admin's Audit trail holds the enrolment.
    await page.goto(`/t/${f.acme}/integrations`);
    await hydrated(page);
    await page.getByRole("tab", { name: "Audit" }).click();
    const audit = page.getByRole("tabpanel", { name: "Audit" });
    await expect(audit.locator('[data-action="user.two_factor_enabled"]').first()).toBeVisible();
    await ctx.close();
  });
}

test("a tenant that requires two-factor sends its people to enrol at sign-in", async ({ page, browser }) => {
  const f = fixtures();
  await login(page, f.admin);
  const email = `tfa-required-${Date.now()}@acme.test`;
  const password = "two-factor-password-2";
  const invited = await page.request.post("/api/invite_user", {
    data: { input: { email, role: "viewer", tenant_id: f.globex } },
    headers: { accept: "application/json", origin: BASE_URL },
  });
  expect(invited.status(), await invited.text()).toBe(200);
  const token = ((await invited.json()) as { url: string }).url.split("/accept/")[1];

  await page.goto(`/t/${f.acme}/tenants`);
  await hydrated(page);
  await page.getByRole("button", { name: "Require two-factor sign-in for Globex" }).click();
  await expect(page.getByTestId("tenant-row").filter({ hasText: "Globex" })).toContainText("Two-factor required");

  const ctx = await browser.newContext();
  const u = await ctx.newPage();
  const accepted = await u.request.post("/api/accept_user_link", {
    data: { token, password },
    headers: { accept: "application/json", origin: BASE_URL },
  });
  expect(accepted.status(), await accepted.text()).toBe(200);
  expect(await accepted.json()).toContain("step=enrol");
  await u.goto("/login?step=enrol");
  await hydrated(u);
  await expect(u.getByRole("heading", { name: "Set up two-factor sign-in" })).toBeVisible();
  const secret = (await u.getByTestId("totp-secret").getAttribute("data-secret"))!;
  await axe(u, "main", "enrolment at sign-in");
  await u.getByLabel("Code from the app").fill(totp(secret));
  await u.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
  await expect(u.getByTestId("recovery-codes").getByRole("listitem")).toHaveCount(10);
  await u.getByRole("link", { name: "Continue" }).click();
  await expect(u.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();

  // Back to optional, so the other specs' Globex is as they expect.
  await page.getByRole("button", { name: "Stop requiring two-factor sign-in for Globex" }).click();
  await expect(page.getByTestId("tenant-row").filter({ hasText: "Globex" })).not.toContainText("Two-factor required");
  await ctx.close();
});

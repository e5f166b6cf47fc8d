// Browser stories of the ticket detail and the mail desk (issue 14, points 5 and 6): an admin
// anonymises a ticket after confirming; an agent forwards with the target picker; a responder
// assigns an inbound mail to a ticket and sends a failed mail again. Every page visited is
// checked with axe at 1366x768 and at 768 px wide (see harness.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { useServer, base, PASSWORD, INGEST_TOKEN, visit, login } from "./harness.mjs";

useServer(import.meta.url);

const WIDE = { width: 1366, height: 768 };
const TABLET = { width: 768, height: 1024 };

/** axe and a screenshot at both sizes; the page is left at 1366x768. */
async function visitBoth(page, name) {
  await page.setViewportSize(TABLET);
  await visit(page, name + "-768");
  await page.setViewportSize(WIDE);
  await visit(page, name);
}

async function ingest(lines) {
  const r = await fetch(base + "/api/v1/inbound/raw", {
    method: "POST",
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, "content-type": "message/rfc822" },
    body: lines.join("\r\n"),
  });
  assert.ok(r.status === 201 || r.status === 200, `ingest: ${r.status}`);
  return r.json();
}

function mail(from, subject, body) {
  const id = `uit-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return [
    `From: Anna Schmidt <${from}>`, "To: buergerservice@stadt-koblenz.demo", `Subject: ${subject}`,
    `Message-ID: <${id}@buerger.example>`, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
    "", body, "",
  ];
}

async function apiToken(email) {
  const r = await fetch(base + "/api/v1/auth/login", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).access_token;
}

test("an admin anonymises a ticket after a confirmation step", async () => {
  const stored = await ingest(mail(`anna-anon-${process.pid}@buerger.example`, "Löschersuchen Hundesteuer",
    "Guten Tag, bitte löschen Sie meine Daten."));
  const number = stored.ticket_number;
  const { context, page } = await login("admin@stadt-koblenz.demo");
  await page.goto(`${base}/vorgaenge/${number}`);
  assert.match(await page.locator("main").textContent(), /Löschersuchen Hundesteuer/);
  await visitBoth(page, "admin-vorgang");
  await page.getByRole("link", { name: "Anonymisieren …" }).click();
  await page.waitForURL(/\/anonymisieren$/);
  assert.match(await page.locator("main").textContent(), /lässt sich nicht rückgängig machen/);
  await visitBoth(page, "anonymisieren-bestaetigen");
  await page.getByLabel(/^Grund/).fill("Löschersuchen vom 28.11.2026");
  await page.getByRole("button", { name: "Endgültig anonymisieren" }).click();
  await page.waitForURL(/ok=anonymisiert/);
  assert.match(await page.getByRole("status").first().textContent(), /wurde anonymisiert/);
  const main = await page.locator("main").textContent();
  assert.match(main, /Anonymisiert/);
  assert.doesNotMatch(main, /Hundesteuer/);
  assert.doesNotMatch(main, /anna-anon-/);
  assert.equal(await page.getByRole("link", { name: "Anonymisieren …" }).count(), 0);
  await visitBoth(page, "anonymisiert");
  await context.close();

  // The agent sees no such link; the confirmation page says they may not.
  const agent = await login("agent@sc-koblenz.demo");
  await agent.page.goto(`${base}/vorgaenge/${number}`);
  assert.equal(await agent.page.getByRole("link", { name: "Anonymisieren …" }).count(), 0);
  const resp = await agent.page.goto(`${base}/vorgaenge/${number}/anonymisieren`);
  assert.equal(resp.status(), 403);
  await visit(agent.page, "anonymisieren-agent-403");
  await agent.context.close();
});

test("an agent forwards a ticket with the target picker and a reason", async () => {
  const token = await apiToken("agent@sc-koblenz.demo");
  const r = await fetch(base + "/api/v1/tenants/stadt-koblenz/tickets", {
    method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      subject: "Ummeldung nach Mainz", question: "Wo melde ich mich in Mainz an?",
      citizen: { name: "Erika Mustermann", phone: "+49 261 123456" }, answer_channel: "callback",
      callback_windows: [{ from: "2026-12-01T08:00:00Z", to: "2026-12-01T10:00:00Z" }],
    }),
  });
  assert.equal(r.status, 201);
  const t = await r.json();
  const { context, page } = await login("agent@sc-koblenz.demo");
  await page.goto(`${base}/vorgaenge/${t.number}`);
  const picker = page.getByLabel("Weiterleiten an");
  const options = await picker.locator("option").allTextContents();
  assert.ok(options.includes("Stadt Mainz"), options.join(", "));
  assert.ok(!options.includes("Stadt Koblenz"), "not to the own tenant");
  assert.equal(await picker.getAttribute("required"), "");
  await visitBoth(page, "weiterleiten-auswahl");
  await picker.selectOption({ label: "Stadt Mainz" });
  await page.getByLabel("Grund (Pflichtfeld)").fill("Zuständig ist die Stadt Mainz");
  await page.getByRole("button", { name: "Weiterleiten" }).click();
  await page.waitForURL(/ok=1/);
  const main = await page.locator("main").textContent();
  assert.match(main, /weitergeleitet/);
  assert.match(main, /stadt-mainz/);
  await visitBoth(page, "weitergeleitet");
  await context.close();
});

test("a responder assigns an inbound mail to a ticket and sends a failed mail again", async () => {
  // A ticket, and a mail without an address to answer to: it waits for a person.
  const first = await ingest(mail(`anna-zu-${process.pid}@buerger.example`, "Kita-Platz", "Wann bekomme ich Bescheid?"));
  const review = await ingest(mail("anna@localhost", "Nachtrag Kita", "Hier noch meine Telefonnummer: 0261 1234."));
  assert.equal(review.outcome, "review");
  // A mail whose receipt the SMTP server refuses (the test sink takes no "/" in an address).
  const smtp = Boolean(process.env.VERBUND_TEST_SMTP_PORT);
  const badAddress = `a/b-${process.pid}@buerger.example`;
  const bad = await ingest(mail(badAddress, "Parkausweis", "Wie beantrage ich ihn?"));
  assert.equal(bad.outcome, "new_ticket");

  const { context, page } = await login("responder@stadt-koblenz.demo");
  await page.goto(base + "/post?mandant=stadt-koblenz");
  await visitBoth(page, "post-eingang");
  const row = page.locator("table.queue tbody tr", { hasText: "Nachtrag Kita" });
  await row.getByLabel("Vorgangsnummer").fill("KO-1999-999999");
  await row.getByRole("button", { name: "zuordnen", exact: true }).click();
  await page.waitForLoadState();
  assert.match(await page.locator(".field-error").first().textContent(), /gibt es nicht/);
  await visitBoth(page, "zuordnen-fehler");
  await page.locator("table.queue tbody tr", { hasText: "Nachtrag Kita" }).getByLabel("Vorgangsnummer").fill(first.ticket_number);
  await page.locator("table.queue tbody tr", { hasText: "Nachtrag Kita" }).getByRole("button", { name: "zuordnen", exact: true }).click();
  await page.waitForURL(/ok=zugeordnet/);
  assert.match(await page.getByRole("status").first().textContent(), /wurde zugeordnet/);
  await visitBoth(page, "zugeordnet");
  await page.goto(`${base}/vorgaenge/${first.ticket_number}/post`);
  const thread = await page.locator("main").textContent();
  assert.match(thread, /Hier noch meine Telefonnummer/);
  assert.match(thread, /Absender weicht ab/);
  await visitBoth(page, "zugeordnet-verlauf");

  // The outbox of the tenant, with the state of each mail.
  await page.goto(base + "/post?mandant=stadt-koblenz");
  const out = page.locator("section[aria-labelledby=ausgang-titel] tbody tr", { hasText: badAddress });
  if (smtp) {
    // The worker tries the receipt; the server refuses it for good.
    for (let i = 0; i < 60; i++) {
      if (/fehlgeschlagen/.test(await out.first().textContent())) break;
      await new Promise((r) => setTimeout(r, 500));
      await page.reload();
    }
    assert.match(await out.first().textContent(), /fehlgeschlagen/);
    await visitBoth(page, "ausgang-fehlgeschlagen");
    await out.first().getByRole("button", { name: "erneut senden" }).click();
    await page.waitForURL(/ok=erneut/);
    assert.match(await page.getByRole("status").first().textContent(), /wieder in der Warteschlange/);
    await visitBoth(page, "ausgang-erneut");
    await page.goto(`${base}/vorgaenge/${bad.ticket_number}`);
    assert.match(await page.locator(".timeline").textContent(), /E-Mail erneut gesendet/);
  } else {
    // No SMTP server in this run: the receipt waits in the queue, shown as such.
    assert.match(await out.first().textContent(), /in Warteschlange/);
    await visitBoth(page, "ausgang-warteschlange");
  }
  await context.close();
});

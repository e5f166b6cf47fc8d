// The browser stories of issue 14 (see harness.mjs for the environment and artifacts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { useServer, base, browser, PASSWORD, INGEST_TOKEN, checkA11y, shot, visit, login } from "./harness.mjs";

useServer(import.meta.url);

let ticketNumber;

test("login page: labelled fields, one message for unknown user and wrong password", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  await page.goto(base + "/");
  await visit(page, "login");
  await page.getByLabel("E-Mail").fill("niemand@example.org");
  await page.getByLabel("Passwort").fill("falsch-falsch");
  await page.getByRole("button", { name: "Anmelden" }).click();
  const unknown = await page.getByRole("alert").textContent();
  await page.getByLabel("E-Mail").fill("agent@sc-koblenz.demo");
  await page.getByLabel("Passwort").fill("falsch-falsch");
  await page.getByRole("button", { name: "Anmelden" }).click();
  const wrong = await page.getByRole("alert").textContent();
  assert.equal(unknown, wrong);
  assert.match(wrong, /Anmeldung fehlgeschlagen/);
  await visit(page, "login-fehler");
  await context.close();
});

test("story 1: the Koblenz agent finds the ID card, sees the office, logs a solved contact", async () => {
  const { context, page } = await login("agent@sc-koblenz.demo");
  await visit(page, "desk");
  await page.getByLabel("Suche", { exact: true }).fill("Perso");
  const hit = page.locator("#treffer a", { hasText: /Personalausweis/ }).first();
  await hit.waitFor();
  await visit(page, "suche-perso");
  await hit.click();
  await page.waitForURL(/\/leistungen\//);
  await assert.doesNotReject(page.getByRole("heading", { level: 1, name: /Personalausweis/ }).waitFor());
  const opening = await page.locator(".opening").textContent();
  assert.match(opening, /jetzt geöffnet bis \d\d:\d\d Uhr|öffnet .* um \d\d:\d\d Uhr/);
  await visit(page, "leistung-personalausweis");
  await page.getByRole("button", { name: /Kontakt erfassen/ }).click();
  await page.waitForURL(/erfasst=kontakt/);
  assert.match(await page.getByRole("status").first().textContent(), /Kontakt wurde erfasst/);
  await visit(page, "kontakt-erfasst");
  await context.close();
});

test("stories 2 and 3: a Mainz matter is forwarded at once and appears live in Mainz's queue", async () => {
  const mainz = await login("agent@sc-mainz.demo");
  await mainz.page.goto(base + "/vorgaenge?ansicht=mandant&mandant=stadt-mainz");
  await visit(mainz.page, "mainz-queue-vorher");

  const { context, page } = await login("agent@sc-koblenz.demo");
  await page.getByLabel("Auch Leistungen anderer Kommunen durchsuchen").check();
  await page.getByLabel("Suche", { exact: true }).fill("Perso");
  const hit = page.locator("#treffer li", { hasText: "stadt-mainz" }).locator("a").first();
  await hit.waitFor();
  await hit.click();
  await page.waitForURL(/\/leistungen\/stadt-mainz\//);
  await page.getByRole("link", { name: /Anliegen anlegen/ }).click();
  await page.waitForURL(/\/anliegen\/neu/);
  const due = await page.locator("#faellig").textContent();
  assert.match(due, /\d\d\.\d\d\.20\d\d, \d\d:\d\d Uhr/);
  assert.match(await page.getByRole("status").first().textContent(), /sofort an Stadt Mainz weitergeleitet/);
  await visit(page, "anliegen-formular");
  // Errors next to their fields.
  await page.getByLabel("Betreff").fill("");
  await page.getByRole("button", { name: "Anliegen speichern" }).click();
  await assert.doesNotReject(page.locator("#betreff-fehler").waitFor());
  assert.equal(await page.getByLabel("Betreff").getAttribute("aria-describedby"), "betreff-fehler");
  await visit(page, "anliegen-fehler");
  await page.getByLabel("Betreff").fill("Personalausweis in Mainz beantragen");
  await page.getByLabel("Anliegen der Bürgerin / des Bürgers").fill("Wo kann ich in Mainz einen Ausweis beantragen?");
  await page.getByLabel("Rückruf").check();
  await page.getByLabel("Telefon").fill("+49 261 123456");
  await page.getByRole("button", { name: "Anliegen speichern" }).click();
  await page.waitForURL(/\/vorgaenge\/KO-/);
  ticketNumber = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
  const facts = await page.locator(".facts").textContent();
  assert.match(facts, /stadt-mainz/);
  assert.match(facts, /\d\d\.\d\d\.20\d\d, \d\d:\d\d Uhr/);
  await visit(page, "anliegen-angelegt");

  // Story 3: without a reload, the Mainz queue shows it.
  await mainz.page.locator("#queue a", { hasText: ticketNumber }).waitFor({ timeout: 15000 });
  await visit(mainz.page, "mainz-queue-live");
  await mainz.page.locator("#queue a", { hasText: ticketNumber }).click();
  await mainz.page.getByRole("button", { name: "Weiterleitung annehmen" }).click();
  await mainz.page.waitForURL(/ok=1/);
  await mainz.page.getByLabel("Interne Notiz", { exact: true }).fill("Nur intern: Bürgeramt Mainz klärt Termin.");
  await mainz.page.getByRole("button", { name: "Notiz speichern" }).click();
  await mainz.page.waitForURL(/ok=1/);
  await mainz.page.getByLabel("Antwort an die Bürgerin / den Bürger", { exact: true }).fill("Sie können den Ausweis im Bürgeramt Mainz beantragen.");
  await mainz.page.getByRole("button", { name: "Antwort speichern" }).click();
  await mainz.page.waitForURL(/ok=1/);
  await visit(mainz.page, "mainz-beantwortet");
  await mainz.context.close();

  // Story 4: Koblenz sees the answer, not the note.
  await page.goto(base + "/vorgaenge/" + encodeURIComponent(ticketNumber));
  const body = await page.locator("main").textContent();
  assert.match(body, /Beantwortet/);
  assert.match(body, /im Bürgeramt Mainz beantragen/);
  assert.doesNotMatch(body, /Nur intern/);
  await visit(page, "koblenz-sieht-antwort");
  await context.close();
});

test("story 5: the Trier agent switches tenants and sees only their queues", async () => {
  const { context, page } = await login("agent@sc-trier.demo");
  const tenants = page.getByRole("navigation", { name: "Kommune wählen" });
  await tenants.getByRole("link", { name: "Landkreis Trier-Saarburg" }).click();
  await page.waitForURL(/mandant=kreis-trier-saarburg/);
  assert.equal(await tenants.getByRole("link", { name: "Landkreis Trier-Saarburg" }).getAttribute("aria-current"), "true");
  await visit(page, "trier-desk-kreis");
  for (const slug of ["stadt-trier", "kreis-trier-saarburg"]) {
    await page.goto(`${base}/vorgaenge?ansicht=mandant&mandant=${slug}`);
    const cells = await page.locator("table.queue tbody tr td:nth-child(3)").allTextContents();
    for (const c of cells) assert.equal(c.trim(), slug);
  }
  await visit(page, "trier-queue");
  // Another center's tenant is not theirs: 403 page, no list.
  const r = await page.goto(`${base}/vorgaenge?ansicht=mandant&mandant=stadt-koblenz`);
  assert.ok([403, 404].includes(r.status()));
  await context.close();
});

test("story 9: no CSRF token is a 403 with nothing changed; another tenant's ticket is a 404 page; an expired session leads to login", async () => {
  const { context, page } = await login("agent@sc-mainz.demo");
  const before = await page.goto(base + "/vorgaenge/" + encodeURIComponent(ticketNumber));
  assert.equal(before.status(), 200);
  const notes = await page.locator(".internal article").count();
  const r = await context.request.post(base + "/vorgaenge/" + encodeURIComponent(ticketNumber) + "/notiz", {
    form: { text: "ohne Token", version: "1" }, maxRedirects: 0,
  });
  assert.equal(r.status(), 403);
  assert.match(await r.text(), /Sicherheitsprüfung fehlgeschlagen/);
  await page.reload();
  assert.equal(await page.locator(".internal article").count(), notes);
  await context.close();

  // Trier sees nothing of the Koblenz/Mainz ticket.
  const trier = await login("agent@sc-trier.demo");
  const other = await trier.page.goto(base + "/vorgaenge/" + encodeURIComponent(ticketNumber));
  assert.equal(other.status(), 404);
  assert.match(await trier.page.locator("h1").textContent(), /Nicht gefunden/);
  await visit(trier.page, "fremder-vorgang-404");
  // Expired: a cookie that no longer works leads to the login with a friendly note.
  await trier.context.addCookies([{ name: "vb_session", value: "abgelaufen.x.y", url: base }]);
  await trier.page.goto(base + "/desk");
  await trier.page.waitForURL(/\/anmelden\?grund=abgelaufen/);
  assert.match(await trier.page.getByRole("status").textContent(), /Sitzung ist abgelaufen/);
  await visit(trier.page, "sitzung-abgelaufen");
  await trier.context.close();
});

test("story 10: story 1 with the keyboard only", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  await page.goto(base + "/");
  // The e-mail field has the focus (autofocus; wait for it, a loaded page may not have
  // applied it yet); Tab moves on, Enter submits.
  await page.waitForFunction(() => document.activeElement?.getAttribute("type") === "email");
  await page.keyboard.type("agent@sc-koblenz.demo");
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/desk/);
  await page.keyboard.press("?");
  await assert.doesNotReject(page.getByRole("dialog", { name: "Tastenkürzel" }).waitFor());
  await visit(page, "tastenkuerzel");
  await page.keyboard.press("Escape");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "suche");
  await page.keyboard.type("Perso");
  await page.locator("#treffer a").first().waitFor();
  // Tab through to the first hit and open it.
  let found = false;
  for (let i = 0; i < 10 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement.closest("#treffer") !== null);
  }
  assert.ok(found, "a hit is reachable by Tab");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/leistungen\//);
  assert.match(await page.locator(".opening").textContent(), /geöffnet|öffnet/);
  await page.keyboard.press("k");
  await page.waitForURL(/erfasst=kontakt/);
  await visit(page, "tastatur-kontakt");
  await context.close();
});

test("story 8: the admin opens the report with its chart and downloads the CSV", async () => {
  const { context, page } = await login("admin@stadt-koblenz.demo");
  // The admin's start page is the report.
  assert.equal(new URL(page.url()).pathname, "/berichte");
  await assert.doesNotReject(page.getByRole("img", { name: /Kontakte und direkt gelöste Kontakte/ }).waitFor());
  const shown = Number((await page.locator("tr.total td").first().textContent()).trim());
  assert.ok(shown >= 2, `the contacts of stories 1 and 10 are counted (${shown})`);
  await visit(page, "bericht");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "CSV herunterladen" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^bericht-stadt-koblenz-.*\.csv$/);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split("\n");
  assert.match(lines[0], /^period,contacts,/);
  const total = lines.find((l) => l.startsWith("total,")).split(",");
  assert.equal(Number(total[1]), shown);
  await context.close();
});

test("tablet width (768 px): desk, queue and ticket pass axe and keep their content", async () => {
  const { context, page } = await login("agent@sc-koblenz.demo", { width: 768, height: 1024 });
  await visit(page, "tablet-desk");
  await page.goto(base + "/vorgaenge");
  await visit(page, "tablet-queue");
  await page.goto(base + "/vorgaenge/" + encodeURIComponent(ticketNumber));
  await visit(page, "tablet-vorgang");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 768, `no horizontal scrolling at 768 px (width ${width})`);
  await context.close();
});

test("200 % zoom (1366×768 at twice the size): no horizontal scrolling, axe passes", async () => {
  const { context, page } = await login("agent@sc-koblenz.demo", { width: 683, height: 384 });
  for (const path of ["/desk", "/vorgaenge", "/vorgaenge/" + encodeURIComponent(ticketNumber), "/anliegen/neu"]) {
    await page.goto(base + path);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 683, `${path}: no horizontal scrolling at 200 % (width ${width})`);
    await checkA11y(page, "zoom " + path);
  }
  await shot(page, "zoom-200-anliegen");
  await context.close();
});

test("story 6: the Koblenz editor changes and publishes a description, and the Mainz agent finds it", async () => {
  const word = "Wochenendtermin" + String(Date.now()).slice(-5);
  const { context, page } = await login("editor@stadt-koblenz.demo");
  assert.equal(new URL(page.url()).pathname, "/redaktion");
  await visit(page, "redaktion-liste");
  await page.getByRole("link", { name: "veröffentlicht" }).click();
  await page.waitForURL(/status=published/);
  await page.locator("table.queue tbody a", { hasText: /Personalausweis/ }).first().click();
  await page.waitForURL(/\/redaktion\/stadt-koblenz\//);
  await visit(page, "redaktion-bearbeiten");
  const kurz = page.getByLabel("Kurztext", { exact: true });
  await kurz.fill((await kurz.inputValue()) + "\nNeu: " + word + " am Samstag.");
  await page.getByLabel("Unterlage 1", { exact: true }).fill("Personalausweis");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Speichern", exact: true }).click()]);
  assert.match(page.url(), /ok=1/, await page.locator("main").textContent());
  // A published description stays published: the change is live at once; a draft is
  // published with the button.
  if (await page.getByRole("button", { name: "Veröffentlichen" }).count()) {
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Veröffentlichen" }).click()]);
    assert.match(page.url(), /ok=1/, await page.locator("main").textContent());
  }
  assert.match(await page.locator("main > p").nth(1).textContent(), /veröffentlicht/);
  const compare = page.getByRole("link", { name: /vergleichen/ }).first();
  await compare.click();
  await page.waitForURL(/vergleich/);
  assert.equal(await page.locator("ins", { hasText: word }).count(), 1);
  await visit(page, "redaktion-vergleich");
  await context.close();
  // 768 px tablet width for the editor's pages.
  const tablet = await login("editor@stadt-koblenz.demo", { width: 768, height: 1024 });
  await visit(tablet.page, "redaktion-liste-768");
  await tablet.context.close();

  const mainz = await login("agent@sc-mainz.demo");
  await mainz.page.getByLabel("Auch Leistungen anderer Kommunen durchsuchen").check();
  await mainz.page.getByLabel("Suche", { exact: true }).fill(word);
  const hit = mainz.page.locator("#treffer li", { hasText: "stadt-koblenz" }).locator("a").first();
  await hit.waitFor({ timeout: 15000 });
  await visit(mainz.page, "mainz-findet-koblenz");
  await hit.click();
  await mainz.page.waitForURL(/\/leistungen\/stadt-koblenz\//);
  assert.match(await mainz.page.locator("main").textContent(), new RegExp(word));
  await mainz.context.close();
});

test("story 7: a citizen's mail arrives; the responder answers from the mail desk with a text module", async () => {
  const citizen = `anna-ui-${process.pid}-${Date.now()}@buerger.example`;
  const raw = [
    `From: Anna Schmidt <${citizen}>`, "To: buergerservice@stadt-koblenz.demo",
    "Subject: Frage zum Wohngeld", `Message-ID: <ui-${Date.now()}@buerger.example>`,
    "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "",
    "Guten Tag, <b>wie</b> beantrage ich Wohngeld?", "", "-- ", "Anna Schmidt, Koblenz", "",
  ].join("\r\n");
  const r = await fetch(base + "/api/v1/inbound/raw", {
    method: "POST", headers: { authorization: `Bearer ${INGEST_TOKEN}`, "content-type": "message/rfc822" }, body: raw,
  });
  assert.equal(r.status, 201);
  const stored = await r.json();
  // A text module of the tenant (through the API, as an admin would write it).
  const admin = await (await fetch(base + "/api/v1/auth/login", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@stadt-koblenz.demo", password: PASSWORD }),
  })).json();
  const tm = await fetch(base + "/api/v1/tenants/stadt-koblenz/templates", {
    method: "POST", headers: { authorization: `Bearer ${admin.access_token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Wohngeld", body: "Guten Tag {name}, zu {nummer}: Wohngeld beantragen Sie online." }),
  });
  assert.equal(tm.status, 201);

  for (const viewport of [{ width: 768, height: 1024 }, { width: 1366, height: 768 }]) {
    const { context, page } = await login("responder@stadt-koblenz.demo", viewport);
    assert.equal(new URL(page.url()).pathname, "/post");
    await visit(page, viewport.width === 768 ? "post-768" : "post");
    await context.close();
  }
  const { context, page } = await login("responder@stadt-koblenz.demo");
  await page.locator("table.queue tbody tr", { hasText: "Frage zum Wohngeld" }).getByRole("link", { name: "E-Mails ansehen" }).first().click();
  await page.waitForURL(/\/post$/);
  assert.match(await page.locator(".mailtext").first().textContent(), /<b>wie<\/b>/);
  assert.match(await page.locator(".signature").first().textContent(), /Anna Schmidt, Koblenz/);
  await visit(page, "post-verlauf");
  await page.getByLabel(/Textbaustein/).selectOption({ label: "Wohngeld" });
  await page.getByRole("button", { name: "In die Antwort übernehmen" }).click();
  await page.waitForURL(/baustein=/);
  const text = await page.getByLabel(/Antwort per E-Mail/).inputValue();
  assert.match(text, new RegExp(`Guten Tag Anna Schmidt, zu ${stored.ticket_number}: Wohngeld beantragen Sie online.`));
  await page.getByRole("button", { name: "Antwort senden" }).click();
  await page.waitForURL(/ok=1/);
  await visit(page, "post-beantwortet");
  // The reply reaches the test SMTP server: it lands in the citizen's Maildir.
  if (process.env.VERBUND_TEST_SMTP_PORT && process.env.VERBUND_TEST_MAIL_ROOT) {
    const dir = join(process.env.VERBUND_TEST_MAIL_ROOT, "home", citizen, "Maildir", "new");
    const end = Date.now() + 30000;
    let found = false;
    while (!found && Date.now() < end) {
      try {
        for (const f of readdirSync(dir)) {
          if (readFileSync(join(dir, f), "utf8").includes("Wohngeld beantragen Sie online")) found = true;
        }
      } catch {}
      if (!found) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(found, "the reply reached the SMTP server");
    await page.reload();
    assert.match(await page.locator(".mail-out").last().textContent(), /Versand: gesendet/);
  }
  await context.close();
});

test("admin story: the Koblenz admin changes a tenant setting and sees it saved (1366 and 768 px)", async () => {
  const { context, page } = await login("admin@stadt-koblenz.demo");
  await page.goto(base + "/verwaltung/stadt-koblenz/einstellungen");
  await assert.doesNotReject(page.getByRole("heading", { level: 1, name: /Einstellungen: Stadt Koblenz/ }).waitFor());
  await visit(page, "admin-einstellungen");
  // A wrong value: the error next to its field, linked with aria-describedby.
  await page.getByLabel(/Gefährdet ab/).fill("viele");
  await page.getByRole("button", { name: "Speichern" }).click();
  const field = page.getByLabel(/Gefährdet ab/);
  assert.equal(await field.getAttribute("aria-describedby"), "gefaehrdet_stunden-fehler");
  assert.match(await page.locator("#gefaehrdet_stunden-fehler").textContent(), /ganze Zahl/);
  await visit(page, "admin-einstellungen-fehler");
  await field.fill("3");
  await page.getByLabel(/anonymisieren nach/).fill("45");
  await page.getByLabel(/Schließtage/).fill("24.12.2026");
  await page.getByRole("button", { name: "Speichern" }).click();
  await page.waitForURL(/gespeichert=1/);
  assert.match(await page.getByRole("status").textContent(), /gespeichert/);
  assert.equal(await page.getByLabel(/Gefährdet ab/).inputValue(), "3");
  assert.equal(await page.getByLabel(/anonymisieren nach/).inputValue(), "45");
  assert.equal(await page.getByLabel(/Schließtage/).inputValue(), "24.12.2026");
  await visit(page, "admin-einstellungen-gespeichert");
  await context.close();
  const tablet = await login("admin@stadt-koblenz.demo", { width: 768, height: 1024 });
  await tablet.page.goto(base + "/verwaltung/stadt-koblenz/einstellungen");
  await visit(tablet.page, "admin-einstellungen-768");
  await tablet.context.close();
});

// Browser stories of the administration (issue 14, points 8 and 9): users and roles, the
// receipt template with its preview, the audit log, the operator's tenants and mail domains,
// the center report. Every page visited passes axe at 1366×768 and at 768 px.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { useServer, base, browser, PASSWORD, visit } from "./harness.mjs";

useServer(import.meta.url);

/** Logs in and waits for the start page of the role (any). */
async function loginAs(email, viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ viewport, locale: "de-DE", timezoneId: "Europe/Berlin" });
  const page = await context.newPage();
  await page.goto(base + "/");
  await page.getByLabel("E-Mail").fill(email);
  await page.getByLabel("Passwort").fill(PASSWORD);
  await page.getByRole("button", { name: "Anmelden" }).click();
  await page.waitForURL((u) => u.pathname !== "/" && u.pathname !== "/anmelden");
  return { context, page };
}

async function noSideScroll(page, width) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= width, `no horizontal scrolling at ${width} px (width ${w})`);
}

test("admin: the navigation, a new user and a role change, seen in the audit log", async () => {
  const { context, page } = await loginAs("admin@stadt-koblenz.demo");
  const nav = page.getByRole("navigation", { name: "Hauptnavigation" });
  const items = (await nav.getByRole("link").allTextContents()).map((t) => t.trim());
  assert.deepEqual(items, ["Vorgänge", "Post", "Redaktion", "Verwaltung", "Berichte"]);
  await nav.getByRole("link", { name: "Verwaltung" }).click();
  await page.waitForURL(/\/verwaltung\/stadt-koblenz\/benutzer$/);
  await visit(page, "verwaltung-benutzer");

  // Bad input first: the errors stand next to their fields.
  await page.getByLabel("Name", { exact: true }).fill("Erika Neu");
  await page.getByLabel("E-Mail", { exact: true }).fill("erika.neu@stadt-koblenz.demo");
  await page.getByLabel("Erstes Passwort (mindestens 12 Zeichen)").fill("kurz");
  await page.getByRole("button", { name: "Benutzerkonto anlegen" }).click();
  await page.waitForLoadState();
  const pw = page.getByLabel("Erstes Passwort (mindestens 12 Zeichen)");
  assert.equal(await pw.getAttribute("aria-invalid"), "true");
  assert.match(await page.locator("#" + (await pw.getAttribute("aria-describedby"))).textContent(), /mindestens 12 Zeichen/);
  await visit(page, "verwaltung-benutzer-fehler");

  await pw.fill("ein-langes-passwort-2026");
  await page.getByLabel("Rolle", { exact: true }).selectOption("editor");
  await page.getByRole("button", { name: "Benutzerkonto anlegen" }).click();
  await page.waitForURL(/ok=angelegt/);
  assert.match(await page.getByRole("status").textContent(), /Das Benutzerkonto wurde angelegt/);
  const row = page.locator("tr", { hasText: "erika.neu@stadt-koblenz.demo" });
  assert.match(await row.textContent(), /Redaktion/);
  await visit(page, "verwaltung-benutzer-angelegt");

  await row.getByLabel("Neue Rolle für Erika Neu").selectOption("responder");
  await row.getByRole("button", { name: /Rolle speichern/ }).click();
  await page.waitForURL(/ok=rolle/);
  assert.match(await page.locator("tr", { hasText: "erika.neu@stadt-koblenz.demo" }).textContent(), /E-Mail-Bearbeitung/);

  await page.getByRole("navigation", { name: "Verwaltung" }).getByRole("link", { name: "Änderungsprotokoll" }).click();
  await page.waitForURL(/\/protokoll$/);
  const log = await page.locator("table").textContent();
  assert.match(log, /Benutzerkonto angelegt/);
  assert.match(log, /Benutzerkonto erika\.neu@stadt-koblenz\.demo/);
  assert.match(log, /\d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr/);
  await visit(page, "verwaltung-protokoll");
  for (const [tab, name] of [["Zugriffsprotokoll", "verwaltung-zugriffe"], ["Einstellungen", "verwaltung-einstellungen"], ["Textbausteine", "verwaltung-textbausteine"], ["Vertretung", "verwaltung-vertretung"]]) {
    await page.getByRole("navigation", { name: "Verwaltung" }).getByRole("link", { name: tab }).click();
    await page.waitForLoadState();
    await visit(page, name);
  }
  await context.close();
});

test("admin: the receipt template with a preview that fills the placeholders", async () => {
  const { context, page } = await loginAs("admin@stadt-koblenz.demo");
  await page.goto(base + "/verwaltung/stadt-koblenz/eingangsbestaetigung");
  await visit(page, "eingangsbestaetigung");
  await page.getByLabel("Betreff").fill("Ihr Anliegen {nummer} bei {behoerde}");
  await page.getByLabel("Text", { exact: true }).fill("Guten Tag,\nwir antworten bis {frist}.");
  await page.getByRole("button", { name: "Vorschau" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("#vorschau-betreff").textContent(), /^Ihr Anliegen KO-\d{4}-000042 bei Stadt Koblenz$/);
  assert.match(await page.locator("#vorschau-text").textContent(), /wir antworten bis \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr\./);
  await visit(page, "eingangsbestaetigung-vorschau");
  await page.getByRole("button", { name: "Speichern" }).click();
  await page.waitForURL(/ok=gespeichert/);
  assert.equal(await page.getByLabel("Betreff").inputValue(), "Ihr Anliegen {nummer} bei {behoerde}");
  await context.close();
});

test("admin: a mailbox and \"Verbindung testen\"", async () => {
  const { context, page } = await loginAs("admin@stadt-koblenz.demo");
  await page.goto(base + "/verwaltung/stadt-koblenz/postfaecher");
  await visit(page, "postfaecher");
  const port = process.env.VERBUND_TEST_IMAP_PORT;
  await page.getByLabel("Bezeichnung").fill("Bürgerservice");
  await page.getByLabel("IMAP-Server").fill("127.0.0.1");
  await page.getByLabel("Port").fill(port || "9");
  await page.getByLabel("Verschlüsselung").selectOption("plain");
  await page.getByLabel("Benutzername").fill(`browser-${process.pid}@stadt-koblenz.demo`);
  await page.getByLabel("Passwort des Postfachs").fill(process.env.VERBUND_TEST_MAIL_PASSWORD || "kein-server");
  await page.getByRole("button", { name: "Postfach anlegen" }).click();
  await page.waitForURL(/ok=postfach/);
  await page.getByRole("button", { name: /Verbindung testen/ }).first().click();
  await page.waitForLoadState();
  const result = await page.locator("#test-ergebnis").textContent();
  if (port) {
    assert.match(result, /Verbindung erfolgreich: Anmeldung als/);
    assert.match(result, /Ordner INBOX geöffnet/);
  } else {
    assert.match(result, /Verbindung fehlgeschlagen\. Der Server lehnt die Verbindung ab\./);
  }
  await visit(page, "postfaecher-test");
  await context.close();
});

test("operator: a new tenant and a mail domain", async () => {
  const { context, page } = await loginAs("operator@verbund.demo");
  const nav = page.getByRole("navigation", { name: "Hauptnavigation" });
  await nav.getByRole("link", { name: "Betrieb" }).click();
  await page.waitForURL(/\/betrieb$/);
  await visit(page, "betrieb");
  await page.getByLabel("Name", { exact: true }).fill("Stadt Bonn");
  await page.getByLabel("Kennung (für Adressen, etwa stadt-bonn)").fill("stadt-bonn");
  await page.getByLabel("Regionalschlüssel (AGS)").fill("05314000");
  await page.getByLabel("Vorgangskürzel (etwa BN)").fill("BN");
  await page.getByRole("button", { name: "Mandant anlegen" }).click();
  await page.waitForURL(/\/betrieb\/mandanten\/stadt-bonn\?ok=mandant/);
  assert.match(await page.getByRole("status").textContent(), /Der Mandant wurde angelegt/);
  await page.getByLabel("Mail-Domain zuordnen (etwa stadt-bonn.de)").fill("bonn.example");
  await page.getByRole("button", { name: "Domain zuordnen" }).click();
  await page.waitForURL(/ok=domain/);
  assert.match(await page.locator("#domains").textContent(), /bonn\.example/);
  await visit(page, "betrieb-mandant");
  await page.getByRole("link", { name: "Servicecenter", exact: true }).click();
  await page.waitForURL(/\/betrieb\/zentren$/);
  await visit(page, "betrieb-zentren");
  await page.getByRole("link", { name: "Stammtexte", exact: true }).click();
  await page.waitForURL(/\/betrieb\/stammtexte$/);
  await visit(page, "betrieb-stammtexte");
  await context.close();
});

test("center report: chart, data table and CSV", async () => {
  const { context, page } = await loginAs("admin@stadt-koblenz.demo");
  await page.goto(base + "/berichte");
  await page.getByRole("link", { name: "Je Servicecenter" }).click();
  await page.waitForURL(/zentrum=sc-koblenz/);
  await page.getByLabel("je", { exact: true }).selectOption("month");
  await page.getByRole("button", { name: "Anzeigen" }).click();
  await page.waitForURL(/gruppe=month/);
  await assert.doesNotReject(page.getByRole("img", { name: /Servicecenter 115 Koblenz/ }).waitFor());
  assert.equal(await page.locator("table.report tr.total th").textContent(), "Summe");
  await visit(page, "bericht-servicecenter");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "CSV herunterladen" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^bericht-sc-koblenz-.*\.csv$/);
  const csv = readFileSync(await download.path(), "utf8").trim().split("\n");
  assert.match(csv[0], /^period,contacts,/);
  assert.ok(csv.some((l) => l.startsWith("total,")));
  await context.close();
});

test("tablet width (768 px): the administration pages pass axe and do not scroll sideways", async () => {
  const admin = await loginAs("admin@stadt-koblenz.demo", { width: 768, height: 1024 });
  for (const [path, name] of [
    ["/verwaltung/stadt-koblenz/benutzer", "tablet-benutzer"],
    ["/verwaltung/stadt-koblenz/einstellungen", "tablet-einstellungen"],
    ["/verwaltung/stadt-koblenz/eingangsbestaetigung", "tablet-eingangsbestaetigung"],
    ["/verwaltung/stadt-koblenz/postfaecher", "tablet-postfaecher"],
    ["/verwaltung/stadt-koblenz/textbausteine", "tablet-textbausteine"],
    ["/verwaltung/stadt-koblenz/vertretung", "tablet-vertretung"],
    ["/verwaltung/stadt-koblenz/protokoll", "tablet-protokoll"],
    ["/verwaltung/stadt-koblenz/zugriffe", "tablet-zugriffe"],
    ["/berichte?zentrum=sc-koblenz", "tablet-bericht-servicecenter"],
  ]) {
    await admin.page.goto(base + path);
    await visit(admin.page, name);
    await noSideScroll(admin.page, 768);
  }
  await admin.context.close();
  const op = await loginAs("operator@verbund.demo", { width: 768, height: 1024 });
  for (const [path, name] of [["/betrieb", "tablet-betrieb"], ["/betrieb/mandanten/stadt-mainz", "tablet-betrieb-mandant"], ["/betrieb/zentren", "tablet-betrieb-zentren"], ["/betrieb/stammtexte", "tablet-betrieb-stammtexte"]]) {
    await op.page.goto(base + path);
    await visit(op.page, name);
    await noSideScroll(op.page, 768);
  }
  await op.context.close();
});

// The editor's browser stories (issue 14, point 7): costs and document lists, adopting a base
// text, offices with opening hours and special days (seen on the agent desk), import by
// upload with its error list, and the XZuFi export as a download. axe on every page visited,
// at 1366x768 and 768 px.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { useServer, base, visit, login } from "./harness.mjs";

useServer(import.meta.url);

const save = async (page, name = "Speichern") =>
  Promise.all([page.waitForNavigation(), page.getByRole("button", { name, exact: true }).first().click()]);

test("editor: adopts a base text, edits costs and a document list (with an error beside a field), publishes", async () => {
  const { context, page } = await login("editor@stadt-koblenz.demo");
  await visit(page, "redaktion-liste");
  await page.getByRole("link", { name: "Stammtext übernehmen" }).click();
  await page.waitForURL(/\/stammtexte$/);
  await visit(page, "stammtexte");
  const adopt = page.locator("tr", { hasText: "Reisepass" }).getByRole("button", { name: /Stammtext übernehmen/ });
  await Promise.all([page.waitForNavigation(), adopt.click()]);
  assert.match(page.url(), /\/redaktion\/stadt-koblenz\/[0-9a-f-]{36}\?ok=1/);
  assert.match(await page.locator("main").textContent(), /übernommener Stammtext/);
  assert.match(await page.locator("main").textContent(), /Status: Entwurf/);
  await visit(page, "stammtext-uebernommen");

  // Costs: a bad amount first; the error is next to the field and linked to it.
  await page.getByLabel("Gebühr 1: Bezeichnung").fill("ab 24 Jahren");
  await page.getByLabel("Gebühr 1: Betrag in Euro").fill("siebenunddreißig");
  await save(page);
  const amount = page.getByLabel("Gebühr 1: Betrag in Euro");
  assert.equal(await amount.getAttribute("aria-invalid"), "true");
  const described = await amount.getAttribute("aria-describedby");
  assert.match(await page.locator("#" + described).textContent(), /Betrag in Euro/);
  await visit(page, "kosten-fehler");
  await amount.fill("37,00");
  // The document list: one more row, two entries.
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Weitere Unterlage" }).click()]);
  assert.match(await page.getByRole("status").first().textContent(), /Noch nicht gespeichert/);
  await page.getByLabel("Unterlage 1", { exact: true }).fill("Biometrisches Passfoto");
  await page.getByLabel("Unterlage 2", { exact: true }).fill("Meldebescheinigung");
  await page.getByLabel("Suchbegriffe (einer je Zeile)").fill("Perso\nAusweis neu");
  await save(page);
  assert.match(page.url(), /ok=1/, await page.locator("main").textContent());
  assert.equal(await page.getByLabel("Gebühr 1: Betrag in Euro").inputValue(), "37,00");
  assert.equal(await page.getByLabel("Unterlage 2", { exact: true }).inputValue(), "Meldebescheinigung");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Veröffentlichen" }).click()]);
  assert.match(await page.locator("main").textContent(), /Status: veröffentlicht/);
  await visit(page, "kosten-unterlagen-veroeffentlicht");
  const editUrl = page.url();
  await context.close();

  const tablet = await login("editor@stadt-koblenz.demo", { width: 768, height: 1024 });
  await tablet.page.goto(editUrl);
  await visit(tablet.page, "bearbeiten-768");
  await tablet.page.goto(base + "/redaktion/stadt-koblenz/stammtexte");
  await visit(tablet.page, "stammtexte-768");
  await tablet.context.close();
});

/** Today's date in Berlin as 24.12.2026. */
function todayBerlin() {
  return new Intl.DateTimeFormat("de-DE", { timeZone: "Europe/Berlin", day: "2-digit", month: "2-digit", year: "numeric" }).format(new Date());
}

async function agentOpening() {
  const { context, page } = await login("agent@sc-koblenz.demo");
  await page.getByLabel("Suche", { exact: true }).fill("Perso");
  const hit = page.locator("#treffer a", { hasText: /Personalausweis/ }).first();
  await hit.waitFor();
  await hit.click();
  await page.waitForURL(/\/leistungen\//);
  const text = await page.locator(".opening").textContent();
  await visit(page, "desk-stelle");
  await context.close();
  return text;
}

test("offices: the editor edits opening hours and a special day, and the agent desk shows the office state", async () => {
  const { context, page } = await login("editor@stadt-koblenz.demo");
  // The office the agent sees for the ID card: the responsible office of the description.
  await page.goto(base + "/redaktion?mandant=stadt-koblenz&status=published");
  await page.locator("table.queue tbody a", { hasText: /Personalausweis/ }).first().click();
  await page.waitForURL(/\/redaktion\/stadt-koblenz\//);
  const office = await page.locator("#stelle").inputValue();
  assert.match(office, /^[0-9a-f-]{36}$/);
  await page.goto(base + "/redaktion/stadt-koblenz/stellen");
  await visit(page, "stellen");
  await page.goto(base + "/redaktion/stadt-koblenz/stellen/" + office);
  await visit(page, "stelle");
  assert.match(await page.locator("section", { hasText: "Leistungen dieser Stelle" }).textContent(), /Personalausweis/);

  // Saturday hours, and today a special day open all day.
  await page.getByLabel("Samstag").fill("09:00–12:00");
  const rows = page.locator("#sondertage li");
  const last = (await rows.count()) - 1;
  await page.getByLabel(`Sondertag ${last + 1}: Datum`).fill(todayBerlin());
  await page.getByLabel(`Sondertag ${last + 1}: Zeiten`).fill("00:00–23:59");
  await page.getByLabel(`Sondertag ${last + 1}: Hinweis`).fill("Langer Abend der Verwaltung");
  await save(page);
  assert.match(page.url(), /ok=1/, await page.locator("main").textContent());
  assert.equal(await page.getByLabel("Samstag").inputValue(), "09:00–12:00");
  assert.match(await page.locator("#oeffnungsstatus").textContent(), /Jetzt geöffnet bis 23:59/);
  await visit(page, "stelle-sondertag");
  assert.match(await agentOpening(), /jetzt geöffnet bis 23:59 Uhr/);

  // A bad time: the error next to the field, nothing saved.
  await page.getByLabel("Montag").fill("früh bis spät");
  await save(page);
  const monday = page.getByLabel("Montag");
  assert.equal(await monday.getAttribute("aria-invalid"), "true");
  assert.match(await page.locator("#tag-mo-fehler").textContent(), /Montag/);
  await visit(page, "stelle-fehler");
  await page.goto(base + "/redaktion/stadt-koblenz/stellen/" + office);

  // Today closed: the agent sees when it opens next.
  await page.getByLabel(`Sondertag ${last + 1}: Zeiten`).fill("");
  await save(page);
  assert.match(page.url(), /ok=1/);
  assert.match(await agentOpening(), /geschlossen – öffnet/);
  await context.close();

  const tablet = await login("editor@stadt-koblenz.demo", { width: 768, height: 1024 });
  await tablet.page.goto(base + "/redaktion/stadt-koblenz/stellen/" + office);
  await visit(tablet.page, "stelle-768");
  await tablet.context.close();
});

test("import and export: an NDJSON file with one bad line shows the error list; the XZuFi export downloads", async () => {
  const { context, page } = await login("editor@stadt-koblenz.demo");
  await page.getByRole("link", { name: "Import und Export" }).click();
  await page.waitForURL(/\/austausch$/);
  await visit(page, "austausch");
  const stamp = String(Date.now()).slice(-6);
  const file = [
    JSON.stringify({ title: "Angelkarte " + stamp, external_id: "ui-" + stamp + "-1" }),
    JSON.stringify({ title: "", external_id: "ui-" + stamp + "-2" }),
    JSON.stringify({ title: "Bootssteg " + stamp, external_id: "ui-" + stamp + "-3" }),
  ].join("\n");
  await page.getByLabel("Datei").setInputFiles({ name: "leistungen.ndjson", mimeType: "application/x-ndjson", buffer: Buffer.from(file) });
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Importieren" }).click()]);
  const report = await page.locator(".import-report").textContent();
  assert.match(report, /Abgelehnte Einträge/);
  assert.match(report, /Zeile 2:/);
  assert.equal(await page.locator("ul.problems li").count(), 1);
  assert.equal((await page.locator("td[data-label=neu]").first().textContent()).trim(), "2");
  await visit(page, "import-fehlerliste");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: /als XZuFi herunterladen/ }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "leistungen-stadt-koblenz.xml");
  const xml = readFileSync(await download.path(), "utf8");
  assert.match(xml, /^<\?xml/);
  assert.match(xml, /Personalausweis/);
  await context.close();

  const tablet = await login("editor@stadt-koblenz.demo", { width: 768, height: 1024 });
  await tablet.page.goto(base + "/redaktion/stadt-koblenz/austausch");
  await visit(tablet.page, "austausch-768");
  await tablet.context.close();
});

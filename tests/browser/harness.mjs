// The shared harness of the browser stories (tests/browser/*.test.mjs), in Debian's Chromium
// driven by playwright-core. Each test file calls `useServer(import.meta.url)` once: it starts
// `verbund serve --demo` on a free port and one browser before the file's tests and stops both
// after them. Every visited page is checked with axe-core (WCAG 2.1 AA: 0 violations); a
// screenshot of each step goes to tests/browser/artifacts/<database>/<file>/ (ignored by git).
//
// Environment:
//   VERBUND_BIN          the verbund binary (default: target/debug/verbund of the workspace)
//   VERBUND_BROWSER_DB   "sqlite" (default) or a PostgreSQL server URL without database
//                        (a fresh database is created with createdb and dropped afterwards)
//   CHROMIUM             the browser (default /usr/bin/chromium)
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
const BIN = process.env.VERBUND_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "verbund");
const DB = process.env.VERBUND_BROWSER_DB || "sqlite";
export const KIND = DB === "sqlite" ? "sqlite" : "postgres";
let ART = join(here, "artifacts", KIND);
export const PASSWORD = "verbund-demo-2026";
export const INGEST_TOKEN = "browser-ingest-" + process.pid;
const AXE = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");

export let base, browser;
let server, dataDir, pgDb;
let step = 0;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on("error", reject);
  });
}

export async function waitUp(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { const r = await fetch(url); if (r.status < 500) return; } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("server did not start: " + url);
}

/** Starts the server and the browser before the calling file's tests, stops them after. */
export function useServer(fileUrl) {
  ART = join(here, "artifacts", KIND, basename(fileURLToPath(fileUrl)).replace(/\.test\.mjs$/, ""));
  before(start);
  after(stop);
}

async function start() {
  mkdirSync(ART, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), "verbund-ui-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    VERBUND_BIND: `127.0.0.1:${port}`,
    VERBUND_DATA_DIR: dataDir,
    VERBUND_MAILBOX_TICK_SECONDS: "0",
    VERBUND_LOG_FORMAT: "json",
    VERBUND_INGEST_TOKEN: INGEST_TOKEN,
  };
  // Story 7: replies go to the test SMTP server (scripts/mail-services) when it runs.
  if (process.env.VERBUND_TEST_SMTP_PORT) {
    env.VERBUND_SMTP__HOST = "127.0.0.1";
    env.VERBUND_SMTP__PORT = process.env.VERBUND_TEST_SMTP_PORT;
    env.VERBUND_SMTP__SECURITY = "plain";
  }
  if (KIND === "postgres") {
    pgDb = "verbund_ui_" + process.pid + "_" + Date.now();
    execFileSync("createdb", ["--maintenance-db", DB, pgDb]);
    env.VERBUND_DATABASE_URL = DB.replace(/\/$/, "") + "/" + pgDb;
  }
  server = spawn(BIN, ["serve", "--demo"], { env, stdio: ["ignore", "ignore", "inherit"] });
  await waitUp(base + "/api/v1/health", 60000);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      // No --user-data-dir: playwright refuses it for launch() and starts every launch with
      // a fresh temporary profile of its own, which it deletes on close.
    ],
  });
}

async function stop() {
  if (browser) await browser.close();
  if (server) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  if (pgDb) { try { execFileSync("dropdb", ["--maintenance-db", DB, "--if-exists", pgDb]); } catch {} }
  rmSync(dataDir, { recursive: true, force: true });
}

/** axe-core on the current page: 0 WCAG 2.0/2.1 A and AA violations. */
export async function checkA11y(page, what) {
  await page.addScriptTag({ content: AXE }).catch(async () => {
    // CSP forbids inline scripts on our pages: evaluate the source instead.
    await page.evaluate(AXE);
  });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  const v = result.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  assert.deepEqual(v, [], `accessibility violations on ${what}`);
}

// With VERBUND_DOCS_DIR set, these steps also go there as small JPEGs (for README's docs/).
const DOCS = new Set(["suche-perso", "leistung-personalausweis", "anliegen-formular", "mainz-queue-live", "mainz-beantwortet"]);

export async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: join(ART, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
  if (process.env.VERBUND_DOCS_DIR && DOCS.has(name)) {
    await page.screenshot({ path: join(process.env.VERBUND_DOCS_DIR, `${name}.jpg`), type: "jpeg", quality: 60 });
  }
}

export async function visit(page, name) {
  await checkA11y(page, name);
  await shot(page, name);
}

export async function login(email, viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ viewport, locale: "de-DE", timezoneId: "Europe/Berlin" });
  const page = await context.newPage();
  await page.goto(base + "/");
  await page.getByLabel("E-Mail").fill(email);
  await page.getByLabel("Passwort").fill(PASSWORD);
  await page.getByRole("button", { name: "Anmelden" }).click();
  await page.waitForURL((u) => ["/desk", "/berichte", "/post", "/redaktion"].includes(u.pathname));
  return { context, page };
}


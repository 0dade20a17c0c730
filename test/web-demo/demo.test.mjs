// demo.test.mjs: the browser demo (tools/web-demo) as players see it:
// tools/web-demo/serve.sh starts the demo cluster (real processes) and
// serves the page; two headless Chromium pages (playwright-core, with the
// system's Chromium) log in, enter the same room and see each other; one
// chats and the other shows the line (as text, not markup); one moves by
// a click and by a key, and the other lists and draws it. Screenshots of
// both pages go to WISP_WEB_WORK. With WISP_WEB_TLS_DIR (localhost.pem
// and .key of test/tls/make_certs.sh) a page also plays over wss:// to a
// gate with gate.tls. The environment: WISP_EXE (the wisp binary),
// WISP_SOURCE (the source tree), WISP_WEB_WORK (the test's directory in
// the build), CHROMIUM (the browser's executable).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import path from "node:path";
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const WAIT_MS = 60000;  // the bound on any wait: a loaded 2-core machine
const STOP_MS = 30000;
const ROOM = "webroom";
const CELL = 20;        // demo.js's pixels a cell
const BLUE = [0x33, 0x66, 0xcc];  // demo.js's colour of the others

const work = process.env.WISP_WEB_WORK;
const tlsDir = process.env.WISP_WEB_TLS_DIR;
let browser = null;
const pageErrors = [];

function bindable(port) {
	return new Promise((resolve) => {
		const s = net.createServer();
		s.once("error", () => resolve(false));
		s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
	});
}

// The first of 10 free ports in a row, below the ephemeral range: the
// demo's harbors take base+1..7, the gate base+8, WebSocket base+9, the
// page base+10.
async function freeBase() {
	for (let tries = 0; tries < 200; tries++) {
		const base = 20000 + Math.floor(Math.random() * 11000);
		let free = true;
		for (let p = base + 1; p <= base + 10 && free; p++)
			free = await bindable(p);
		if (free)
			return base;
	}
	throw new Error("no 10 free ports in a row");
}

// tools/web-demo/serve.sh on free ports, with extra environment.
class Serve {
	output = "";
	proc = null;

	// Resolves with the URL it prints once all is up.
	async start(extra = {}) {
		const base = await freeBase();
		const env = { ...process.env, ...extra, WISP: process.env.WISP_EXE,
			WISP_DEMO_PORT_BASE: String(base),
			WISP_GATE_ADDR: `127.0.0.1:${base + 8}`,
			WISP_WS_ADDR: `127.0.0.1:${base + 9}`,
			WISP_WEB_ADDR: `127.0.0.1:${base + 10}` };
		this.proc = spawn("bash", [path.join(process.env.WISP_SOURCE,
			"tools/web-demo/serve.sh")], { env, stdio: ["ignore", "pipe", "pipe"] });
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => fail("no URL in time"), WAIT_MS);
			const fail = (why) => {
				clearTimeout(timer);
				reject(new Error(`serve.sh: ${why}; its output:\n${this.output}`));
			};
			const read = (chunk) => {
				this.output += chunk.toString();
				const m = this.output.match(/open (http:\S+) in a browser/);
				if (m) {
					clearTimeout(timer);
					resolve(m[1]);
				}
			};
			this.proc.stdout.on("data", read);
			this.proc.stderr.on("data", read);
			this.proc.on("exit", (code) => fail(`exited with ${code}`));
		});
	}

	// Stops it; fails unless it exits 0 (the cluster stopped cleanly).
	async stop() {
		const p = this.proc;
		this.proc = null;
		if (!p)
			return;
		if (p.exitCode === null && p.signalCode === null) {
			const exited = once(p, "exit");
			p.kill("SIGTERM");
			const timer = setTimeout(() => p.kill("SIGKILL"), STOP_MS);
			await exited;
			clearTimeout(timer);
		}
		assert.equal(p.exitCode, 0, `serve.sh did not stop cleanly:\n${this.output}`);
	}
}

// Chromium trusts the test's gate certificate, by its key's hash, and
// nothing else it would not trust anyway.
function trustArgs() {
	if (!tlsDir)
		return [];
	const cert = new X509Certificate(readFileSync(path.join(tlsDir,
		"localhost.pem")));
	const spki = cert.publicKey.export({ type: "spki", format: "der" });
	const hash = createHash("sha256").update(spki).digest("base64");
	return [`--ignore-certificate-errors-spki-list=${hash}`];
}

before(async () => {
	browser = await chromium.launch({ executablePath: process.env.CHROMIUM,
		args: trustArgs(), timeout: WAIT_MS });
});

after(() => browser?.close());

const status = (page, text) => page.locator("#status", { hasText: text })
	.waitFor({ timeout: WAIT_MS });

// A page of url where a player has logged in as name and entered ROOM.
async function player(url, name) {
	const page = await browser.newPage();
	page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
	await page.goto(url, { timeout: WAIT_MS });
	await page.fill("#name", name);
	await page.click("#login button");
	await status(page, `Logged in as ${name}`);
	await page.fill("#room", ROOM);
	await page.click("#enter button");
	await status(page, `${name} entered room ${ROOM}`);
	return page;
}

const listed = (page, text) => page.locator("#players li", { hasText: text })
	.waitFor({ timeout: WAIT_MS });

// The colour of the canvas at the middle of cell (x, y).
function cellColour(page, x, y) {
	return page.evaluate(([px, py]) => [...document.getElementById("map")
		.getContext("2d").getImageData(px, py, 1, 1).data].slice(0, 3),
	[x * CELL + CELL / 2, y * CELL + CELL / 2]);
}

async function screenshot(page, name) {
	const file = path.join(work, `web-demo-${name}.png`);
	await page.screenshot({ path: file });
	console.log(`screenshot: ${file}`);
}

test("two players meet, chat and move in the browser demo", async (t) => {
	const serve = new Serve();
	t.after(() => serve.stop());
	const url = await serve.start();
	const alice = await player(url, "alice");
	const bob = await player(url, "bob");
	await listed(alice, "bob (0, 0)");
	await listed(bob, "alice (0, 0)");

	await alice.fill("#line", "hi <b>bob</b>");
	await alice.press("#line", "Enter");
	await bob.locator("#log p", { hasText: "alice: hi <b>bob</b>" })
		.waitFor({ timeout: WAIT_MS });
	assert.equal(await bob.locator("#log b").count(), 0,
		"a chat line became markup");

	await bob.click("#map", { position: { x: 5 * CELL + 5, y: 7 * CELL + 5 } });
	await listed(alice, "bob (5, 7)");
	assert.deepEqual(await cellColour(alice, 5, 7), BLUE);
	await bob.press("#map", "ArrowRight");
	await listed(alice, "bob (6, 7)");
	await listed(bob, "bob (6, 7)");
	assert.deepEqual(await cellColour(alice, 6, 7), BLUE);

	await screenshot(alice, "alice");
	await screenshot(bob, "bob");
	assert.deepEqual(pageErrors, []);
});

test("a player chats over wss, to a gate with gate.tls", { skip: !tlsDir },
	async (t) => {
		const serve = new Serve();
		t.after(() => serve.stop());
		const url = await serve.start({
			WISP_GATE_CERT: path.join(tlsDir, "localhost.pem"),
			WISP_GATE_KEY: path.join(tlsDir, "localhost.key") });
		assert.match(url, /\?ws=wss:\/\//);
		const carol = await player(url, "carol");
		await carol.fill("#line", "over TLS");
		await carol.press("#line", "Enter");
		await carol.locator("#log p", { hasText: "carol: over TLS" })
			.waitFor({ timeout: WAIT_MS });
		await screenshot(carol, "wss");
		assert.deepEqual(pageErrors, []);
	});

// client.test.ts: the SDK against a real wisp node (test/client-js/
// node.lua), over TCP and over WebSocket, with request ids off (replies
// matched in order) and on: bytes and JSON bodies, pipelined requests,
// error frames, a timeout, pushes, too big a body; a request in flight
// when the node is killed is rejected, and the client reconnects to the
// node started again. Then what a bad server sends: bad bytes over TCP,
// a WebSocket message of two frames, a text message. WISP_SDK_NO_WS=1 leaves WebSocket
// out (a gate without gate.ws_listen). With WISP_SDK_TLS_DIR (a
// localhost.pem and .key of test/tls/make_certs.sh, whose CA Node trusts
// through NODE_EXTRA_CA_CERTS) the same tests run over wss:// to a node
// with gate.tls, where a plain ws:// client gets no connection.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { WebSocketServer } from "ws";
import { connect, Client, WispError, decodeText, encodeFrame }
	from "../src/index.js";
import { WispNode, freePort } from "./node.js";

const ECHO = 1, SIZE = 2, PUSH = 3, FAIL = 4, SLEEP = 5, SLEEP_ORDERED = 6;
const PUSHED = 100;
const UNROUTED = 500;
const WAIT_MS = 30000; // the bound on any wait for the node

type Transport = "tcp" | "ws" | "wss";
const transports: Transport[] = process.env.WISP_SDK_NO_WS === "1"
	? ["tcp"] : ["tcp", "ws"];

function isWispError(code: string, text?: string) {
	return (e: unknown) => e instanceof WispError && e.code === code
		&& (!text || e.message.includes(text));
}

for (const requestIds of [false, true])
	describe(`a wisp node, request ids ${requestIds ? "on" : "off"}`, () => {
		const node = new WispNode({ requestIds, ws: transports.includes("ws") });
		const clients: Client[] = [];
		before(() => node.start());
		after(async () => {
			clients.forEach((c) => c.close());
			await node.stop();
		});

		const open = async (t: Transport, reconnect = false) => {
			const port = t === "tcp" ? node.tcpPort : node.wsPort;
			const c = await connect({ host: "127.0.0.1", port, transport: t },
				{ requestIds, timeout: WAIT_MS, reconnect: reconnect
					&& { initialDelay: 50, maxDelay: 500 } });
			clients.push(c);
			return c;
		};

		for (const t of transports)
			describe(`over ${t}`, () => clientTests(t, open));

		test("a request in flight fails when the node dies; the client comes"
			+ " back when it restarts", async () => {
			const cs = await Promise.all(transports.map((t) => open(t, true)));
			const closes: string[] = [];
			cs.forEach((c) => c.on("close", (why) => closes.push(why)));
			const inFlight = Promise.all(cs.map((c) => assert.rejects(
				c.request(SLEEP, "20000"),
				isWispError("closed", "connection closed"))));
			await node.stop("SIGKILL");
			await inFlight;
			assert.equal(closes.length, cs.length);
			await assert.rejects(cs[0].request(ECHO, "x"), isWispError("closed"));
			await node.start();
			for (const c of cs) {
				await c.waitOpen(WAIT_MS);
				assert.equal(decodeText(await c.request(ECHO, "after")), "after");
			}
		});
	});

const tlsDir = process.env.WISP_SDK_TLS_DIR;
describe("a wisp node with gate.tls", { skip: !tlsDir }, () => {
	const node = new WispNode({ requestIds: false, ws: true, tlsDir });
	const clients: Client[] = [];
	before(() => node.start());
	after(async () => {
		clients.forEach((c) => c.close());
		await node.stop();
	});

	const open = async (t: Transport) => {
		const c = await connect(`${t}://127.0.0.1:${node.wsPort}`,
			{ timeout: WAIT_MS, reconnect: false });
		clients.push(c);
		return c;
	};
	describe("over wss", () => clientTests("wss", open));

	test("a plain ws:// client gets no connection", async () => {
		await assert.rejects(open("ws"), isWispError("connect"));
	});
});

function clientTests(t: Transport, open: (t: Transport) => Promise<Client>) {
	test("bytes and JSON bodies", async () => {
		const c = await open(t);
		const bytes = Uint8Array.of(0, 1, 2, 255, 0);
		assert.deepEqual(await c.request(ECHO, bytes), bytes);
		assert.deepEqual(await c.request(ECHO, new Uint8Array(0)),
			new Uint8Array(0));
		const value = { name: "ann", at: [1.5, -2], ok: true, text: "é✓" };
		assert.deepEqual(await c.requestJson(ECHO, value), value);
		assert.deepEqual(await c.requestJson(SIZE, "abc"), { size: 5 });
	});

	test("pipelined requests each get their own reply", async () => {
		const c = await open(t);
		const bodies = Array.from({ length: 100 }, (_, i) => `body ${i}`);
		const replies = await Promise.all(bodies.map((b) =>
			c.request(ECHO, b).then(decodeText)));
		assert.deepEqual(replies, bodies);
	});

	test("an error frame rejects with its reason", async () => {
		const c = await open(t);
		await assert.rejects(c.request(FAIL, "now"), (e: WispError) =>
			isWispError("error_frame", "handler error")(e)
			&& e.errorCode === 5 && e.command === FAIL);
		await assert.rejects(c.request(UNROUTED, "x"), (e: WispError) =>
			isWispError("error_frame", "no route")(e) && e.errorCode === 1);
		assert.equal(decodeText(await c.request(ECHO, "still here")),
			"still here");
	});

	test("a request times out, and its late reply is not taken for another",
		async () => {
			const c = await open(t);
			await assert.rejects(c.request(SLEEP_ORDERED, "1500",
				{ timeout: 100 }), isWispError("timeout", "within 100 ms"));
			const next = c.request(SLEEP_ORDERED, "10");
			assert.equal(decodeText(await next), "slept 10");
		});

	test("pushes reach their handler", async () => {
		const c = await open(t);
		const pushed: string[] = [];
		const off = c.on(PUSHED, (body) => pushed.push(decodeText(body)));
		assert.equal(decodeText(await c.request(PUSH, "one")), "pushed");
		assert.equal(decodeText(await c.request(PUSH, "two")), "pushed");
		assert.deepEqual(pushed, ["one", "two"]);
		off();
		await c.request(PUSH, "three");
		assert.deepEqual(pushed, ["one", "two"]);
	});

	test("too big a body is refused before it is sent", async () => {
		const c = await open(t);
		await assert.rejects(c.request(ECHO, new Uint8Array(70000)),
			isWispError("too_big"));
		assert.equal(decodeText(await c.request(ECHO, "ok")), "ok");
	});

	test("close rejects what is in flight and stops the client", async () => {
		const c = await open(t);
		const p = c.request(SLEEP, "2000");
		c.close();
		await assert.rejects(p, isWispError("closed", "closed by the client"));
		await assert.rejects(c.request(ECHO, "x"), isWispError("closed"));
	});
}

describe("a bad server", () => {
	test("nothing listening: connect rejects", async () => {
		const port = await freePort();
		await assert.rejects(connect(`tcp://127.0.0.1:${port}`,
			{ reconnect: false }), isWispError("connect"));
	});

	test("bytes that are not a frame close the connection, naming why",
		async () => {
			const server = net.createServer((s) => s.once("data",
				() => s.write("GET / HTTP/1.1\r\n\r\n")));
			server.listen(0, "127.0.0.1");
			await once(server, "listening");
			const { port } = server.address() as net.AddressInfo;
			const c = await connect(`tcp://127.0.0.1:${port}`, { reconnect: false });
			await assert.rejects(c.request(ECHO, "x"),
				isWispError("closed", "bad magic 47 45 54 20"));
			assert.equal(c.connected, false);
			server.close();
		});

	// A WebSocket server answering each first message with reply.
	async function wsAnswering(reply: Uint8Array | string) {
		const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
		await once(wss, "listening");
		wss.on("connection", (s) => s.once("message", () => s.send(reply)));
		const { port } = wss.address() as net.AddressInfo;
		const c = await connect(`ws://127.0.0.1:${port}`, { reconnect: false });
		return { c, wss };
	}

	test("a WebSocket message of two frames closes the connection",
		async () => {
			const proto = { magic: new TextEncoder().encode("WISP"), version: 1,
				serverVersion: 1, maxBody: 65536, requestIds: false };
			const frame = encodeFrame(proto, ECHO, new Uint8Array(1));
			const { c, wss } = await wsAnswering(Buffer.concat([frame, frame]));
			await assert.rejects(c.request(ECHO, "x"),
				isWispError("closed", "not exactly one frame"));
			wss.close();
		});

	test("a WebSocket text message closes the connection", async () => {
		const { c, wss } = await wsAnswering("hello");
		await assert.rejects(c.request(ECHO, "x"),
			isWispError("closed", "text message"));
		wss.close();
	});
});

// frame.test.ts: the frame codec against proto/CLIENT.md's examples and
// rejections, a stream cut anywhere, and random bytes in random pieces:
// the decoder returns frames or throws a WispError "bad_frame", nothing
// else, and a stream of good frames comes out whole however it is cut.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder, encodeFrame, decodeErrorBody, WispError, Proto }
	from "../src/index.js";

const magic = new TextEncoder().encode("WISP");
const proto: Proto = { magic, version: 1, serverVersion: 7, maxBody: 65536,
	requestIds: false };
const withIds: Proto = { ...proto, requestIds: true };

function bytes(hex: string): Uint8Array {
	return Uint8Array.from(hex.split(/\s+/).filter(Boolean),
		(h) => parseInt(h, 16));
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

// CLIENT.md "Example": command 1001, body "hi".
const EXAMPLE = bytes("57 49 53 50 01 00 00 00 07 00 00 00 06 00 00 03 e9"
	+ " 68 69");
// CLIENT.md "Request ids": request 7 of the same.
const EXAMPLE_ID = bytes("57 49 53 50 01 00 00 00 07 00 00 00 0a 00 00 03 e9"
	+ " 00 00 00 07 68 69");

test("encodes CLIENT.md's examples", () => {
	const hi = new TextEncoder().encode("hi");
	assert.deepEqual(encodeFrame(proto, 1001, hi), EXAMPLE);
	assert.deepEqual(encodeFrame(withIds, 1001, hi, 7), EXAMPLE_ID);
});

test("decodes them, whole or a byte at a time", () => {
	const whole = new FrameDecoder(proto).push(EXAMPLE);
	assert.equal(whole.length, 1);
	assert.equal(whole[0].command, 1001);
	assert.equal(text(whole[0].body), "hi");
	const d = new FrameDecoder(withIds);
	const frames = [];
	for (const b of EXAMPLE_ID)
		frames.push(...d.push(Uint8Array.of(b)));
	assert.equal(frames.length, 1);
	assert.equal(frames[0].id, 7);
	assert.equal(text(frames[0].body), "hi");
	assert.equal(d.partial, 0);
});

test("decodes an error frame's body", () => {
	const body = bytes("00 00 03 e9 05 68 61 6e 64 6c 65 72 20 65 72 72 6f 72");
	assert.deepEqual(decodeErrorBody(body),
		{ command: 1001, code: 5, text: "handler error" });
	assert.equal(decodeErrorBody(bytes("00 00 03 e9")), null);
});

test("refuses what the encoder cannot send", () => {
	assert.throws(() => encodeFrame(proto, 1, new Uint8Array(65537)),
		(e: WispError) => e.code === "too_big");
	assert.throws(() => encodeFrame(withIds, 1, new Uint8Array(65533)),
		(e: WispError) => e.code === "too_big");
	assert.throws(() => encodeFrame(proto, -1, new Uint8Array(0)),
		(e: WispError) => e.code === "bad_request");
});

// Each bad field with CLIENT.md's reason, found as soon as it arrives.
const BAD: [Proto, string, string][] = [
	[proto, "47 45 54 20", "bad magic 47 45 54 20"],
	[proto, "57 49 53 50 02", "protocol version 2, want 1"],
	[proto, "57 49 53 50 01 00 00 00 08", "server version 8, want 7"],
	[proto, "57 49 53 50 01 00 00 00 07 00 00 00 03",
		"frame length 3, less than the 4 bytes of its command id"],
	[proto, "57 49 53 50 01 00 00 00 07 01 31 2d 04",
		"frame body of 20000000 bytes exceeds the limit of 65536"],
	[withIds, "57 49 53 50 01 00 00 00 07 00 00 00 06",
		"a frame body of 2 bytes, too short for the request id"],
];

test("names each bad field, and stays failed", () => {
	for (const [p, hex, reason] of BAD) {
		const d = new FrameDecoder(p);
		assert.throws(() => d.push(bytes(hex)), (e: WispError) =>
			e.code === "bad_frame" && e.message.endsWith(reason), reason);
		assert.throws(() => d.push(EXAMPLE), (e: WispError) =>
			e.code === "bad_frame" && e.message.endsWith(reason));
	}
});

// A small seeded generator, so that a failure can be replayed.
function random(seed: number): () => number {
	return () => {
		seed = (seed * 1103515245 + 12345) >>> 0;
		return seed / 0x100000000;
	};
}

function cut(stream: Uint8Array, rand: () => number): Uint8Array[] {
	const pieces = [];
	for (let at = 0; at < stream.length;) {
		const n = 1 + Math.floor(rand() * Math.min(64, stream.length - at));
		pieces.push(stream.subarray(at, at + n));
		at += n;
	}
	return pieces;
}

function goodStream(p: Proto, rand: () => number) {
	const sent = [];
	for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) {
		const body = Uint8Array.from({ length: Math.floor(rand() * 100) },
			() => Math.floor(rand() * 256));
		sent.push({ command: Math.floor(rand() * 0x100000000),
			id: p.requestIds ? Math.floor(rand() * 1000) : 0, body });
	}
	const parts = sent.map((f) => encodeFrame(p, f.command, f.body, f.id));
	const stream = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
	parts.reduce((at, b) => (stream.set(b, at), at + b.length), 0);
	return { sent, stream };
}

test("good frames come out whole however the stream is cut", () => {
	const rand = random(15);
	for (let round = 0; round < 500; round++) {
		const p = round % 2 ? withIds : proto;
		const { sent, stream } = goodStream(p, rand);
		const d = new FrameDecoder(p);
		const got = cut(stream, rand).flatMap((piece) => d.push(piece));
		assert.deepEqual(got, sent);
		assert.equal(d.partial, 0);
	}
});

test("random and corrupted bytes in random pieces: frames or bad_frame", () => {
	const rand = random(2026);
	let failed = 0;
	for (let round = 0; round < 3000; round++) {
		const p: Proto = { ...(round % 2 ? withIds : proto),
			maxBody: 1 + Math.floor(rand() * 200) };
		let stream = goodStream({ ...p, maxBody: 65536 }, rand).stream;
		if (round % 3 === 0)
			stream = stream.map(() => Math.floor(rand() * 256));
		else
			for (let i = 0; i < 3; i++)
				stream[Math.floor(rand() * stream.length)] ^= 1 << (round % 8);
		const d = new FrameDecoder(p);
		try {
			for (const piece of cut(stream, rand))
				for (const f of d.push(piece))
					assert.ok(f.body.length <= p.maxBody);
		} catch (e) {
			assert.ok(e instanceof WispError && e.code === "bad_frame",
				`round ${round}: ${String(e)}`);
			failed++;
		}
	}
	assert.ok(failed > 1000, `only ${failed} streams were refused`);
});

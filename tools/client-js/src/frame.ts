// frame.ts: the client frame of proto/CLIENT.md: Firefly's 17-byte
// big-endian header (magic, protocol version, server version, length,
// command) and a body; the encoder, the incremental bounds-checked
// decoder of the gate's bytes, request ids and error frames.

import { WispError } from "./errors.js";

export const HEADER_SIZE = 17;
export const ID_SIZE = 4;
/** gate.error_command's default. */
export const DEFAULT_ERROR_COMMAND = 0xffffffff;

/** The header fields both ends must agree on (gate.magic and friends). */
export interface Proto {
	magic: Uint8Array;          // 4 bytes
	version: number;            // u8
	serverVersion: number;      // u32
	maxBody: number;            // gate.max_body, request id included
	requestIds: boolean;        // gate.request_ids
}

export interface Frame {
	command: number;
	/** The request id (0 for a push); 0 when ids are off. */
	id: number;
	body: Uint8Array;
}

/** What an error frame's body says (CLIENT.md "Error frames"). */
export interface ErrorBody {
	command: number;  // the failed request's command id
	code: number;     // 1 no route ... 7 service exited
	text: string;
}

const MAX_U32 = 0xffffffff;
const ERROR_HEAD = 5;

function readU32(b: Uint8Array, at: number): number {
	return ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8)
		+ b[at + 3];
}

function writeU32(b: Uint8Array, at: number, v: number): void {
	b[at] = v >>> 24;
	b[at + 1] = (v >>> 16) & 0xff;
	b[at + 2] = (v >>> 8) & 0xff;
	b[at + 3] = v & 0xff;
}

function isU32(v: number): boolean {
	return Number.isInteger(v) && v >= 0 && v <= MAX_U32;
}

/** One frame of command with body (and, with ids on, id before it). */
export function encodeFrame(p: Proto, command: number, body: Uint8Array,
	id = 0): Uint8Array {
	const idSize = p.requestIds ? ID_SIZE : 0;
	if (!isU32(command))
		throw new WispError("bad_request", `command ${command} is not a u32`);
	if (body.length + idSize > p.maxBody)
		throw new WispError("too_big", `body of ${body.length + idSize} bytes`
			+ ` exceeds the limit of ${p.maxBody}`);
	const out = new Uint8Array(HEADER_SIZE + idSize + body.length);
	out.set(p.magic, 0);
	out[4] = p.version;
	writeU32(out, 5, p.serverVersion);
	writeU32(out, 9, 4 + idSize + body.length);
	writeU32(out, 13, command);
	if (idSize)
		writeU32(out, HEADER_SIZE, id);
	out.set(body, HEADER_SIZE + idSize);
	return out;
}

/** An error frame's body (after its request id), or null when it is
 * shorter than the 5 bytes of one (it is then not an error frame). */
export function decodeErrorBody(body: Uint8Array): ErrorBody | null {
	if (body.length < ERROR_HEAD)
		return null;
	let text = "";
	for (let i = ERROR_HEAD; i < body.length; i++)
		text += String.fromCharCode(body[i]);
	return { command: readU32(body, 0), code: body[4], text };
}

function hex(b: Uint8Array): string {
	return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** Splits the gate's bytes into frames, however they were cut, checking
 * each header field as soon as its last byte arrives (the reasons are
 * CLIENT.md's). After a bad frame it stays failed: every later push
 * throws the same WispError (code "bad_frame"); it throws nothing else. */
export class FrameDecoder {
	private buf: Uint8Array;
	private have = 0;
	private failure: WispError | null = null;

	constructor(private readonly p: Proto) {
		this.buf = new Uint8Array(HEADER_SIZE);
	}

	/** Bytes of an unfinished frame held now. */
	get partial(): number {
		return this.have;
	}

	/** The whole frames that chunk completes, in order. */
	push(chunk: Uint8Array): Frame[] {
		if (this.failure)
			throw this.failure;
		const frames: Frame[] = [];
		let at = 0;
		try {
			while (at < chunk.length)
				at += this.take(chunk, at, frames);
		} catch (e) {
			this.failure = e instanceof WispError ? e
				: new WispError("bad_frame", `decoder: ${String(e)}`);
			throw this.failure;
		}
		return frames;
	}

	// Takes bytes of chunk from at, up to the end of the field or frame
	// being read; returns how many.
	private take(chunk: Uint8Array, at: number, frames: Frame[]): number {
		const want = this.have < HEADER_SIZE ? this.headerWant()
			: HEADER_SIZE + this.bodySize();
		const n = Math.min(want - this.have, chunk.length - at);
		this.buf.set(chunk.subarray(at, at + n), this.have);
		this.have += n;
		if (this.have === want && want <= HEADER_SIZE)
			this.checkField(want, frames);
		else if (this.have === want)
			this.finish(frames);
		return n;
	}

	// Where the header field being read ends.
	private headerWant(): number {
		for (const end of [4, 5, 9, 13, HEADER_SIZE])
			if (this.have < end)
				return end;
		return HEADER_SIZE;
	}

	private bodySize(): number {
		return readU32(this.buf, 9) - 4;
	}

	private checkField(end: number, frames: Frame[]): void {
		const b = this.buf, p = this.p;
		if (end === 4 && !p.magic.every((m, i) => b[i] === m))
			this.fail(`bad magic ${hex(b.subarray(0, 4))}`);
		if (end === 5 && b[4] !== p.version)
			this.fail(`protocol version ${b[4]}, want ${p.version}`);
		if (end === 9 && readU32(b, 5) !== p.serverVersion)
			this.fail(`server version ${readU32(b, 5)}, want ${p.serverVersion}`);
		if (end === 13)
			this.checkLength(readU32(b, 9));
		if (end === HEADER_SIZE)
			this.startBody(frames);
	}

	private checkLength(length: number): void {
		if (length < 4)
			this.fail(`frame length ${length}, less than the 4 bytes of its`
				+ " command id");
		if (length - 4 > this.p.maxBody)
			this.fail(`frame body of ${length - 4} bytes exceeds the limit`
				+ ` of ${this.p.maxBody}`);
		if (this.p.requestIds && length - 4 < ID_SIZE)
			this.fail(`a frame body of ${length - 4} bytes, too short for`
				+ " the request id");
	}

	// The header is whole: room for the body (bounded by maxBody above).
	private startBody(frames: Frame[]): void {
		const size = this.bodySize();
		if (size === 0)
			return this.finish(frames);
		const grown = new Uint8Array(HEADER_SIZE + size);
		grown.set(this.buf.subarray(0, HEADER_SIZE));
		this.buf = grown;
	}

	private finish(frames: Frame[]): void {
		const b = this.buf;
		const idSize = this.p.requestIds ? ID_SIZE : 0;
		const body = b.slice(HEADER_SIZE + idSize, HEADER_SIZE + this.bodySize());
		frames.push({ command: readU32(b, 13),
			id: idSize ? readU32(b, HEADER_SIZE) : 0, body });
		this.buf = new Uint8Array(HEADER_SIZE);
		this.have = 0;
	}

	private fail(reason: string): never {
		throw new WispError("bad_frame", `bad frame from server: ${reason}`);
	}
}

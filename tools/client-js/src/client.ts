// client.ts: a connection to a wisp gate: requests answered by promises
// (matched by request id when the gate has gate.request_ids, else each
// reply to the oldest request of its command, as the gate answers a
// client's commands in order), pushes to handlers by command, and
// reconnection with backoff after the connection drops.

import { WispError } from "./errors.js";
import { DEFAULT_ERROR_COMMAND, encodeFrame, decodeErrorBody, FrameDecoder,
	Frame, Proto } from "./frame.js";
import { openTransport, Transport } from "./transport.js";

/** A body: bytes as they are, or a string sent as UTF-8. */
export type Body = Uint8Array | string;

export interface ReconnectOptions {
	initialDelay?: number;  // ms before the first retry (default 200)
	maxDelay?: number;      // the backoff's cap in ms (default 10000)
	maxAttempts?: number;   // retries in a row before giving up (default no end)
}

/** What the gate's config says (gate.magic, .version, .server_version,
 * .max_body, .request_ids, .error_command) and how the client behaves. */
export interface ConnectOptions {
	magic?: string | Uint8Array;   // default "WISP"
	version?: number;              // default 1
	serverVersion?: number;        // default 1
	maxBody?: number;              // default 65536
	requestIds?: boolean;          // default false
	errorCommand?: number | null;  // default 4294967295; null: none
	timeout?: number;              // a request's default timeout, ms (10000)
	connectTimeout?: number;       // ms (10000)
	reconnect?: boolean | ReconnectOptions;  // default true
}

/** A gate's address: a URL (ws://, wss://, tcp://host:port) or parts. */
export type Address = string
	| { host: string; port: number; transport?: "ws" | "wss" | "tcp";
		path?: string };

export interface RequestOptions {
	timeout?: number;  // ms; default the connection's
}

export type PushHandler = (body: Uint8Array, command: number) => void;
export type OpenHandler = () => void;
export type CloseHandler = (reason: string) => void;

interface Pending {
	command: number;
	resolve(body: Uint8Array): void;
	reject(e: WispError): void;
	timer?: ReturnType<typeof setTimeout>;
	done: boolean;  // timed out: left in the in-order queue for its answer
}

const MAX_ID = 0xffffffff;
const encoder = new TextEncoder();

function toBytes(body: Body): Uint8Array {
	return typeof body === "string" ? encoder.encode(body) : body;
}

// Calls a handler of the user's: what it throws is thrown again on its
// own, so the frames after it and the client's state are not lost.
function callOut(fn: () => void): void {
	try {
		fn();
	} catch (e) {
		queueMicrotask(() => { throw e; });
	}
}

function errorFrame(command: number, code: number, text: string): WispError {
	const e = new WispError("error_frame",
		`command ${command} failed: ${text} (code ${code})`);
	e.errorCode = code;
	e.command = command;
	return e;
}

function toUrl(a: Address): string {
	if (typeof a === "string")
		return a;
	const host = a.host.includes(":") ? `[${a.host}]` : a.host;
	return `${a.transport ?? "ws"}://${host}:${a.port}${a.path ?? ""}`;
}

function toProto(o: ConnectOptions): Proto {
	const magic = typeof o.magic === "string" ? encoder.encode(o.magic)
		: o.magic ?? encoder.encode("WISP");
	if (magic.length !== 4)
		throw new WispError("bad_request", "magic must be 4 bytes");
	return { magic, version: o.version ?? 1, serverVersion: o.serverVersion ?? 1,
		maxBody: o.maxBody ?? 65536, requestIds: o.requestIds ?? false };
}

function reconnectOptions(r: ConnectOptions["reconnect"]):
	Required<ReconnectOptions> | null {
	if (r === false)
		return null;
	const o = r === true || r === undefined ? {} : r;
	return { initialDelay: o.initialDelay ?? 200, maxDelay: o.maxDelay ?? 10000,
		maxAttempts: o.maxAttempts ?? Infinity };
}

export class Client {
	readonly url: string;
	private readonly proto: Proto;
	private readonly errorCommand: number | null;
	private readonly timeout: number;
	private readonly connectTimeout: number;
	private readonly backoff: Required<ReconnectOptions> | null;
	private transport: Transport | null = null;
	private decoder: FrameDecoder;
	private byId = new Map<number, Pending>();
	private inOrder: Pending[] = [];
	private lastId = 0;
	private pushes = new Map<number, Set<PushHandler>>();
	private opens = new Set<OpenHandler>();
	private closes = new Set<CloseHandler>();
	private attempts = 0;
	private retry: ReturnType<typeof setTimeout> | null = null;
	private closedByUser = false;

	constructor(address: Address, options: ConnectOptions = {}) {
		this.url = toUrl(address);
		this.proto = toProto(options);
		this.errorCommand = options.errorCommand === undefined
			? DEFAULT_ERROR_COMMAND : options.errorCommand;
		this.timeout = options.timeout ?? 10000;
		this.connectTimeout = options.connectTimeout ?? 10000;
		this.backoff = reconnectOptions(options.reconnect);
		this.decoder = new FrameDecoder(this.proto);
	}

	/** Whether the connection is open now. */
	get connected(): boolean {
		return this.transport !== null;
	}

	/** Opens the connection (connect() calls it); rejects with "connect". */
	async open(): Promise<void> {
		this.decoder = new FrameDecoder(this.proto);
		let t: Transport;
		try {
			t = await openTransport(this.url, {
				data: (b) => this.onData(t, b),
				close: (why) => this.onClose(t, why),
			}, this.connectTimeout);
		} catch (e) {
			throw new WispError("connect", (e as Error).message);
		}
		if (this.closedByUser) {
			t.close();
			throw new WispError("closed", "closed by the client");
		}
		this.transport = t;
		this.attempts = 0;
		this.opens.forEach((fn) => callOut(fn));
	}

	/** Sends command with body; resolves with the reply's body, rejects
	 * with a WispError on an error frame, a timeout or the connection
	 * closing. Without request ids every request must be answered (a
	 * handler returning nothing sends no frame: use send() for those). */
	request(command: number, body: Body = new Uint8Array(0),
		opts: RequestOptions = {}): Promise<Uint8Array> {
		return new Promise((resolve, reject) => {
			const p: Pending = { command, resolve, reject, done: false };
			const id = this.proto.requestIds ? this.nextId() : 0;
			try {
				this.write(command, body, id);
			} catch (e) {
				return reject(e);
			}
			if (this.proto.requestIds)
				this.byId.set(id, p);
			else
				this.inOrder.push(p);
			this.arm(p, id, opts.timeout ?? this.timeout);
		});
	}

	/** request() with a JSON body and a JSON reply. */
	async requestJson(command: number, value: unknown,
		opts: RequestOptions = {}): Promise<unknown> {
		return decodeJson(await this.request(command, encodeJson(value), opts));
	}

	/** Sends a frame that expects no answer; throws when it cannot. */
	send(command: number, body: Body = new Uint8Array(0)): void {
		this.write(command, body, 0);
	}

	/** Calls fn with the body of each push of command. Returns a function
	 * that removes it. */
	on(command: number, fn: PushHandler): () => void;
	/** Calls fn each time the connection opens again after a drop. */
	on(event: "open", fn: OpenHandler): () => void;
	/** Calls fn each time the connection drops, with why. */
	on(event: "close", fn: CloseHandler): () => void;
	on(what: number | "open" | "close", fn: any): () => void {
		const set: Set<unknown> = what === "open" ? this.opens
			: what === "close" ? this.closes : this.pushSet(what);
		set.add(fn);
		return () => { set.delete(fn); };
	}

	/** Resolves once the connection is open (at once if it is). */
	waitOpen(timeoutMs = this.connectTimeout): Promise<void> {
		if (this.transport)
			return Promise.resolve();
		return new Promise((resolve, reject) => {
			const off = this.on("open", () => {
				clearTimeout(timer);
				off();
				resolve();
			});
			const timer = setTimeout(() => {
				off();
				reject(new WispError("timeout", `not connected within ${timeoutMs} ms`));
			}, timeoutMs);
		});
	}

	/** Closes for good: no reconnect; requests in flight are rejected. */
	close(): void {
		this.closedByUser = true;
		if (this.retry)
			clearTimeout(this.retry);
		this.retry = null;
		const t = this.transport;
		this.transport = null;
		t?.close();
		this.failAll("closed by the client");
	}

	private pushSet(command: number): Set<PushHandler> {
		let set = this.pushes.get(command);
		if (!set)
			this.pushes.set(command, set = new Set());
		return set;
	}

	private nextId(): number {
		this.lastId = this.lastId >= MAX_ID ? 1 : this.lastId + 1;
		return this.lastId;
	}

	private write(command: number, body: Body, id: number): void {
		const frame = encodeFrame(this.proto, command, toBytes(body), id);
		if (!this.transport)
			throw new WispError("closed", "not connected");
		this.transport.send(frame);
	}

	private arm(p: Pending, id: number, ms: number): void {
		if (!Number.isFinite(ms))
			return;
		p.timer = setTimeout(() => {
			p.done = true;
			if (this.proto.requestIds)
				this.byId.delete(id);
			p.reject(new WispError("timeout",
				`no answer to command ${p.command} within ${ms} ms`));
		}, ms);
	}

	private onData(t: Transport, bytes: Uint8Array): void {
		if (t !== this.transport)
			return;
		let frames: Frame[];
		try {
			frames = this.decoder.push(bytes);
			if (t.kind === "ws" && (frames.length !== 1 || this.decoder.partial))
				throw new WispError("bad_frame", "bad frame from server: a"
					+ " WebSocket message that is not exactly one frame");
		} catch (e) {
			t.close();
			return this.onClose(t, (e as Error).message);
		}
		for (const f of frames)
			this.onFrame(f);
	}

	// An error frame fails its request; an error frame for none (a send's)
	// goes to the handlers of errorCommand, as a push does to its own.
	private onFrame(f: Frame): void {
		const e = f.command === this.errorCommand ? decodeErrorBody(f.body)
			: null;
		const settled = e ? this.settle(f.id, e.command, (p) => p.reject(
			errorFrame(e.command, e.code, e.text)))
			: this.settle(f.id, f.command, (p) => p.resolve(f.body));
		if (!settled)
			this.pushes.get(f.command)?.forEach((fn) => callOut(() =>
				fn(f.body, f.command)));
	}

	// Ends the request an answer is for; false when it is for none (a push).
	private settle(id: number, command: number, end: (p: Pending) => void):
		boolean {
		let p: Pending | undefined;
		if (this.proto.requestIds) {
			p = this.byId.get(id);
			this.byId.delete(id);
			if (id !== 0 && !p)
				return true;  // the answer to a request that timed out
		} else {
			const at = this.inOrder.findIndex((q) => q.command === command);
			p = at < 0 ? undefined : this.inOrder.splice(at, 1)[0];
		}
		if (!p)
			return false;
		if (p.timer)
			clearTimeout(p.timer);
		if (!p.done)
			end(p);
		return true;
	}

	private onClose(t: Transport, reason: string): void {
		if (t !== this.transport)
			return;
		this.transport = null;
		this.failAll(`connection closed: ${reason}`);
		this.closes.forEach((fn) => callOut(() => fn(reason)));
		this.scheduleReconnect();
	}

	private failAll(why: string): void {
		const all = [...this.byId.values(), ...this.inOrder];
		this.byId.clear();
		this.inOrder = [];
		for (const p of all) {
			if (p.timer)
				clearTimeout(p.timer);
			if (!p.done)
				p.reject(new WispError("closed", why));
		}
	}

	private scheduleReconnect(): void {
		const b = this.backoff;
		if (!b || this.closedByUser || this.attempts >= b.maxAttempts)
			return;
		const base = Math.min(b.maxDelay, b.initialDelay * 2 ** this.attempts);
		this.attempts++;
		this.retry = setTimeout(() => {
			this.retry = null;
			this.open().catch(() => this.scheduleReconnect());
		}, base * (0.5 + Math.random() / 2));
	}
}

/** Connects to a gate; resolves once the connection is open. */
export async function connect(address: Address, options: ConnectOptions = {}):
	Promise<Client> {
	const c = new Client(address, options);
	await c.open();
	return c;
}

/** A value as a JSON body (UTF-8). */
export function encodeJson(value: unknown): Uint8Array {
	return encoder.encode(JSON.stringify(value));
}

/** A body as UTF-8 text. */
export function decodeText(body: Uint8Array): string {
	return new TextDecoder().decode(body);
}

/** A JSON body's value; throws a SyntaxError when it is not JSON. */
export function decodeJson(body: Uint8Array): unknown {
	return JSON.parse(decodeText(body));
}

// transport.ts: the byte pipes under a client: a WebSocket (the
// browser's, Node's global one when it has it, else the `ws` package),
// each binary message one frame, and a raw TCP stream through node:net.
// Node's modules are imported only when used, so a browser loads none.

export interface TransportEvents {
	data(bytes: Uint8Array): void;
	/** Once, when the pipe is gone, with why ("" when closed by us). */
	close(reason: string): void;
}

export interface Transport {
	/** "ws" (one frame a message) or "tcp" (a stream). */
	readonly kind: "ws" | "tcp";
	send(bytes: Uint8Array): void;
	close(): void;
}

/** Opens a pipe to url; resolves once it is open, rejects with why not. */
export function openTransport(url: string, ev: TransportEvents,
	timeoutMs: number): Promise<Transport> {
	const scheme = url.slice(0, url.indexOf(":"));
	if (scheme === "ws" || scheme === "wss")
		return openWebSocket(url, ev, timeoutMs);
	if (scheme === "tcp")
		return openTcp(url, ev, timeoutMs);
	return Promise.reject(new Error(`unknown scheme in ${url}: want ws://,`
		+ " wss:// or tcp://"));
}

// The part of the WebSocket interface used here: the browser's, Node's
// global one and the ws package's all have it.
interface SocketLike {
	binaryType: string;
	readonly readyState: number;
	send(data: Uint8Array): void;
	close(code?: number, reason?: string): void;
	addEventListener(type: string, fn: (e: any) => void): void;
}
type SocketClass = new (url: string) => SocketLike;

async function webSocketClass(): Promise<SocketClass> {
	const g = globalThis as { WebSocket?: SocketClass };
	if (g.WebSocket)
		return g.WebSocket;
	const ws = await import("ws");
	return ws.WebSocket as unknown as SocketClass;
}

function closeReason(e: { code?: number; reason?: string }): string {
	const why = e.reason ? ` ${e.reason}` : "";
	return `closed by server (WebSocket code ${e.code ?? "none"}${why})`;
}

async function openWebSocket(url: string, ev: TransportEvents,
	timeoutMs: number): Promise<Transport> {
	const Socket = await webSocketClass();
	const sock = new Socket(url);
	sock.binaryType = "arraybuffer";
	let open = false, closed = false, byUs = false;
	const t: Transport = {
		kind: "ws",
		send: (bytes) => sock.send(bytes),
		close: () => { byUs = true; sock.close(1000); },
	};
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			byUs = true;
			sock.close();
			reject(new Error(`connect to ${url} timed out after ${timeoutMs} ms`));
		}, timeoutMs);
		sock.addEventListener("open", () => {
			clearTimeout(timer);
			open = true;
			resolve(t);
		});
		const end = (why: string) => {
			if (!closed)
				ev.close(why);
			closed = true;
		};
		sock.addEventListener("message", (e) => {
			if (typeof e.data !== "string")
				return ev.data(new Uint8Array(e.data as ArrayBuffer));
			end("server sent a text message");
			t.close();
		});
		sock.addEventListener("close", (e) => {
			clearTimeout(timer);
			if (!open)
				return reject(new Error(`connect to ${url} failed`
					+ ` (WebSocket code ${e.code})`));
			end(byUs ? "" : closeReason(e));
		});
		sock.addEventListener("error", () => { /* close follows */ });
	});
}

async function openTcp(url: string, ev: TransportEvents,
	timeoutMs: number): Promise<Transport> {
	const parsed = new URL(url);
	const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
	const port = Number(parsed.port);
	if (!host || !port)
		throw new Error(`${url}: want tcp://host:port`);
	const net = await import("node:net");
	const sock = net.connect({ host, port });
	sock.setNoDelay(true);
	let open = false, byUs = false, why = "closed by server";
	const t: Transport = {
		kind: "tcp",
		send: (bytes) => { sock.write(bytes); },
		close: () => { byUs = true; sock.destroy(); },
	};
	return new Promise((resolve, reject) => {
		sock.setTimeout(timeoutMs, () => {
			if (!open)
				sock.destroy(new Error(`timed out after ${timeoutMs} ms`));
		});
		sock.on("connect", () => {
			open = true;
			sock.setTimeout(0);
			resolve(t);
		});
		sock.on("data", (b: Uint8Array) => ev.data(b));
		sock.on("error", (e: Error) => { why = e.message; });
		sock.on("close", () => {
			if (!open)
				return reject(new Error(`connect to ${url} failed: ${why}`));
			ev.close(byUs ? "" : why);
		});
	});
}

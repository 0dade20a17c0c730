// node.ts: a real wisp node for the tests: test/client-js/node.lua (a
// gate in front of sdk.lua) started from the build, stopped and started
// again on the same ports. WISP_EXE names the wisp executable and
// WISP_SDK_TEST_DIR the folder of node.lua; by default those of the
// source tree this package sits in (build/wisp, test/client-js).
import { spawn, ChildProcess } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";

const START_MS = 30000; // a node's start, under the sanitizers too
const STOP_MS = 20000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
	"../../../..");
const exe = process.env.WISP_EXE ?? path.join(root, "build/wisp");
const dir = process.env.WISP_SDK_TEST_DIR ?? path.join(root, "test/client-js");

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
	const s = net.createServer();
	s.listen(0, "127.0.0.1");
	await once(s, "listening");
	const port = (s.address() as net.AddressInfo).port;
	s.close();
	await once(s, "close");
	return port;
}

export interface NodeOptions {
	requestIds: boolean;
	ws: boolean;  // also a WebSocket listener
	tlsDir?: string;  // gate.tls on both: localhost.pem and .key from here
}

export class WispNode {
	tcpPort = 0;
	wsPort = 0;
	private proc: ChildProcess | null = null;
	private output = "";

	constructor(private readonly opts: NodeOptions) {}

	async start(): Promise<void> {
		if (!this.tcpPort) {
			this.tcpPort = await freePort();
			this.wsPort = this.opts.ws ? await freePort() : 0;
		}
		const env: NodeJS.ProcessEnv = { ...process.env,
			WISP_GATE_PORT: String(this.tcpPort),
			WISP_REQUEST_IDS: this.opts.requestIds ? "1" : "0" };
		if (this.wsPort)
			env.WISP_WS_PORT = String(this.wsPort);
		if (this.opts.tlsDir) {
			env.WISP_GATE_CERT = path.join(this.opts.tlsDir, "localhost.pem");
			env.WISP_GATE_KEY = path.join(this.opts.tlsDir, "localhost.key");
		}
		const p = spawn(exe, [path.join(dir, "node.lua"), "main"],
			{ env, stdio: ["ignore", "pipe", "pipe"] });
		this.proc = p;
		this.output = "";
		await this.waitReady(p);
	}

	private waitReady(p: ChildProcess): Promise<void> {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => fail("not ready in time"), START_MS);
			const fail = (why: string) => {
				clearTimeout(timer);
				reject(new Error(`wisp node: ${why}; its output:\n${this.output}`));
			};
			const read = (chunk: Buffer) => {
				this.output += chunk.toString();
				if (this.output.includes("READY sdk")) {
					clearTimeout(timer);
					resolve();
				}
			};
			p.stdout!.on("data", read);
			p.stderr!.on("data", read);
			p.on("error", (e) => fail(e.message));
			p.on("exit", (code) => fail(`exited with ${code}`));
		});
	}

	/** Stops the node with sig (SIGKILL: as a crash) and waits for it. */
	async stop(sig: NodeJS.Signals = "SIGTERM"): Promise<void> {
		const p = this.proc;
		this.proc = null;
		if (!p || p.exitCode !== null || p.signalCode !== null)
			return;
		const exited = once(p, "exit");
		p.kill(sig);
		const timer = setTimeout(() => p.kill("SIGKILL"), STOP_MS);
		await exited;
		clearTimeout(timer);
	}

	/** What the node has printed since it last started. */
	get log(): string {
		return this.output;
	}
}

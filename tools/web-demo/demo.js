// demo.js: the browser demo's logic: logs in to the demo game
// (services/demo/protocol.lua has the commands and bodies) over WebSocket
// with the wisp-client SDK, enters a room, draws the players of the room
// on a grid as their moves come, and keeps the room's chat. The gate's
// address is the page's ?ws= parameter (default ws://HOST:7180, the
// WebSocket listener of conf/demo.lua).
import { connect, decodeText, decodeErrorBody, DEFAULT_ERROR_COMMAND }
	from "wisp-client";

const LOGIN = 101, ENTER = 102, MOVE = 103, CHAT = 104;
const MOVED = 203, SAID = 204;
const GRID = 20;  // cells a side; positions wrap around it
const CELL = 20;  // pixels a cell

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const url = params.get("ws") ?? `ws://${location.hostname || "127.0.0.1"}:7180`;

let client = null;
let me = null;     // { name, x, y } once logged in
let room = null;   // the room entered, if any
let players = new Map();  // name -> { x, y }: who has moved in the room

function status(text, error = false) {
	$("status").textContent = text;
	$("status").className = error ? "error" : "";
}

function enable(form, on) {
	for (const el of $(form).elements)
		el.disabled = !on;
}

// "ok k=v k=v": the pairs; throws the text after "error: " otherwise.
function parseReply(body) {
	const text = decodeText(body);
	if (!text.startsWith("ok"))
		throw new Error(text.replace(/^error: /, ""));
	return Object.fromEntries(text.split(" ").slice(1)
		.map((kv) => kv.split("=")));
}

function say(text) {
	const p = document.createElement("p");
	p.textContent = text;  // never markup: the line is another player's
	const log = $("log");
	log.append(p);
	log.scrollTop = log.scrollHeight;
}

const wrap = (v) => ((v % GRID) + GRID) % GRID;

function draw() {
	const g = $("map").getContext("2d");
	g.clearRect(0, 0, GRID * CELL, GRID * CELL);
	g.strokeStyle = "#ddd";
	for (let i = 1; i < GRID; i++) {
		g.beginPath();
		g.moveTo(i * CELL + .5, 0);
		g.lineTo(i * CELL + .5, GRID * CELL);
		g.moveTo(0, i * CELL + .5);
		g.lineTo(GRID * CELL, i * CELL + .5);
		g.stroke();
	}
	g.font = "11px sans-serif";
	g.textAlign = "center";
	for (const [name, p] of players)
		drawPlayer(g, name, p);
}

function drawPlayer(g, name, p) {
	const cx = wrap(p.x) * CELL + CELL / 2, cy = wrap(p.y) * CELL + CELL / 2;
	g.fillStyle = name === me?.name ? "#c33" : "#36c";
	g.beginPath();
	g.arc(cx, cy, CELL / 2 - 3, 0, 2 * Math.PI);
	g.fill();
	g.fillStyle = "#222";
	const below = wrap(p.y) === 0;  // the top row's names would be cut
	g.fillText(name, cx, below ? cy + CELL : cy - CELL / 2 - 1);
}

function listPlayers() {
	const items = [...players].sort(([a], [b]) => a.localeCompare(b))
		.map(([name, p]) => {
			const li = document.createElement("li");
			li.textContent = `${name} (${p.x}, ${p.y})`;
			li.dataset.name = name;
			li.className = name === me?.name ? "me" : "";
			return li;
		});
	$("players").replaceChildren(...items);
	draw();
}

// The demo game tells a room only of moves, so a page answers a player
// it has not seen yet with its own position, and newcomers see it too.
function onMoved(body) {
	const [name, x, y] = decodeText(body).split(" ");
	const known = players.has(name);
	players.set(name, { x: Number(x), y: Number(y) });
	listPlayers();
	if (!known && name !== me?.name)
		move(me.x, me.y);
}

// Taken at once, so that keys pressed faster than the replies add up.
async function move(x, y) {
	if (!room)
		return;
	me.x = x;
	me.y = y;
	try {
		const r = parseReply(await client.request(MOVE, `${x} ${y}`));
		me.x = Number(r.x);
		me.y = Number(r.y);
	} catch (e) {
		status(`move: ${e.message}`, true);
	}
}

async function login(name) {
	const r = parseReply(await client.request(LOGIN, name));
	me = { name: r.name, x: Number(r.x), y: Number(r.y) };
	status(`Logged in as ${me.name} (login ${r.logins}, on ${r.node}).`);
	enable("enter", true);
	if (r.room)  // the room of the last session
		$("room").value = r.room;
}

async function enter(name) {
	const r = parseReply(await client.request(ENTER, name));
	room = r.room;
	players = new Map();
	listPlayers();
	status(`${me.name} entered room ${room}: ${r.members} players there.`);
	enable("chat", true);
	await move(me.x, me.y);  // so that the others see us
}

// The connection came back (the SDK reconnects): the gate forgot us.
async function rejoin() {
	if (!me)
		return;  // not logged in yet: the login form is still there
	try {
		await login(me.name);
		if (room)
			await enter(room);
	} catch (e) {
		status(`log in again: ${e.message}`, true);
	}
}

function listen(c) {
	c.on(MOVED, onMoved);
	c.on(SAID, (body) => say(decodeText(body)));
	c.on(CHAT, (body) => status(`chat: ${decodeText(body)}`, true));
	c.on(DEFAULT_ERROR_COMMAND, (body) =>
		status(`server: ${decodeErrorBody(body)?.text}`, true));
	c.on("close", (why) => {
		status(`Connection lost (${why}); reconnecting...`, true);
		enable("chat", false);
	});
	c.on("open", rejoin);
}

async function onLogin(e) {
	e.preventDefault();
	enable("login", false);
	try {
		if (!client) {
			status(`Connecting to ${url}...`);
			client = await connect(url);
			listen(client);
		}
		await login($("name").value);
	} catch (err) {
		status(`Log in: ${err.message}`, true);
		enable("login", true);
	}
}

async function onEnter(e) {
	e.preventDefault();
	try {
		await enter($("room").value);
	} catch (err) {
		status(`Enter: ${err.message}`, true);
	}
}

function onChat(e) {
	e.preventDefault();
	try {
		client.send(CHAT, $("line").value);  // answered only by SAID
		$("line").value = "";
	} catch (err) {
		status(`Chat: ${err.message}`, true);
	}
}

const STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1],
	ArrowDown: [0, 1] };

function onKey(e) {
	const step = STEPS[e.key];
	if (!step || !me)
		return;
	e.preventDefault();
	move(me.x + step[0], me.y + step[1]);
}

function onClick(e) {
	if (!me)
		return;
	move(Math.floor(e.offsetX / CELL), Math.floor(e.offsetY / CELL));
}

$("login").addEventListener("submit", onLogin);
$("enter").addEventListener("submit", onEnter);
$("chat").addEventListener("submit", onChat);
$("map").addEventListener("keydown", onKey);
$("map").addEventListener("click", onClick);
draw();

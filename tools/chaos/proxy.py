"""proxy.py: the fault proxy that sits on a node's harbor address and
forwards to where the node really listens (harbor_listen). Every harbor
link dialed to that node goes through it, so it can hurt them: delay each
chunk, cut every connection at once, stall (stop forwarding without
closing) and refuse new connections. All proxies run in one asyncio loop
on a thread of their own; the harness drives them from its main thread
through the thread-safe methods of Proxies."""

import asyncio
import socket
import threading
import time

CHUNK = 65536
# Chunks read ahead of what the other side has taken: bounded, so that a
# node that stops reading pushes back on its peer as a real path would.
AHEAD = 256


class _Link:
    """One client connection and its connection to the node."""

    def __init__(self, writers):
        self.writers = writers

    def abort(self):
        for w in self.writers:
            w.transport.abort()  # RST: a cut, not a clean close


class Proxy:
    """Forwards 127.0.0.1:listen to 127.0.0.1:target, with faults."""

    def __init__(self, name, listen, target):
        self.name, self.listen, self.target = name, listen, target
        self.delay = 0.0       # seconds added to each chunk
        self.refusing = False  # new connections are reset at once
        self.flowing = None    # an asyncio.Event; cleared while stalled
        self.links = set()
        self.server = None

    async def start(self):
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.listen, reuse_address=True)

    async def _accept(self, reader, writer):
        if self.refusing:
            writer.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1",
                                                       self.target)
        except OSError:
            writer.transport.abort()  # the node is down: so is its proxy
            return
        for w in (writer, up_w):
            w.get_extra_info("socket").setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link((writer, up_w))
        self.links.add(link)
        try:
            await asyncio.gather(self._pump(reader, up_w),
                                 self._pump(up_r, writer))
        finally:
            self.links.discard(link)
            link.abort()

    async def _pump(self, reader, writer):
        """One direction: a reader task and a writer that honours the
        delay each chunk was read under, so that order is kept. At the
        end of what the reader sends, what is on its way is delivered
        first; a reset drops it."""
        queue = asyncio.Queue(AHEAD)
        sender = asyncio.ensure_future(self._send(queue, writer))
        try:
            while True:
                await self.flowing.wait()  # stalled: TCP pushes back
                data = await reader.read(CHUNK)
                if not data:
                    break
                await queue.put((time.monotonic() + self.delay, data))
            await queue.put((0, b""))
            await sender
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _send(self, queue, writer):
        while True:
            due, data = await queue.get()
            if not data:
                return
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.flowing.wait()
            if writer.transport.is_closing():
                return
            writer.write(data)
            await writer.drain()

    def cut(self):
        for link in list(self.links):
            link.abort()

    def stall(self, on):
        if on:
            self.flowing.clear()
        else:
            self.flowing.set()


class Proxies:
    """Every node's proxy, on one event loop thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever,
                                       daemon=True)
        self.thread.start()
        self.by_node = {}

    def _run(self, fn, *args):
        """Runs fn(*args) on the loop's thread and returns its result."""
        async def call():
            r = fn(*args)
            return await r if asyncio.iscoroutine(r) else r
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)

    def add(self, node, listen, target):
        p = Proxy(node, listen, target)
        self._run(p.start)
        self.by_node[node] = p

    def delay(self, node, seconds):
        self._run(setattr, self.by_node[node], "delay", seconds)

    def refuse(self, node, on):
        self._run(setattr, self.by_node[node], "refusing", on)

    def stall(self, node, on):
        self._run(self.by_node[node].stall, on)

    def cut(self, node):
        self._run(self.by_node[node].cut)

    def close(self):
        async def shut():
            for p in self.by_node.values():
                p.server.close()
                p.cut()
        try:
            self._run(shut)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)

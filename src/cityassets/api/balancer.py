"""cityassets.api.balancer: N uvicorn workers, each new connection handed to the next one in turn.

`uvicorn --workers N` shares one listening socket, and whichever worker wakes first accepts every
pending connection (its accept loop drains the backlog). A client's keep-alive connections then
land unevenly: wrk's 16 were split 16/0, 13/3 and 11/5 across 2 workers in repeated runs, and the
requests on the crowded worker waited 2-4x longer than the others (docs/benchmarks.md, OGC faces).
Node's cluster module answers the same problem the same way: one acceptor hands each connection to
the next worker over a Unix socket (SCM_RIGHTS); the workers run the unchanged app on it.

    python -m cityassets.api.balancer --port 8000 --workers 2 [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import selectors
import signal
import socket
from dataclasses import dataclass
from typing import Any

import uvicorn

log = logging.getLogger("cityassets")

APP = "cityassets.api.app:create_app"


class _FedServer(uvicorn.Server):
    """A uvicorn server without a listener of its own: it serves the connections its inbox delivers."""

    def __init__(self, config: uvicorn.Config, inbox: socket.socket) -> None:
        super().__init__(config)
        self.inbox = inbox
        # The loop keeps only weak references to tasks: hold each handover until it is done.
        self._handovers: set[asyncio.Task[object]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # lifespan startup, no listening socket
        if self.should_exit:
            return
        self.inbox.setblocking(False)
        asyncio.get_running_loop().add_reader(self.inbox.fileno(), self._receive)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self.inbox.fileno())
        await super().shutdown(sockets=sockets)

    def _protocol(self, _loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
        # What uvicorn.Server.startup builds for its own listeners.
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state, _loop=_loop)

    def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.inbox, 64, 64)
            except BlockingIOError:
                return
            if not msg and not fds:  # the acceptor is gone: finish what is in flight and stop
                loop.remove_reader(self.inbox.fileno())
                self.should_exit = True
                return
            for fd in fds:
                task = loop.create_task(loop.connect_accepted_socket(self._protocol, socket.socket(fileno=fd)))
                self._handovers.add(task)
                task.add_done_callback(self._handovers.discard)


def _worker(config_kwargs: dict[str, Any], inbox: socket.socket) -> None:
    _FedServer(uvicorn.Config(**config_kwargs), inbox).run()


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    feed: socket.socket


class Balancer:
    """The acceptor: owns the listening socket and the workers, restarts a worker that dies."""

    def __init__(self, config_kwargs: dict[str, Any], workers: int) -> None:
        self.config_kwargs = config_kwargs
        self.count = workers
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.stopping = False
        self.turn = 0

    def _start(self) -> _Worker:
        feed, inbox = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        process = self.ctx.Process(target=_worker, args=(self.config_kwargs, inbox), daemon=False)
        process.start()
        inbox.close()
        return _Worker(process, feed)

    def _hand_over(self, conn: socket.socket) -> None:
        # Round robin over the live workers; a worker whose feed is broken is replaced.
        for _ in range(len(self.workers)):
            i = self.turn % len(self.workers)
            self.turn += 1
            w = self.workers[i]
            try:
                socket.send_fds(w.feed, [b"c"], [conn.fileno()])
                return
            except OSError:
                self._replace(i)
        log.error("no worker took connection %s", conn.getpeername())

    def _replace(self, i: int) -> None:
        old = self.workers[i]
        old.feed.close()
        if old.process.is_alive():
            old.process.kill()
        old.process.join(5)
        self.workers[i] = self._start()

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        config = uvicorn.Config(**self.config_kwargs)
        listener = config.bind_socket()
        listener.listen(config.backlog)
        listener.setblocking(False)
        self.workers = [self._start() for _ in range(self.count)]
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ)
        try:
            while not self.stopping:
                if sel.select(timeout=0.5):
                    self._accept(listener)
                for i, w in enumerate(self.workers):
                    if not w.process.is_alive() and not self.stopping:
                        log.error("worker %s exited with %s; restarting it", w.process.pid, w.process.exitcode)
                        self._replace(i)
        finally:
            listener.close()
            for w in self.workers:
                w.feed.close()  # EOF on the inbox: the worker drains its connections and exits
                w.process.terminate()
            for w in self.workers:
                w.process.join(config.timeout_graceful_shutdown or 30)
                if w.process.is_alive():
                    w.process.kill()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            with conn:
                # Small JSON responses must not wait for the client's delayed ACK (Nagle).
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._hand_over(conn)


def serve(host: str, port: int, workers: int, **uvicorn_kwargs: Any) -> None:
    """Serve the app: one plain uvicorn process, or the acceptor feeding `workers` of them."""
    kwargs: dict[str, Any] = {"app": APP, "factory": True, "host": host, "port": port, **uvicorn_kwargs}
    if workers <= 1:
        uvicorn.run(**kwargs)
    else:
        Balancer(kwargs, workers).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper())
    serve(args.host, args.port, args.workers, log_level=args.log_level)


if __name__ == "__main__":
    main()

"""Serving the application with uvicorn: alone (``energimon web``) or inside the daemon (``energimon run``
with ``[web] enabled = true``) and the demo."""

from __future__ import annotations

import contextlib
import logging

import uvicorn

log = logging.getLogger("energimon.web")


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (the daemon stops it with ``should_exit``)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield

    async def serve(self, sockets=None) -> None:
        # uvicorn ends a failed start (port taken, bad address) with sys.exit(1): inside the daemon that
        # would stop everything, so it ends only this server
        try:
            await super().serve(sockets)
        except SystemExit as exc:
            log.error("web application: uvicorn could not start (exit %s)", exc.code)


def uvicorn_config(app, web, *, port: int | None = None) -> uvicorn.Config:
    # proxy_headers: X-Forwarded-For/-Proto from the reverse proxies listed in forwarded_allow_ips set the
    # client address (login rate limiting) and the scheme (https URLs); root_path: the proxy's path prefix.
    return uvicorn.Config(app, host=web.host, port=web.port if port is None else port, root_path=web.root_path,
                          proxy_headers=True, forwarded_allow_ips=web.forwarded_allow_ips, log_config=None,
                          access_log=False, server_header=False, lifespan="on")


async def serve_embedded(app, web, stop, *, port: int | None = None, started=None) -> bool:
    """Serve until ``stop`` (an asyncio.Event) is set; ``started(server)`` is called once it listens.
    False when it could not start (e.g. the port is taken; uvicorn logs why) — the daemon goes on without it."""
    import asyncio

    server = EmbeddedServer(uvicorn_config(app, web, port=port))
    task = asyncio.create_task(server.serve(), name="web")
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():  # the port is taken, say: uvicorn logged why; the daemon goes on without the web app
        with contextlib.suppress(BaseException):
            task.result()
        log.error("web application not started on %s:%s", web.host, web.port if port is None else port)
        return False
    log.info("web application on http://%s:%d%s", web.host, bound_port(server), web.root_path)
    if started is not None:
        started(server)
    await stop.wait()
    server.should_exit = True
    await task
    return True


def bound_port(server: uvicorn.Server) -> int:
    for s in server.servers:
        for sock in s.sockets:
            return sock.getsockname()[1]
    return server.config.port

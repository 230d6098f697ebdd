"""A small HTTP/1.1 keep-alive client on asyncio streams: one connection, one request at a time.

The same client drives Cordée and the baselines, so its own cost is the same in every line of
the report. Answers are read by ``Content-Length`` (every server here sends it) or chunks.
"""

from __future__ import annotations

import asyncio
import time


class Connection:
    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port, self.headers = port, headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()

    async def request(
        self, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> tuple[int, float]:
        """(status, seconds) of one request → response."""
        assert self.reader is not None and self.writer is not None  # noqa: S101  (opened first)
        headers = {"Host": f"127.0.0.1:{self.port}", **self.headers, **(extra or {})}
        if body or method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        started = time.perf_counter()
        self.writer.write(head.encode("latin-1") + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        return status, time.perf_counter() - started

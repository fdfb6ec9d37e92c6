#!/usr/bin/env python3
"""A fast webhook receiver for the benchmark: answers every POST 204 at
once, counts what it got, and checks nothing (the integration tests verify
the signatures).  Its own process, so that it does not share the bench's
interpreter; prints the count to stdout when it gets SIGTERM.

    receiver.py PORT
"""
import asyncio
import signal
import sys

RECEIVED = 0


async def serve(reader, writer):
    global RECEIVED
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            RECEIVED += 1
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with server:
        await stop
    print(RECEIVED, flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

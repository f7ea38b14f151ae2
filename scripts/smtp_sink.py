"""A test SMTP server: stores every message it receives as DIR/<n>.eml.

Usage: python smtp_sink.py PORT DIR   (prints "ready" once it listens)
"""
import asyncio
import pathlib
import sys

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = self.folder / f"{self.count:05d}.eml"
        path.with_suffix(".tmp").write_bytes(envelope.original_content)
        path.with_suffix(".tmp").rename(path)
        return "250 Message accepted"


def main() -> None:
    port, folder = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Store(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

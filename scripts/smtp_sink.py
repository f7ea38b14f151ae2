"""A test SMTP server: stores every message it receives as DIR/<n>.eml.

Like a receiving mail system it keeps one copy per Message-ID: a message sent again with a
Message-ID it already holds is accepted but not stored again, and its id is appended to
DIR/duplicates.txt, so tests can see how often a sender repeated itself.

Usage: python smtp_sink.py PORT DIR   (prints "ready" once it listens)
"""
import asyncio
import email.parser
import pathlib
import sys

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0
        self.seen = set()

    async def handle_DATA(self, server, session, envelope):
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.original_content)
        message_id = (headers.get("Message-ID") or "").strip()
        if message_id and message_id in self.seen:
            with open(self.folder / "duplicates.txt", "a") as log:
                log.write(message_id + "\n")
            return "250 Message accepted (already delivered)"
        if message_id:
            self.seen.add(message_id)
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

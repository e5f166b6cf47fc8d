#!/usr/bin/python3
"""A throwaway SMTP server for the test suite (started by scripts/mail-services).

Listens on a loopback address, accepts any sender and any recipient without authentication
(AUTH PLAIN/LOGIN with any credentials is accepted too, so a sender configured with a password
works), and delivers every message, once per RCPT TO, into the Maildir that the throwaway
Dovecot serves for that address: <maildir-root>/<rcpt lower-cased>/Maildir/{tmp,new,cur}.
A citizen `anna-<uuid>@buerger.example` can then log in to Dovecot and read what Verbund sent her.

Runs with Debian's python3-aiosmtpd (/usr/bin/python3). When started as root with --user, it
drops to that user right after binding, so the delivered files belong to the mail user.
"""

import argparse
import asyncio
import logging
import mailbox
import os
import pwd
import re
import signal
import sys

from aiosmtpd.smtp import SMTP, AuthResult

# local@domain, no path separators, no whitespace, no leading dot (no "..", no hidden dirs).
RCPT_RE = re.compile(r"^[^./\s@][^/\s@]*@[^./\s@][^/\s@]*$")

log = logging.getLogger("smtp-sink")


def mailbox_dir(root, rcpt):
    """The Maildir of a recipient address, or None when the address is not usable as a path."""
    addr = rcpt.strip().lower()
    if not RCPT_RE.match(addr) or ".." in addr:
        return None
    return os.path.join(root, addr, "Maildir")


class MaildirHandler:
    def __init__(self, root):
        self.root = root

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if mailbox_dir(self.root, address) is None:
            return "550 5.1.3 mailbox name not allowed by the test sink"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        body = envelope.original_content or envelope.content or b""
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        # Maildir files use bare LF; Dovecot converts back to CRLF when it serves them.
        body = body.replace(b"\r\n", b"\n")
        sender = envelope.mail_from or ""
        for rcpt in envelope.rcpt_tos:
            path = mailbox_dir(self.root, rcpt)
            if path is None:
                continue
            headers = (
                f"Return-Path: <{sender}>\nDelivered-To: {rcpt.strip().lower()}\n"
            ).encode("utf-8", "surrogateescape")
            try:
                # Maildir(create=True) makes only the last level; the home directory first.
                os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
                md = mailbox.Maildir(path, factory=None, create=True)
                key = md.add(headers + body)
            except OSError as exc:
                log.error("delivery to %s failed: %s", rcpt, exc)
                return "451 4.3.0 delivery failed"
            log.info("delivered from=<%s> to=<%s> key=%s bytes=%d", sender, rcpt, key, len(body))
        return "250 2.0.0 OK delivered"


def accept_any_login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)


def drop_privileges(user):
    if os.getuid() != 0 or not user:
        return
    pw = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = MaildirHandler(args.maildir_root)

    def factory():
        return SMTP(
            handler,
            hostname="smtp-sink.test",
            ident="Verbund test SMTP sink",
            enable_SMTPUTF8=True,
            decode_data=False,
            auth_required=False,
            auth_require_tls=False,
            authenticator=accept_any_login,
            timeout=60,
        )

    server = await loop.create_server(factory, host=args.host, port=args.port)
    drop_privileges(args.user)
    log.info("listening on %s:%d, delivering into %s", args.host, args.port, args.maildir_root)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()
    log.info("stopped")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir-root", required=True, help="directory holding <address>/Maildir")
    parser.add_argument("--user", help="when root: drop to this user after binding")
    parser.add_argument("--pid-file")
    args = parser.parse_args()

    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the test sink only listens on loopback")

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    if args.pid_file:
        with open(args.pid_file, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()

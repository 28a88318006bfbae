"""The folder transport: each mail becomes an ``.eml`` file in a folder instead of leaving the machine.

For the demo and a trial set-up (``[smtp] transport = "folder"``): the mails a facility manager would get can be
opened in any mail program (an ``.eml`` file is the RFC 5322 message as it would have gone to the server), and
the outbox, the digest and the one-click links work exactly as with SMTP.  A file is written under a temporary
name and renamed, so a reader never sees half a mail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import itertools
import os
import re
import threading
from pathlib import Path

from energimon.mail.settings import SmtpSettings
from energimon.mail.transport import MailError, Progress

_UNSAFE = re.compile(r"[^\w\-. ]+")
_counter = itertools.count(1)
_lock = threading.Lock()


def eml_name(subject: str, when: dt.datetime, n: int) -> str:
    """``20261207-140512-001 Sorø Rådhus · Hovedmåler - Måleren svarer ikke.eml``: sorted by time, readable,
    and safe on every file system (no ``/``, ``:`` or control characters; at most 120 characters)."""
    slug = " ".join(_UNSAFE.sub(" - ", subject.replace("[energimon]", "")).split()).strip(" -.")
    return f"{when:%Y%m%d-%H%M%S}-{n:03d} {slug[:90] or 'mail'}.eml"


class FolderTransport:
    def __init__(self, cfg: SmtpSettings):
        if cfg.folder is None:
            raise ValueError("transport 'folder' needs smtp.folder")
        self.cfg, self.folder = cfg, Path(cfg.folder)

    def describe(self) -> str:
        return self.cfg.describe()

    def send(self, recipients: list[str], message: bytes, progress: Progress | None = None) -> None:
        """Write ``message`` as one ``.eml`` file; :class:`MailError` (step ``send``) when the folder is not
        writable, so the outbox keeps the mail and tries again."""
        note = progress or (lambda step, detail: None)
        if not recipients:
            raise MailError("send", "no recipients", "give recipients (facility_managers, fallback_recipients)")
        subject = str(email.message_from_bytes(message, policy=email.policy.default).get("Subject", ""))
        with _lock:  # two mails in one second still get two files
            n = next(_counter)
        path = self.folder / eml_name(subject, dt.datetime.now(), n)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(message)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise MailError("send", f"cannot write the mail into {self.folder}: {exc.strerror or exc}",
                            "check smtp.folder and that the service user may write there") from None
        note("send", f"written to {path} (for {', '.join(recipients)})")

"""Building messages: the wire format, files as attachments, the test mail.

What a mail *says* belongs to its owner (alert texts to alerting, report texts to the reports); this
module only knows how a message is put together, so every mail looks and travels alike.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import mimetypes
from collections.abc import Sequence
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

TEST_TEXTS = {
    "da": ("[energimon] Testmail – æøå ÆØÅ",
           "Dette er en testmail fra energimon. Kommer den frem med æ, ø og å, virker mailopsætningen."),
    "en": ("[energimon] Test mail – æøå ÆØÅ",
           "This is a test mail from energimon. If it arrives with æ, ø and å, mail is set up correctly."),
}


def to_wire(msg: EmailMessage) -> bytes:
    """The message as SMTP wants it: CRLF line ends (smtplib does not fix bytes; a bare-LF message is one
    endless line to the server), and a Danish subject that reads back as it was written."""
    wire = msg.as_bytes(policy=email.policy.SMTP)
    subject = msg.get("Subject")
    if subject is None or str(subject).isascii():
        return wire
    return _reencode_subject(wire, str(subject))


def _reencode_subject(wire: bytes, subject: str) -> bytes:
    """Python's folder (3.11, 3.12) can end an encoded word just before a space and fold there; a reader then
    drops that space, as RFC 2047 §6.2 says it must ("Hovedmåler:Måleren"), and a long subject of a building
    and a meter with æøå is just what gets folded.  So the subject is written as encoded words that carry
    their spaces inside (``email.header.Header``: each at most 75 characters, RFC 2047 §2)."""
    head, sep, body = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out: list[bytes] = []
    skipping = False
    for line in lines:
        if skipping and line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the subject written below
        skipping = line.lower().startswith(b"subject:")
        if skipping:
            encoded = Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
            out.append(b"Subject: " + encoded.encode("ascii"))
        else:
            out.append(line)
    return b"\r\n".join(out) + sep + body


def content_type(path: Path) -> tuple[str, str]:
    """(maintype, subtype) of a file to attach; XLSX is not in every system's mime.types."""
    if path.suffix.lower() == ".xlsx":
        return XLSX_TYPE
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    return maintype, subtype


def new_message(sender: str, recipients: Sequence[str], subject: str, text: str, *,
                message_id: str | None = None, date: dt.datetime | None = None,
                files: Sequence[Path] = ()) -> EmailMessage:
    """A plain-text mail (UTF-8: æøå in subject, body and file names) with ``files`` attached."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(date or dt.datetime.now(tz=dt.UTC))
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(text, charset="utf-8")
    for path in files:
        maintype, subtype = content_type(path)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def render_testmail(sender: str, recipients: Sequence[str], lang: str = "da",
                 now: dt.datetime | None = None) -> EmailMessage:
    subject, body = TEST_TEXTS[lang]
    return new_message(sender, recipients, subject, body, date=now)

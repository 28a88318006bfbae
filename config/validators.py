"""Small checks shared by the settings models."""

from __future__ import annotations


def check_emails(addresses: list[str]) -> list[str]:
    """Refuse what cannot be an e-mail address (a full RFC 5322 check is the SMTP server's job)."""
    for addr in addresses:
        if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
            raise ValueError(f"{addr!r} is not an e-mail address")
    return addresses

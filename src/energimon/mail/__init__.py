"""Outgoing mail for alerts and reports alike: transport, durable outbox, message helpers.

* :mod:`~energimon.mail.settings` — ``[smtp]`` and its sub-tables (the config only assembles them);
* :mod:`~energimon.mail.transport` — one interface over plain SMTP (STARTTLS/TLS, password),
  SMTP ``AUTH XOAUTH2`` and Microsoft Graph ``sendMail``; :class:`~energimon.mail.transport.MailError`
  names the step that failed (token, connect, auth, send) and the setting to fix;
* :mod:`~energimon.mail.oauth` — access tokens by the client-credentials grant: Microsoft Entra ID
  through msal, or a generic token endpoint;
* :mod:`~energimon.mail.outbox` — the outbox table (its schema lives here, whichever SQLite file holds
  it), :func:`~energimon.mail.outbox.enqueue` inside the caller's transaction, delivery with back-off;
  :class:`~energimon.mail.outbox.MailDB` — the mail package's own file (report mails and the record of
  which report period went to whom);
* :mod:`~energimon.mail.render` — building messages (attachments, content types, the wire format);
* :mod:`~energimon.mail.service` — the daemon's :class:`~energimon.mail.service.Mailer` and its job;
* :mod:`~energimon.mail.status` — the ``mail:`` block of ``energimon status``;
* :mod:`~energimon.mail.cli` — ``energimon test-mail``.

Alert mails are queued in the alert state file (same outbox schema) so that an alert's state change and
its mail commit in one transaction; report mails go to ``mail.db``, so reports are mailed without
``[alerts]``.  Nothing here imports msal or matplotlib at import time.
"""

"""Alert e-mails to facility managers: lifecycle, outbox, SMTP, mail texts, scheduled jobs."""

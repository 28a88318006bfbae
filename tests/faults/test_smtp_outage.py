"""The SMTP server fails while alerts fire: every alert mail arrives after recovery, exactly once.

A real aiosmtpd (STARTTLS + AUTH) on loopback; the alert lifecycle and the outbox job of the daemon
(``AlertRunner.run_outbox``) in simulated time, one tick every 15 minutes.  The server fails in the
ways a mail relay does:

1. down (port closed) when the alerts fire — the mails wait in the state file, retried with back-off;
   the daemon restarts meanwhile (a new runner on the same state file);
2. up but answering ``451`` (temporary failure) to every message;
3. up, accepting each message and then dropping the connection before ``QUIT`` — the message *was*
   accepted, so it must not be sent again;
4. well again; the problems end and the "Løst" mails go out.

"Produced" is the mails queued in the outbox, "stored" the mails the SMTP server received; a mail is
identified by its Message-ID (stable per alert and kind).  Not covered: a server that takes a message
but dies before its ``250`` reaches us — the client cannot tell that from a failure, so that mail is
sent again (the outbox docstring says so; mail clients show one message per Message-ID).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from helpers.alert_mail import make_settings, night_finding
from mail_servers import SmtpServer, _Handler

from energimon.analytics.alerting import lifecycle
from energimon.analytics.alerting.jobs import AlertRunner
from energimon.analytics.alerting.mail import recipients_for, render_alert
from faults.harness import Tally, assert_exact, tally

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
TICK = dt.timedelta(minutes=15)
H = dt.timedelta(hours=1)


class FlakyHandler(_Handler):
    """Keeps every message it accepts; ``mode`` decides what the server does with the next one."""

    mode = "ok"  # ok | tempfail | drop_after_accept
    quits = 0

    async def handle_QUIT(self, server, session, envelope):
        self.quits += 1
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "tempfail":
            return "451 4.3.0 Mail server temporarily unavailable, try again later"
        status = await super().handle_DATA(server, session, envelope)
        if self.mode == "drop_after_accept":
            # the 250 goes out (buffered before the close), then the connection is gone: QUIT fails
            asyncio.get_running_loop().call_soon(server.transport.close)
        return status


def findings(k: int) -> list:
    """``k`` problems at once: night load on k meters of the town hall, and one at the library (whose
    mail goes to the fallback recipients)."""
    base = night_finding()
    out = [dataclasses.replace(base, device=f"undermaaler-{i}") for i in range(k - 1)]
    return [*out, dataclasses.replace(base, site="dianalund-bibliotek", device="hovedmaaler")]


@dataclass
class Outcome:
    tally: Tally
    received_during_outage: int
    dropped: tuple[int, int]  # (accepted, QUITs seen) while the server dropped connections after accepting
    errors_seen: set[str]
    attempts_first: int
    subjects: list[str]
    unsent: int


def message_id(raw: bytes) -> str:
    import email

    return email.message_from_bytes(raw)["Message-ID"]


def run_smtp_outage(workdir: Path, *, problems: int = 4, down_h: float = 2, tempfail_h: float = 1,
                    drop_h: float = 1, restarts: int = 1) -> Outcome:
    smtp = SmtpServer(workdir)
    smtp.handler = handler = FlakyHandler(smtp)
    settings = make_settings(smtp.settings_dict(), workdir, pending_min=60, reminder_h=24, resolve_after_min=120)
    cfg = settings.alerts
    runner = AlertRunner(settings, store_factory=lambda: None)
    errors: set[str] = set()

    def render(kind, row, f):
        f = f or lifecycle.finding_from_json(row["finding"])
        return [(recipients_for(settings, f.site), render_alert(kind, row, f, settings))]

    def run(start: dt.datetime, end: dt.datetime, current: list) -> None:
        t = start
        while t < end:
            lifecycle.step(runner.db, cfg, current, t, render)
            runner.run_outbox(t)
            for (e,) in runner.db.conn.execute("SELECT last_error FROM outbox WHERE last_error IS NOT NULL"):
                errors.add(e)
            t += TICK

    problem = findings(problems)
    t = T0
    try:
        # 1. down: the alerts fire at T0 + 60 min with the port closed; the daemon restarts during the outage
        for i in range(restarts + 1):
            run(t, t + down_h * H / (restarts + 1), problem)
            t += down_h * H / (restarts + 1)
            if i < restarts:
                runner.close()
                runner = AlertRunner(settings, store_factory=lambda: None)
        received_during_outage = len(smtp.messages)
        attempts_first = runner.db.conn.execute("SELECT attempts FROM outbox ORDER BY id LIMIT 1").fetchone()[0]
        # 2. up, but every message refused for now
        smtp.start()
        handler.mode = "tempfail"
        run(t, t + tempfail_h * H, problem)
        t += tempfail_h * H
        received_during_outage += len(smtp.messages)
        # 3. accepts, then drops the connection before QUIT
        handler.mode = "drop_after_accept"
        before, quits = len(smtp.messages), handler.quits
        run(t, t + drop_h * H, problem)
        t += drop_h * H
        dropped = (len(smtp.messages) - before, handler.quits - quits)
        # 4. well again; the problems end: resolved after 120 minutes without them
        handler.mode = "ok"
        run(t, t + 4 * H, [])
        smtp.wait(0)
        rows = runner.db.conn.execute("SELECT message, sent_at FROM outbox ORDER BY id").fetchall()
        produced = {message_id(bytes(r["message"])): True for r in rows}
        unsent = sum(r["sent_at"] is None for r in rows)
    finally:
        runner.close()
        smtp.stop()
    received = [(m["Message-ID"], True) for _, m in smtp.messages]
    return Outcome(tally("smtp down during alerts (mails)", produced, received, identity=lambda k, v: k),
                   received_during_outage, dropped, errors, attempts_first, [m["Subject"] for _, m in smtp.messages],
                   unsent)


def test_smtp_down_refusing_and_dropping_delays_alert_mails_but_delivers_each_once(tmp_path, fault_table):
    out = run_smtp_outage(tmp_path)
    t = fault_table.add(out.tally)
    assert t.produced == 8  # a new mail and a resolved mail for each of the 4 problems
    assert_exact(t)
    assert out.unsent == 0
    assert out.received_during_outage == 0  # nothing got through while the server was down or refusing
    assert out.dropped == (4, 0)  # the new mails went out while the server hung up before QUIT: not sent again
    # back-off while down: the first mail was tried about once a tick, not once per queued mail
    assert 2 <= out.attempts_first <= 5, out.attempts_first
    assert any("cannot reach SMTP server" in e for e in out.errors_seen)
    assert any("451" in e for e in out.errors_seen)
    # one subject per alert: the three sub-meters of Sorø Rådhus are told apart by their meter
    meters = [("Sorø Rådhus", f"undermaaler-{i}") for i in range(3)] + [("Dianalund Bibliotek", "hovedmaaler")]
    assert sorted(out.subjects) == sorted(
        [f"[energimon] {site} · {meter}: Højt natforbrug – ca. 120 kr./dag" for site, meter in meters]
        + [f"[energimon] Løst: {site} · {meter}: Højt natforbrug" for site, meter in meters])

"""The MQTT collector: a paho-mqtt client in its own thread feeding the asyncio daemon.

Loses nothing, by construction:

* QoS 1 subscriptions on a **persistent session** under a fixed client id
  (MQTT 3.1.1 ``clean_session=False``; MQTT 5 ``clean_start=False`` plus a
  session expiry): while energimon is down or disconnected, the broker queues
  our messages.
* **Manual acknowledgement**: paho's network loop (``loop_start`` thread)
  hands each message to the event loop with ``call_soon_threadsafe``; a batch
  is parsed and committed to the spool in a worker thread, and only then is
  each message acknowledged (``client.ack(mid, qos)``), in the order received.
  A message that could not be read is acknowledged only after it is stored in
  the dead-letter table.  A crash before the commit: the broker redelivers.
* **Back-pressure**: when the spool is full (:class:`SpoolFull`), the batch is
  retried with back-off and nothing is acknowledged; the broker stops sending
  once its in-flight window is full and keeps the rest queued.
* Acks go back only on the connection a message arrived on.  Messages received
  on a connection that has since dropped are not processed: the broker
  redelivers them on the new one (so a message is never acknowledged twice, and
  a stale packet id never acknowledges a newer message).

Exactly-once in the store follows from the store's idempotence when payloads
carry their own time (``json`` with ``time_path``, Shelly NotifyStatus,
Tasmota ``Time``, Zigbee2MQTT ``last_seen``); a redelivery with another value at
the same time is refused, never replacing the stored one. Payloads without a time
are stamped from the receive time, strictly increasing per series (every message
of a burst stays a reading of its own); if energimon dies in the instant between
the spool commit and the acknowledgement, such a message is redelivered and stored
a second time with a later stamp (at-least-once).

A reconnect without the session (``session present: False``) after we had one is a
WARNING naming the broker and the time since which messages may be lost. The
connection's state goes to a small file for ``energimon status``
(:mod:`energimon.collector.mqtt.state`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from energimon.collector.mqtt.routing import Message, Outcome, Router
from energimon.collector.mqtt.settings import MqttSettings
from energimon.collector.mqtt.state import WRITE_EVERY_S, BrokerStateFile
from energimon.model import CHANNELS, LOCAL_TZ, Reading
from energimon.stamps import Stamper
from energimon.store.spool import Spool, SpoolFull

log = logging.getLogger("energimon.collector.mqtt")

SPOOL_FULL_MAX_BACKOFF_S = 30.0
CONNECT_ERROR_RELOG_S = 600.0


class _Client(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed (TLS, refused, DNS …)."""

    last_connect_error: BaseException | None = None

    def reconnect(self) -> mqtt.MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_connect_error = exc
            raise


@dataclass
class BadInputLog:
    """Counts bad input per topic; logs a topic at most once per interval (no log floods)."""

    interval_s: float
    counts: dict[str, int] = field(default_factory=dict)
    _last_logged: dict[str, float] = field(default_factory=dict)
    _since_logged: dict[str, int] = field(default_factory=dict)

    MAX_TOPICS = 10_000  # distinct bad topics counted one by one; beyond: under OTHER

    OTHER = "(other topics)"

    def record(self, topic: str, reason: str) -> None:
        if topic not in self.counts and len(self.counts) >= self.MAX_TOPICS:
            topic = self.OTHER
        self.counts[topic] = self.counts.get(topic, 0) + 1
        self._since_logged[topic] = self._since_logged.get(topic, 0) + 1
        now = time.monotonic()
        last = self._last_logged.get(topic)
        if last is None or now - last >= self.interval_s:
            n = self._since_logged.pop(topic)
            self._last_logged[topic] = now
            more = f" ({n} bad messages on this topic since the last report)" if n > 1 else ""
            log.warning("bad input on %s kept as dead letter: %s%s", topic, _short(reason), more)
        if len(self._last_logged) > 10_000:  # many distinct bad topics: keep memory bounded
            self._last_logged.clear()


@dataclass
class MqttStats:
    received: int = 0
    acked: int = 0
    readings: int = 0
    dead_letters: int = 0
    retained_skipped: int = 0
    connects: int = 0
    sessions_lost: int = 0  # reconnects where the broker no longer had our session
    subacks: int = 0  # subscription answers from the broker
    connect_failures: int = 0
    spool_full: int = 0
    redelivery_pending: int = 0  # dropped after a reconnect; the broker sends them again
    largest_batch: int = 0  # messages in the largest spool commit so far
    published: int = 0  # normalised readings and alert events published (mqtt.publish)
    publish_dropped: int = 0  # not published: the client's queue was full (broker unreachable too long)


class MqttCollector:
    def __init__(
        self,
        settings: MqttSettings,
        sites: Iterable[str],
        spool: Spool,
        on_commit: Callable[[int], None] | None = None,
        stamper: Stamper | None = None,
        state_path: Path | None = None,
    ):
        self.settings = settings
        self.stamper = stamper or Stamper()
        self.router = Router(settings.subscriptions, sites, settings.max_payload_bytes, self.stamper)
        self.spool = spool
        self.on_commit = on_commit
        self.source = f"mqtt:{settings.host}"
        self.stats = MqttStats()
        self.bad_input = BadInputLog(settings.bad_input_log_interval_s)
        self.connected = False
        self.subscribed = False  # the broker granted our subscriptions on the current connection
        self.last_error: str | None = None
        self._generation = 0
        self._gen_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Network thread -> event loop: a deque plus one wake-up per burst (not one per message).
        self._inbox: collections.deque[Message] = collections.deque()
        self._arrived: asyncio.Event | None = None
        self._signalled = False
        self._client: _Client | None = None
        self._error_logged: tuple[str, float] | None = None
        self._stopping = False
        self.state = BrokerStateFile(state_path, self._where(), settings.client_id)
        # had a session at this broker before (this run, or an earlier one per the state file): a connection
        # without one then means the broker lost or dropped it, not that this is our first visit
        previous = self.state.previous or {}
        self._had_session = previous.get("client_id") == settings.client_id and previous.get("since_ms") is not None
        # since when a lost session would have lost messages: when the previous run disconnected (or, killed while
        # connected, when it last wrote its state)
        self._lost_since_ms: int | None = (previous.get("updated_ms") if previous.get("connected")
                                           else previous.get("since_ms"))

    # -- paho side (network thread) ---------------------------------------------------------
    def _make_client(self) -> _Client:
        s = self.settings
        v5 = s.protocol == "5"
        if v5:
            client = _Client(CallbackAPIVersion.VERSION2, client_id=s.client_id,
                             protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True)
        else:
            client = _Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, clean_session=False,
                             protocol=MQTTProtocolVersion.MQTTv311, manual_ack=True)
        if s.username is not None:
            client.username_pw_set(s.username, s.password.get_secret_value() if s.password else None)
        if s.tls is not None:
            client.tls_set(
                ca_certs=str(s.tls.ca_file) if s.tls.ca_file else None,
                certfile=str(s.tls.cert_file) if s.tls.cert_file else None,
                keyfile=str(s.tls.key_file) if s.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)  # type: ignore[arg-type]
        if s.publish.enabled:
            client.max_queued_messages_set(s.publish.max_queued)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        try:
            if reason_code.is_failure:
                self.stats.connect_failures += 1
                hint = ""
                if reason_code.value in (0x04, 0x05, 0x86, 0x87):
                    hint = " (check mqtt.username and the password)"
                self._connect_error(f"broker {self._where()} refused the connection: {reason_code}{hint}")
                return
            with self._gen_lock:
                self._generation += 1
            self.subscribed = False
            self.connected = True
            self.stats.connects += 1
            self.last_error = None
            self._error_logged = None
            session = bool(flags.session_present)
            lost = not session and self._had_session
            log.info("connected to %s (client id %s, session present: %s); subscribing to %s",
                     self._where(), self.settings.client_id, session, ", ".join(self.router.filters))
            if lost:
                self.stats.sessions_lost += 1
                since = f" since {_local(self._lost_since_ms)}" if self._lost_since_ms else ""
                log.warning("broker %s had no session for client id %s (session present: False): messages published "
                            "to %s while energimon was not connected%s were not queued for it and may be lost (the "
                            "broker restarted without persistence, or the session expired or was taken by another "
                            "client with this id)", self._where(), self.settings.client_id,
                            ", ".join(self.router.filters), since)
            elif not session:
                log.info("first connection to %s with client id %s: the broker starts a new session for it",
                         self._where(), self.settings.client_id)
            self._had_session = True
            self.state.update(connected=True, session_present=session, session_lost=lost, since_ms=_now_ms(),
                              last_error=None, stopped=False)
            if self.settings.protocol == "5":
                # retainHandling=1: retained messages only for a new subscription, not on every reconnect
                client.subscribe([(f, SubscribeOptions(qos=1, retainHandling=1)) for f in self.router.filters])
            else:
                client.subscribe([(f, 1) for f in self.router.filters])
        except Exception:
            log.error("internal error in on_connect", exc_info=True)

    def _on_connect_fail(self, client, userdata) -> None:
        try:
            self.stats.connect_failures += 1
            exc = client.last_connect_error
            detail = f"{type(exc).__name__}: {exc}" if exc else "unknown error"
            self._connect_error(f"cannot connect to broker {self._where()}: {detail}; retrying with back-off")
        except Exception:
            log.error("internal error in on_connect_fail", exc_info=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        try:
            if self._stopping:
                log.info("disconnected from %s; the session stays at the broker", self._where())
            elif self.connected:
                log.warning("disconnected from %s (%s); unacknowledged messages stay at the broker, reconnecting",
                            self._where(), reason_code)
            if self.connected:
                self._lost_since_ms = _now_ms()
                self.state.update(connected=False, since_ms=self._lost_since_ms,
                                  last_error=None if self._stopping else f"disconnected: {reason_code}")
            self.connected = self.subscribed = False
        except Exception:
            log.error("internal error in on_disconnect", exc_info=True)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        try:
            ok = True
            for f, rc in zip(self.router.filters, reason_codes, strict=False):
                if rc.is_failure:
                    ok = False
                    log.error("broker refused the subscription to %s: %s (check the broker's ACL)", f, rc)
                elif rc.value < 1:
                    ok = False
                    log.error("broker granted only QoS %d for %s: messages can be lost", rc.value, f)
            self.stats.subacks += 1
            if ok:
                # from now on the broker queues every message for us (tests wait for this, not for a fixed time)
                self.subscribed = True
                log.info("subscribed to %s (QoS 1 granted)", ", ".join(self.router.filters))
        except Exception:
            log.error("internal error in on_subscribe", exc_info=True)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            try:
                topic = msg.topic
            except UnicodeDecodeError:
                topic = msg._topic.decode("utf-8", "backslashreplace")
            m = Message(msg.mid, msg.qos, topic, bytes(msg.payload), bool(msg.retain),
                        int(time.time() * 1000), self._generation)
            self._inbox.append(m)
            loop, arrived = self._loop, self._arrived
            if not self._signalled and loop is not None and arrived is not None:
                self._signalled = True
                loop.call_soon_threadsafe(arrived.set)
        except RuntimeError:
            pass  # the event loop is closing; the broker redelivers the unacknowledged message
        except Exception:
            log.error("internal error in on_message", exc_info=True)

    def _connect_error(self, text: str) -> None:
        self.last_error = text
        self.state.update(force=False, last_error=text)
        now = time.monotonic()
        if self._error_logged is None or self._error_logged[0] != text or now - self._error_logged[1] > \
                CONNECT_ERROR_RELOG_S:
            self._error_logged = (text, now)
            log.error("%s", text)

    def _where(self) -> str:
        tls = " (TLS)" if self.settings.tls is not None else ""
        return f"{self.settings.host}:{self.settings.effective_port}{tls}"

    # -- asyncio side -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._client = client = self._make_client()
        s = self.settings
        props = None
        clean_start: mqtt.CleanStartOption = mqtt.MQTT_CLEAN_START_FIRST_ONLY
        if s.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = s.session_expiry_s
            props.ReceiveMaximum = min(max(s.batch_max, 20), 65535)
            clean_start = False
        client.connect_async(s.host, s.effective_port, s.keepalive_s, clean_start=clean_start, properties=props)
        client.loop_start()
        keeper = asyncio.create_task(self._keep_state(stop), name="mqtt-state")
        try:
            await self._consume(stop)
        finally:
            keeper.cancel()
            self._arrived = None
            self._stopping = True
            with contextlib.suppress(Exception):
                client.disconnect()  # the session (and anything not acknowledged) stays at the broker
            await asyncio.to_thread(client.loop_stop)
            self.connected = False
            self.state.update(connected=False, since_ms=_now_ms(), stopped=True)

    async def _keep_state(self, stop: asyncio.Event) -> None:
        """The last message time for `energimon status`, written at most every few seconds (not per batch)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=WRITE_EVERY_S)
            await asyncio.to_thread(self.state.flush)

    async def _consume(self, stop: asyncio.Event) -> None:
        assert self._arrived is not None
        arrived, inbox = self._arrived, self._inbox
        stop_wait = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if not inbox:
                    wake = asyncio.ensure_future(arrived.wait())
                    await asyncio.wait({wake, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                    if not wake.done():
                        wake.cancel()
                        break
                arrived.clear()
                self._signalled = False  # before draining: a message appended from now on signals again
                batch: list[Message] = []
                while inbox and len(batch) < self.settings.batch_max:
                    batch.append(inbox.popleft())
                if batch:
                    await self._handle(batch, stop)
        finally:
            stop_wait.cancel()

    async def _handle(self, batch: list[Message], stop: asyncio.Event) -> None:
        self.stats.received += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        current = self._generation
        pending = [m for m in batch if m.generation == current]
        self.stats.redelivery_pending += len(batch) - len(pending)
        backoff = 1.0
        while pending:
            try:
                n, outcome = await asyncio.to_thread(self._commit_prefix, pending)
            except SpoolFull as exc:
                self.stats.spool_full += 1
                if backoff == 1.0:
                    log.error("%s; not acknowledging %d MQTT messages (they wait at the broker), retrying",
                              exc, len(pending))
            except Exception as exc:
                log.error("cannot commit %d MQTT messages to the spool (%s); not acknowledged, retrying",
                          len(pending), exc)
            else:
                self._ack(pending[:n], current)
                self._account(outcome)
                pending = pending[n:]
                backoff = 1.0
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            if stop.is_set():
                return  # not acknowledged: redelivered after the restart
            if self._generation != current:
                self.stats.redelivery_pending += len(pending)
                return  # reconnected meanwhile: the broker redelivers these on the new connection
            backoff = min(backoff * 2, SPOOL_FULL_MAX_BACKOFF_S)

    def _account(self, outcome: Outcome) -> None:
        self.stats.readings += len(outcome.readings)
        self.stats.dead_letters += len(outcome.dead_letters)
        self.stats.retained_skipped += outcome.retained_skipped
        for topic, _, reason in outcome.dead_letters:
            self.bad_input.record(topic, reason)
        if outcome.readings and self.on_commit is not None:
            self.on_commit(len(outcome.readings))
        if outcome.readings:
            self.publish_readings(outcome.readings)

    # -- optional publishing (mqtt.publish) -------------------------------------------------
    def publish_readings(self, readings: Iterable[Reading]) -> None:
        """Publish committed readings, normalised, to ``<prefix>/<site>/<device>/<channel>`` (if enabled)."""
        pub = self.settings.publish
        client = self._client
        if not (pub.enabled and pub.readings) or client is None:
            return
        for r in readings:
            payload = json.dumps({
                "value": r.value, "unit": CHANNELS[r.channel].unit, "ts": r.ts_ms,
                "time": datetime.fromtimestamp(r.ts_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z"),
                "site": r.site, "device": r.device, "channel": r.channel, "role": r.role,
            }, ensure_ascii=False)
            self._publish(client, f"{pub.topic_prefix}/{r.site}/{r.device}/{r.channel}", payload)

    def publish_alert(self, site: str, event: dict) -> None:
        """Publish an alert event (a JSON object) to ``<prefix>/alerts/<site>`` (if enabled)."""
        pub = self.settings.publish
        client = self._client
        if not (pub.enabled and pub.alerts) or client is None:
            return
        self._publish(client, f"{pub.topic_prefix}/alerts/{site}", json.dumps(event, ensure_ascii=False, default=str))

    def _publish(self, client: _Client, topic: str, payload: str) -> None:
        pub = self.settings.publish
        try:
            info = client.publish(topic, payload, qos=pub.qos, retain=pub.retain)
        except Exception as exc:  # publishing is best effort; ingest must go on
            self.stats.publish_dropped += 1
            log.debug("publish to %s failed: %s", topic, exc)
            return
        if info.rc == mqtt.MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self.stats.publish_dropped += 1
            if self.stats.publish_dropped in (1, 1000) or self.stats.publish_dropped % 100_000 == 0:
                log.warning("not publishing to %s: %d messages already wait for the broker "
                            "(%d dropped so far; the store keeps every reading)",
                            topic, pub.max_queued, self.stats.publish_dropped)
        else:
            self.stats.published += 1

    def _commit_prefix(self, messages: list[Message]) -> tuple[int, Outcome]:
        """Worker thread: parse, then commit the longest prefix of ``messages`` that fits in the spool.

        Readings and dead letters of those messages are committed; returns how many
        messages that was.  Raises :class:`SpoolFull` (nothing written) when not even
        the first one fits.
        """
        outcome = self.router.process(messages)
        room = self.spool.max_readings - self.spool.backlog()
        if len(outcome.readings) > room:
            # Full or nearly: take message by message, in order, while they fit.
            per_message = [self.router.process([m]) for m in messages]
            n, total = 0, 0
            for o in per_message:
                if total + len(o.readings) > room:
                    break
                total += len(o.readings)
                n += 1
            if n == 0:
                raise SpoolFull(f"spool {self.spool.path} is full ({self.spool.backlog()} of "
                                f"{self.spool.max_readings} readings)")
            messages = messages[:n]
            outcome = Outcome()
            for o in per_message[:n]:
                outcome.readings += o.readings
                outcome.dead_letters += o.dead_letters
                outcome.retained_skipped += o.retained_skipped
        if outcome.readings:
            stamps = self.stamper.pending()  # committed with the readings: no stamp is given twice across a restart
            self.spool.put(outcome.readings, self.source, stamps)
            self.stamper.committed(stamps)
        for topic, payload, reason in outcome.dead_letters:
            self.spool.dead_letter(self.source, topic, payload, reason)
        if messages:
            self.state.update(force=False, last_message_ms=messages[-1].received_ms,
                              messages=self.stats.received)
        return len(messages), outcome

    def _ack(self, messages: list[Message], generation: int) -> None:
        client = self._client
        if client is None:
            return
        for m in messages:
            if m.qos == 0:
                continue
            if self._generation != generation:
                self.stats.redelivery_pending += 1
                continue  # the connection changed: the broker redelivers and we ack that copy
            client.ack(m.mid, m.qos)
            self.stats.acked += 1


def _now_ms() -> int:
    return int(time.time() * 1000)


def _local(ms: int) -> str:
    """A time for a log line, in Danish local time (what the operator's clock shows)."""
    return datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S %Z")


def _short(text: str, n: int = 300) -> str:
    return text if len(text) <= n else text[:n] + "…"

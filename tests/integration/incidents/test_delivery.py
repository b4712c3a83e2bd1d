"""The delivery worker and the triggers over a real index with real peers on loopback: a webhook
receiver that verifies the signature (and OpenSSL computing it independently), aiosmtpd as the
district's relay (STARTTLS, login), mosquitto with passwords and an ACL carrying the MQTT
publish and the panic button's declarations; a down webhook retried with backoff while the
e-mail goes; a drill sends nothing; the door rule declares from a duress event."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.support.incident_peers import MailSink, WebhookReceiver, self_signed
from tests.support.mosquitto import Broker
from vigil.config import Config, parse_config
from vigil.config.live import LiveConfig
from vigil.core.door_events import DoorEventKind, IncomingDoorEvent
from vigil.core.incident_messages import canonical_json
from vigil.core.incidents import DeclaredVia, DeliveryEvent, DeliveryState, link_token
from vigil.core.webhook_auth import verify
from vigil.doors.alerts import AlertHub
from vigil.doors.service import DoorEventService
from vigil.incidents.workers import IncidentWorkers, incident_workers
from vigil.services import incidents
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv
from vigil.store.door_events import DoorStore
from vigil.store.incidents import DeliveryRow, Incidents
from vigil.store.index import Index

SECRET = "dispatch-secret-0123456789"
MQTT_USERS = {"vigil-incidents": "incidents-pw-1", "panic": "panic-pw-2"}
BASE = """
[storage]
path = "{data}"
[http]
listen = "127.0.0.1:0"
tls = false
public_url = "https://vigil.hs.example"
[appliance]
site_id = "springfield"
[[buildings]]
id = "hs"
name = "High School"
[[buildings]]
id = "ms"
name = "Middle School"
[[cameras]]
id = "hs-cam"
building = "hs"
url = "rtsp://127.0.0.1:1/hs"
[[cameras]]
id = "ms-cam"
building = "ms"
url = "rtsp://127.0.0.1:1/ms"
[[doors]]
id = "hs-main"
name = "Main entrance"
building = "hs"
cameras = ["hs-cam"]
access_points = [{{ source = "test", id = "reader-1" }}]
[incidents]
delivery_attempts = {attempts}
"""


def admin(now_ns: int | None = None) -> Caller:
    return Caller(None, Via.CLI, now_ns or time.time_ns(), name="cli:test")


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Daemonish:
    """The incidents part as app.py runs it, over a real index."""

    def __init__(self, tmp: Path, sections: str, attempts: int = 12) -> None:
        text = BASE.format(data=tmp / "data", attempts=attempts) + sections
        self.config: Config = parse_config(text, tmp / "vigil.toml")
        self.index = Index.open(self.config.storage.index_path, time.time_ns())
        self.env = ServiceEnv(LiveConfig(self.config), self.index)
        self.doors = DoorEventService(self.config, DoorStore(self.index), AlertHub(), b"k" * 32)
        self.workers: IncidentWorkers = incident_workers(self.env, self.doors)
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> Daemonish:
        self.tasks = [asyncio.create_task(coro, name=name) for name, coro in self.workers.tasks()]
        return self

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.workers.detach()
        self.env.close()
        self.index.close()

    def deliveries(self, incident_id: int, event: DeliveryEvent = DeliveryEvent.DECLARED) -> dict[str, DeliveryRow]:
        return {d.recipient: d for d in Incidents(self.index).deliveries(incident_id) if d.event is event}

    def states(self, incident_id: int, event: DeliveryEvent = DeliveryEvent.DECLARED) -> dict[str, DeliveryState]:
        return {d.recipient: d.state for d in Incidents(self.index).deliveries(incident_id) if d.event is event}

    def audit(self, action: str) -> list[tuple[str, dict[str, object]]]:
        return [(e.outcome, e.detail) for e in self.env.audit.entries() if e.action == action]


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    acl = tmp_path / "acl"
    acl.write_text("pattern readwrite test-probe/#\n"  # the test subscriber's probe
                   "user vigil-incidents\ntopic read site/panic\ntopic write site/incidents/#\n"
                   "user panic\ntopic write site/panic\n"
                   "user observer\ntopic read site/incidents/#\n")
    b = Broker(tmp_path, passwords={**MQTT_USERS, "observer": "observer-pw-3"}, extra=(f"acl_file {acl}",))
    b.start()
    yield b
    b.stop()


def webhook_section(url: str, timeout_s: float = 5.0) -> str:
    return (f'[[incidents.webhooks]]\nname = "dispatch"\nurl = "{url}"\nsecret = "{SECRET}"\n'
            f"timeout_s = {timeout_s}\n")


def mqtt_section(port: int, password: str = MQTT_USERS["vigil-incidents"]) -> str:
    return (f'[incidents.mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "vigil-incidents-test"\n'
            f'declare_topic = "site/panic"\npublish_topic = "site/incidents"\nusername = "vigil-incidents"\n'
            f'password = "{password}"\n')


def openssl_signature(secret: str, timestamp: str, body: bytes) -> str:
    out = subprocess.run(["openssl", "dgst", "-sha256", "-hmac", secret, "-r"], input=timestamp.encode() + b"." + body,
                         capture_output=True, check=True).stdout.decode()
    return "sha256=" + out.split()[0]


async def test_webhook_mail_and_mqtt_receive_the_declaration_and_the_end(tmp_path: Path, receiver: WebhookReceiver,
                                                                         broker: Broker) -> None:
    cert, key = self_signed(tmp_path)
    mail = MailSink(login=("vigil", "smtp-pw-4"), tls=(cert, key)).start()
    subscriber = broker.subscriber("site/incidents/#", user=("observer", "observer-pw-3")).ready()
    email = (f'[incidents.email]\nhost = "127.0.0.1"\nport = {mail.port}\nsender = "vigil@hs.example"\n'
             f'to = ["dispatch@county.example", "sms@gateway.example"]\nstarttls = true\nca_file = "{cert}"\n'
             f'username = "vigil"\npassword = "smtp-pw-4"\n')
    d = Daemonish(tmp_path, webhook_section(receiver.url) + email + mqtt_section(broker.port)).start()
    try:
        started = time.monotonic()
        row = (await incidents.declare(d.env, admin(), building="hs", cameras=[], reason="lockdown: intruder",
                                       via=DeclaredVia.CLI)).incident
        await until(lambda: set(d.states(row.id).values()) == {DeliveryState.DELIVERED}, 20, "three deliveries")
        assert set(d.states(row.id)) == {"webhook:dispatch", "mqtt", "email"}
        # The webhook: signed as our door webhook verifies, and as OpenSSL computes it.
        [got] = receiver.received
        verify(SECRET, got.headers["Vigil-Timestamp"], got.headers["Vigil-Signature"], got.body, time.time_ns(), 300)
        assert got.headers["Vigil-Signature"] == openssl_signature(SECRET, got.headers["Vigil-Timestamp"], got.body)
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers["Vigil-Delivery"] == str(d.deliveries(row.id)["webhook:dispatch"].id)
        token = link_token(d.env.link_key(), row.id)
        body = receiver.bodies()[0]
        assert body["type"] == "vigil.incident.declared" and body["incident"] == row.id
        assert body["building"] == {"id": "hs", "name": "High School"} and body["site"] == "springfield"
        assert body["link"] == f"https://vigil.hs.example/l/{token}" and body["drill"] is False
        assert body["declared_by"] == "cli:test" and body["reason"] == "lockdown: intruder"
        assert got.body == canonical_json(body)
        # MQTT: the same document on <publish_topic>/<building>.
        await until(lambda: bool(subscriber.received("site/incidents/hs")), 10, "the MQTT publish")
        assert subscriber.received("site/incidents/hs") == [got.body.decode()]
        # E-mail: through STARTTLS with the login, to every address, with the link.
        [(sender, to, message, authenticated)] = mail.messages
        assert (sender, to, authenticated) == ("vigil@hs.example", ["dispatch@county.example",
                                                                     "sms@gateway.example"], True)
        assert message["Subject"] == f"Incident declared at High School (#{row.id})"
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes) and f"https://vigil.hs.example/l/{token}" in payload.decode()
        assert time.monotonic() - started < 10
        outcomes = d.audit("incident.deliver")
        assert sorted(str(detail["recipient"]) for _, detail in outcomes) == ["email", "mqtt", "webhook:dispatch"]
        assert {o for o, _ in outcomes} == {"ok"} and all(detail["attempt"] == 1 for _, detail in outcomes)
        # Ending delivers `ended` to each, with the note and without the link.
        await incidents.end(d.env, admin(), row.id, "all clear, police on site")
        await until(lambda: set(d.states(row.id, DeliveryEvent.ENDED).values()) == {DeliveryState.DELIVERED}, 20,
                    "the ended deliveries")
        ended = receiver.bodies()[1]
        assert ended["type"] == "vigil.incident.ended" and ended["note"] == "all clear, police on site"
        assert "link" not in ended and ended["ended_at"] is not None
        assert mail.messages[1][2]["Subject"] == f"Incident ended at High School (#{row.id})"
        await until(lambda: len(subscriber.received("site/incidents/hs")) == 2, 10, "the ended publish")
        await asyncio.sleep(1.2)  # more than the worker's poll: nothing is sent twice
        assert len(d.audit("incident.deliver")) == 6 and len(receiver.received) == 2 and len(mail.messages) == 2
        assert len(subscriber.received("site/incidents/hs")) == 2
        text = "".join(str(detail) for _, detail in d.audit("incident.deliver"))
        assert SECRET not in text and "smtp-pw-4" not in text and MQTT_USERS["vigil-incidents"] not in text
    finally:
        subscriber.close()
        await d.stop()
        mail.stop()


async def test_a_down_webhook_is_retried_with_backoff_without_delaying_the_declaration_or_the_mail(
        tmp_path: Path, receiver: WebhookReceiver) -> None:
    mail = MailSink().start()
    receiver.status = 503
    email = (f'[incidents.email]\nhost = "127.0.0.1"\nport = {mail.port}\nsender = "v@hs.example"\n'
             'to = ["d@x.example"]\n')
    d = Daemonish(tmp_path, webhook_section(receiver.url) + email).start()
    try:
        started = time.monotonic()
        row = (await incidents.declare(d.env, admin(), building="hs", cameras=[], reason="forced entry",
                                       via=DeclaredVia.CLI)).incident
        assert time.monotonic() - started < 1.0, "the declaration does not wait for any recipient"
        await until(lambda: len(receiver.received) >= 3, 15, "three webhook attempts")
        states = d.states(row.id)
        assert states["email"] is DeliveryState.DELIVERED and len(mail.messages) == 1
        hook = d.deliveries(row.id)["webhook:dispatch"]
        assert hook.state is DeliveryState.PENDING and hook.attempts >= 2
        assert hook.last_error == "webhook dispatch: HTTP 503 Service Unavailable"
        gaps = [b.at_monotonic - a.at_monotonic for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
        assert gaps[0] >= 0.45 and gaps[1] >= 0.9, f"backoff grows: {gaps}"  # 0.5-1 s, then 1-2 s
        failed = [detail for outcome, detail in d.audit("incident.deliver") if outcome == "failed"]
        assert failed and failed[0]["recipient"] == "webhook:dispatch" and failed[0]["attempt"] == 1
        assert failed[0]["error"] == "webhook dispatch: HTTP 503 Service Unavailable"
        # Ended meanwhile: the e-mail says so at once; the webhook's `ended` waits for its `declared`.
        await incidents.end(d.env, admin(), row.id, "false alarm")
        await until(lambda: d.states(row.id, DeliveryEvent.ENDED)["email"] is DeliveryState.DELIVERED, 10,
                    "the ended mail")
        await asyncio.sleep(1.5)
        ended_hook = d.deliveries(row.id, DeliveryEvent.ENDED)["webhook:dispatch"]
        assert ended_hook.attempts == 0 and ended_hook.state is DeliveryState.PENDING
        # The receiver comes back: the next attempt delivers, with the same delivery id; then the end.
        receiver.status = 200
        await until(lambda: d.states(row.id, DeliveryEvent.ENDED)["webhook:dispatch"] is DeliveryState.DELIVERED, 15,
                    "the retry and the end")
        assert d.states(row.id)["webhook:dispatch"] is DeliveryState.DELIVERED
        declared_ids = {r.headers["Vigil-Delivery"] for r in receiver.received[:-1]}
        assert declared_ids == {str(d.deliveries(row.id)["webhook:dispatch"].id)}
        assert [b["type"] for b in receiver.bodies()[-2:]] == ["vigil.incident.declared", "vigil.incident.ended"]
        assert receiver.answered[-2:] == [200, 200]
        assert d.audit("incident.deliver")[-1][0] == "ok"
    finally:
        await d.stop()
        mail.stop()


async def test_a_webhook_that_does_not_answer_times_out_and_fails_for_good_after_the_attempts(
        tmp_path: Path, receiver: WebhookReceiver) -> None:
    receiver.hang_s = 3.0
    d = Daemonish(tmp_path, webhook_section(receiver.url, timeout_s=0.3), attempts=2).start()
    try:
        row = (await incidents.declare(d.env, admin(), building="hs", cameras=[], reason="duress",
                                       via=DeclaredVia.CLI)).incident
        await until(lambda: d.states(row.id)["webhook:dispatch"] is DeliveryState.FAILED, 15, "giving up")
        hook = d.deliveries(row.id)["webhook:dispatch"]
        assert hook.attempts == 2 and hook.next_attempt_wall_ns is None
        assert hook.last_error == "webhook dispatch: no answer within 0.3 s"
        assert [d["state"] for _, d in d.audit("incident.deliver")] == ["pending", "failed"]
    finally:
        await d.stop()


async def test_a_drill_sends_nothing(tmp_path: Path, receiver: WebhookReceiver, broker: Broker) -> None:
    subscriber = broker.subscriber("site/incidents/#", user=("observer", "observer-pw-3")).ready()
    d = Daemonish(tmp_path, webhook_section(receiver.url) + mqtt_section(broker.port)).start()
    try:
        await until(lambda: d.workers.mqtt is not None and d.workers.mqtt.connected.is_set(), 10, "mqtt")
        row = (await incidents.declare(d.env, admin(), building="hs", cameras=[], reason="lockdown drill",
                                       drill=True, via=DeclaredVia.CLI)).incident
        await incidents.end(d.env, admin(), row.id, "drill over")
        await asyncio.sleep(2.0)  # twice the worker's poll
        assert receiver.received == [] and subscriber.received("site/incidents/hs") == []
        assert {d.state for d in Incidents(d.index).deliveries(row.id)} == {DeliveryState.SKIPPED}
        assert d.audit("incident.deliver") == [] and d.workers.delivery.attempts_made == 0
    finally:
        subscriber.close()
        await d.stop()


async def test_the_panic_button_declares_over_mqtt_with_its_credentials(tmp_path: Path, broker: Broker) -> None:
    d = Daemonish(tmp_path, mqtt_section(broker.port)).start()
    try:
        mqtt, trigger = d.workers.mqtt, d.workers.mqtt_trigger
        assert mqtt is not None and trigger is not None
        await until(mqtt.connected.is_set, 10, "the incidents connection")
        panic = ("panic", MQTT_USERS["panic"])
        # Malformed and refused messages are counted and do not stop the connection.
        await asyncio.to_thread(broker.pub, "site/panic", "not json", user=panic)
        await asyncio.to_thread(broker.pub, "site/panic", '{"building": "nowhere", "reason": "x"}', user=panic)
        with pytest.raises(subprocess.CalledProcessError):  # a wrong password: the broker refuses the publisher
            await asyncio.to_thread(broker.pub, "site/panic", '{"building": "hs", "reason": "x"}',
                                    user=("panic", "wrong"))
        await asyncio.to_thread(broker.pub, "site/panic", '{"building": "hs", "reason": "panic button, gym"}',
                                user=panic)
        await until(lambda: trigger.declared == 1, 10, "the declaration")
        assert dict(trigger.failures.counts) == {"not_json": 1, "refused:NotFoundError": 1}
        [row] = Incidents(d.index).incidents()
        assert (row.building_id, row.reason, row.declared_via, row.declared_by) == (
            "hs", "panic button, gym", DeclaredVia.MQTT, "mqtt:vigil-incidents")
        # A second press joins the open incident.
        await asyncio.to_thread(broker.pub, "site/panic", '{"building": "hs", "reason": "second press"}', user=panic)
        await until(lambda: trigger.declared == 2, 10, "the join")
        [join] = Incidents(d.index).joins(row.id)
        assert (join.via, join.actor) == (DeclaredVia.MQTT, "mqtt:vigil-incidents")
    finally:
        await d.stop()


async def test_a_press_while_vigil_restarts_is_declared_after_it(tmp_path: Path, broker: Broker) -> None:
    """The incidents' connection keeps a persistent session: the broker holds the QoS 1 message."""
    first = Daemonish(tmp_path, mqtt_section(broker.port)).start()
    mqtt = first.workers.mqtt
    assert mqtt is not None
    await until(mqtt.connected.is_set, 10, "the first connection")
    await first.stop()
    await asyncio.to_thread(broker.pub, "site/panic", '{"building": "hs", "reason": "pressed during restart"}',
                            user=("panic", MQTT_USERS["panic"]))
    second = Daemonish(tmp_path, mqtt_section(broker.port)).start()
    try:
        trigger = second.workers.mqtt_trigger
        assert trigger is not None
        await until(lambda: trigger.declared == 1, 10, "the held message's declaration")
        [row] = Incidents(second.index).incidents()
        assert row.reason == "pressed during restart"
    finally:
        await second.stop()


async def test_wrong_incident_credentials_are_refused_by_the_broker(tmp_path: Path, broker: Broker) -> None:
    d = Daemonish(tmp_path, mqtt_section(broker.port, password="not-the-password")).start()
    try:
        mqtt = d.workers.mqtt
        assert mqtt is not None
        await until(lambda: mqtt.last_error is not None, 10, "a refused connection")
        assert not mqtt.connected.is_set() and "not-the-password" not in (mqtt.last_error or "")
        await asyncio.to_thread(broker.pub, "site/panic", '{"building": "hs", "reason": "x"}',
                                user=("panic", MQTT_USERS["panic"]))
        await asyncio.sleep(1.0)
        assert Incidents(d.index).incidents() == []
    finally:
        await d.stop()


DOOR_RULE = '[incidents.door_rule]\nenabled = true\nmin_severity = "critical"\nkinds = ["door_forced_open"]\n'


async def test_the_door_rule_declares_for_the_doors_building(tmp_path: Path) -> None:
    d = Daemonish(tmp_path, DOOR_RULE).start()
    try:
        now = time.time_ns()
        granted = IncomingDoorEvent("test", "e1", now, DoorEventKind.ACCESS_GRANTED, "reader-1")
        assert not (await d.doors.submit(granted, now)).flagged
        await asyncio.sleep(0.3)
        assert Incidents(d.index).incidents() == []
        duress = IncomingDoorEvent("test", "e2", now, DoorEventKind.DURESS, "reader-1", credential="1234567")
        await d.doors.submit(duress, time.time_ns())
        await until(lambda: d.workers.door_rule.declared == 1, 10, "the door rule")
        [row] = Incidents(d.index).incidents()
        assert (row.building_id, row.declared_via, row.declared_by, row.whole_building) == (
            "hs", DeclaredVia.DOOR_RULE, "door_rule", True)
        assert row.reason.startswith("door rule: ") and row.reason.endswith(" at Main entrance")
        forced = IncomingDoorEvent("test", "e3", now, DoorEventKind.DOOR_FORCED_OPEN, "reader-1")
        await d.doors.submit(forced, time.time_ns())
        await until(lambda: d.workers.door_rule.declared == 2, 10, "the join")
        [join] = Incidents(d.index).joins(row.id)
        assert join.reason == "door rule: door forced open at Main entrance"
    finally:
        await d.stop()


async def test_without_the_door_rule_nothing_is_declared_and_the_queue_is_bounded(tmp_path: Path) -> None:
    d = Daemonish(tmp_path, "")
    try:
        now = time.time_ns()
        await d.doors.submit(IncomingDoorEvent("test", "e1", now, DoorEventKind.DURESS, "reader-1"), now)
        assert d.workers.door_rule.queue.qsize() == 0 and Incidents(d.index).incidents() == []
    finally:
        await d.stop()
    (tmp_path / "b").mkdir()
    d = Daemonish(tmp_path / "b", DOOR_RULE)  # not started: nothing takes from the queue
    try:
        for i in range(130):
            now = time.time_ns()
            await d.doors.submit(IncomingDoorEvent("test", f"g{i}", now, DoorEventKind.ACCESS_GRANTED,
                                                   "reader-1"), now)
        assert d.workers.door_rule.queue.qsize() == 100 and d.workers.door_rule.dropped == 30
    finally:
        await d.stop()


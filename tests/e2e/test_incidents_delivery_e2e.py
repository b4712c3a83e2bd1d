"""Incident deliveries and triggers against the running daemon: a declaration over the API reaches
the dispatch webhook (signed), the MQTT broker and the SMTP relay, and the delivered link opens;
a panic button's MQTT message declares; a delivery pending when the daemon stops is delivered
after the restart, with the same delivery id."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

from tests.support.http_call import free_port
from tests.support.incident_peers import MailSink, WebhookReceiver
from tests.support.mosquitto import Broker
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, vigil_stdin, wait_for
from vigil.core.incidents import DeliveryState
from vigil.core.webhook_auth import verify
from vigil.store.incidents import Incidents

SECRET = "dispatch-secret-0123456789"


def write_config(tmp: Path, port: int, sections: str) -> Path:
    text = f"""
[storage]
path = "{tmp / 'data'}"
min_free_bytes = 0
[http]
listen = "127.0.0.1:{port}"
tls = false
public_url = "http://127.0.0.1:{port}"
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
[incidents]
lookback_s = 60
""" + sections
    path = tmp / "vigil.toml"
    path.write_text(text)
    return path


class Api:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            sent = {"Content-Type": "application/json", **(headers or {"Authorization": f"Bearer {self.token}"})}
            conn.request(method, path, None if body is None else json.dumps(body), sent)
            response = conn.getresponse()
            data = response.read()
            kind = response.getheader("Content-Type") or ""
            return response.status, json.loads(data) if "json" in kind and data else data, response
        finally:
            conn.close()


def start(tmp: Path, sections: str) -> tuple[Path, Api, VigilProcess]:
    port = free_port()
    config = write_config(tmp, port, sections)
    c = ("--config", str(config))
    assert vigil_stdin("a long enough password\n", "user", "add", "chief", "--role", "district_admin",
                       "--password-stdin", *c).returncode == 0
    api = Api(port, run_vigil("token", "create", "chief", *c).stdout.strip())
    vigil = VigilProcess(config)
    wait_for(lambda: _up(api), 30, "the API")
    return config, api, vigil


def _up(api: Api) -> bool:
    try:
        return api.call("GET", "/api/health")[0] == 200
    except OSError:
        return False


def webhook(url: str) -> str:
    return f'[[incidents.webhooks]]\nname = "dispatch"\nurl = "{url}"\nsecret = "{SECRET}"\ntimeout_s = 2\n'


def test_a_declaration_reaches_every_recipient_and_its_link_opens(tmp_path: Path) -> None:
    receiver = WebhookReceiver().start()
    mail = MailSink().start()
    users = {"vigil-incidents": "incidents-pw-1", "panic": "panic-pw-2"}
    broker = Broker(tmp_path, passwords=users).start()
    subscriber = broker.subscriber("site/incidents/#", user=("panic", users["panic"])).ready()
    sections = webhook(receiver.url) + (
        f'[incidents.email]\nhost = "127.0.0.1"\nport = {mail.port}\nsender = "vigil@hs.example"\n'
        f'to = ["dispatch@county.example"]\n'
        f'[incidents.mqtt]\nport = {broker.port}\ndeclare_topic = "site/panic"\npublish_topic = "site/incidents"\n'
        f'username = "vigil-incidents"\npassword = "{users["vigil-incidents"]}"\n')
    _, api, vigil = start(tmp_path, sections)
    try:
        status, declared, _ = api.call("POST", "/api/incidents", {"building": "hs", "reason": "lockdown: intruder"})
        assert status == 201, declared
        incident_id = declared["incident"]["id"]
        wait_for(lambda: len(receiver.received) == 1, 10, "the webhook")
        got = receiver.received[0]
        verify(SECRET, got.headers["Vigil-Timestamp"], got.headers["Vigil-Signature"], got.body, time.time_ns(), 300)
        body = json.loads(got.body)
        assert body["incident"] == incident_id and body["declared_by"] == "user:chief"
        wait_for(lambda: len(mail.messages) == 1, 10, "the e-mail")
        wait_for(lambda: len(subscriber.received("site/incidents/hs")) == 1, 10, "the MQTT publish")
        assert subscriber.received("site/incidents/hs") == [got.body.decode()]
        # The delivered link opens: its cookie reads the incident's door events.
        link = body["link"]
        assert link.startswith(f"http://127.0.0.1:{api.port}/l/vigil_l_")
        status, _, response = api.call("GET", link.removeprefix(f"http://127.0.0.1:{api.port}"), headers={})
        assert status == 303
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        status, events, _ = api.call("GET", f"/api/incidents/{incident_id}/door_events", headers={"Cookie": cookie})
        assert status == 200 and events == {"door_events": []}
        status, view, _ = api.call("GET", f"/api/incidents/{incident_id}")
        assert status == 200 and {d["state"] for d in view["deliveries"]} == {"delivered"}
        # The panic button declares for the middle school; its declaration is delivered too.
        broker.pub("site/panic", json.dumps({"building": "ms", "reason": "panic button, office"}),
                   user=("panic", users["panic"]))
        wait_for(lambda: len(subscriber.received("site/incidents/ms")) == 1, 10, "the panic declaration")
        status, listed, _ = api.call("GET", "/api/incidents?state=open")
        [ms] = [i for i in listed["incidents"] if i["building"] == "ms"]
        assert (ms["declared_via"], ms["declared_by"], ms["reason"]) == ("mqtt", "mqtt:vigil-incidents",
                                                                         "panic button, office")
        # Ending is delivered as well, and the link no longer opens.
        status, _, _ = api.call("POST", f"/api/incidents/{incident_id}/end", {"note": "all clear"})
        assert status == 200
        wait_for(lambda: len(receiver.received) == 3, 10, "the ended and ms deliveries")
        assert sorted(json.loads(r.body)["type"] for r in receiver.received) == [
            "vigil.incident.declared", "vigil.incident.declared", "vigil.incident.ended"]
        assert api.call("GET", link.removeprefix(f"http://127.0.0.1:{api.port}"), headers={})[0] == 401
    finally:
        vigil.terminate()
        vigil.close()
        subscriber.close()
        broker.stop()
        mail.stop()
        receiver.stop()


def test_a_delivery_pending_at_the_stop_is_delivered_after_the_restart(tmp_path: Path) -> None:
    receiver = WebhookReceiver()  # not listening yet: the dispatch centre is down
    config, api, vigil = start(tmp_path, webhook(receiver.url))
    try:
        started = time.monotonic()
        status, declared, _ = api.call("POST", "/api/incidents", {"building": "hs", "reason": "forced entry"})
        assert status == 201 and time.monotonic() - started < 2.0
        incident_id = declared["incident"]["id"]

        def delivery() -> Any:
            return Incidents(index_of(config)).deliveries(incident_id)[0]

        wait_for(lambda: delivery().attempts >= 1, 10, "a failed attempt")
        assert delivery().state is DeliveryState.PENDING and "ClientConnectorError" in (delivery().last_error or "")
        status, view, _ = api.call("GET", f"/api/incidents/{incident_id}")
        assert view["deliveries"][0]["state"] == "pending" and view["deliveries"][0]["last_error"]
        assert vigil.terminate() == 0
        vigil.close()
        receiver.start()
        vigil = VigilProcess(config)
        wait_for(lambda: delivery().state is DeliveryState.DELIVERED, 30, "the delivery after the restart")
        [got] = receiver.received
        assert got.headers["Vigil-Delivery"] == str(delivery().id)
        assert json.loads(got.body)["incident"] == incident_id
        rows = index_of(config).query("SELECT outcome FROM audit WHERE action = 'incident.deliver' ORDER BY id")
        assert [r["outcome"] for r in rows][-1] == "ok" and "failed" in [r["outcome"] for r in rows]
        # `vigil incident start` writes from another process: the daemon's worker finds it by polling.
        started = time.monotonic()
        done = run_vigil("incident", "start", "--building", "ms", "--reason", "from the console", "--config",
                         str(config))
        assert done.returncode == 0, done.stderr
        wait_for(lambda: len(receiver.received) == 2, 10, "the CLI's declaration delivered")
        assert time.monotonic() - started < 5.0
        assert json.loads(receiver.received[1].body)["declared_by"].startswith("cli:")
    finally:
        vigil.terminate()
        vigil.close()
        receiver.stop()

"""`vigil demo --district-hub`: the configuration it writes is one `vigil check` takes, with the
appliance's own broker, the bridge conf inside the data dir (where the demo's mosquitto includes
it) and the URL the hub learns; the building's name is quoted whatever it says."""

from __future__ import annotations

from pathlib import Path

from vigil.config import load_config
from vigil.demo import _write_config


def test_the_district_demo_configuration(tmp_path: Path) -> None:
    path, secret = _write_config(tmp_path, 8554, 9443, 'Lincoln "High" School\\', 18830)
    config = load_config(path)
    assert config.district.broker_host == "127.0.0.1" and config.district.broker_port == 18830
    assert config.district.bridge_conf_path == tmp_path / "mosquitto" / "conf.d" / "vigil-district.conf"
    assert config.district.public_url == "https://127.0.0.1:9443"
    assert config.buildings[0].name == "Lincoln 'High' School"
    assert config.http.port == 9443 and secret in config.secrets


def test_without_a_hub_there_is_no_district_table(tmp_path: Path) -> None:
    path, _ = _write_config(tmp_path, 8554, 8443, "Demo Building", None)
    assert "[district]" not in path.read_text() and load_config(path).buildings[0].name == "Demo Building"

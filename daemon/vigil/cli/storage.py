"""`vigil storage`: the storage report (services/storage_report.py); exit 1 when critical."""

from __future__ import annotations

import asyncio
import json
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction
from typing import Any

from vigil.config import Config
from vigil.services.caller import cli_caller
from vigil.services.env import service_env
from vigil.services.storage_report import report_json, scoped_storage_report


def add_storage_verb(verbs: _SubParsersAction[ArgumentParser], common: ArgumentParser) -> None:
    storage = verbs.add_parser("storage", help="disk use, recordings per camera, held bytes and warnings",
                               parents=[common])
    storage.add_argument("--json", action="store_true")


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / (1 << 20):,.1f} MiB"


def _print_storage(report: dict[str, Any]) -> None:
    for d in report["disks"]:
        print(f"disk {d['path']}: {_mib(d['capacity_bytes'])} capacity, {_mib(d['used_bytes'])} used,"
              f" {_mib(d['free_bytes'])} free")
    print(f"recordings {_mib(report['recorded_bytes'])}, held {_mib(report['held_bytes'])},"
          f" retention budget {_mib(report['budget_bytes'])} (max_bytes {_mib(report['max_bytes'])},"
          f" min_free_bytes {_mib(report['min_free_bytes'])}, retain_days {report['retain_days'] or '-'})")
    for c in report["cameras"]:
        print(f"  {c['id']:20} {_mib(c['recorded_bytes']):>14} held {_mib(c['held_bytes']):>14}"
              f" {c['segments']:>7} segments  oldest {c['oldest'] or '-'}")
    print(f"{report['warning']['level'].upper()}: {report['warning']['message']}")


def run_storage(config: Config, args: Namespace) -> int:
    now = time.time_ns()
    with service_env(config, now, readonly=True) as env:
        report = report_json(asyncio.run(scoped_storage_report(env, cli_caller(now))))
    if args.json:
        print(json.dumps(report))
    else:
        _print_storage(report)
    return 1 if report["warning"]["level"] == "critical" else 0

"""The `vigil` command: run, demo, check, segments, motion, fsck; the verbs of cli/admin.py,
cli/exports.py, cli/holds.py, cli/incidents.py, cli/reload.py, cli/storage.py, cli/update.py and
cli/camera_setup.py."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from vigil import __version__
from vigil.cli.admin import add_admin_verbs, run_admin
from vigil.cli.camera_setup import add_camera_setup_verbs, run_camera_setup
from vigil.cli.district import add_district_verbs, run_district
from vigil.cli.exports import add_evidence_verbs, run_key, run_verify
from vigil.cli.holds import add_hold_verbs, run_holds
from vigil.cli.hub import add_hub_verb, run_hub_cli
from vigil.cli.incidents import add_incident_verbs, run_incidents
from vigil.cli.reload import add_reload_verb, run_reload
from vigil.cli.storage import add_storage_verb, run_storage
from vigil.cli.update import add_update_verbs, run_update
from vigil.config import Config, load_config
from vigil.core.errors import VigilError
from vigil.core.timebase import parse_time_ns, ticks_to_ns, wall_ns_to_iso
from vigil.logs import setup_logging
from vigil.services.caller import cli_caller
from vigil.services.env import service_env
from vigil.system.provision_cli import add_provision_verb, run_provision


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", type=Path, required=True, help="the TOML configuration file")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description="Vigil: a recorder appliance for schools.")
    parser.add_argument("--version", action="version", version=f"vigil {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    run = verbs.add_parser("run", help="record every configured camera until stopped")
    _config_arg(run)
    demo = verbs.add_parser("demo", help="record a built-in synthetic camera into a temporary data dir")
    demo.add_argument("--data", type=Path, help="data dir to use (default: a new temporary dir)")
    demo.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    demo.add_argument("--http-port", type=int, default=8443, help="HTTPS port on 127.0.0.1 (0: any free port)")
    demo.add_argument("--district-hub", metavar="URL", help="enrol with this district hub (with --enrol-code,"
                      " as `vigil hub demo` does for each building); a mosquitto of its own bridges events to it")
    demo.add_argument("--enrol-code", metavar="CODE", help="the code `vigil hub enroll` printed for this"
                      " appliance ('-': read from stdin; not needed again for a data dir that enrolled before)")
    demo.add_argument("--site-id", help="this appliance's site id at the hub (default: the code's)")
    demo.add_argument("--building-name", default="Demo Building", help="the demo building's name")
    demo.add_argument("--door-period", type=float, default=30.0, metavar="S",
                      help="seconds between the simulated door panel's events (default 30)")
    check = verbs.add_parser("check", help="validate a configuration file")
    _config_arg(check)
    segments = verbs.add_parser("segments", help="list recorded segments")
    _config_arg(segments)
    segments.add_argument("--camera", help="only this camera")
    segments.add_argument("--start", help="only segments ending after this time (ISO 8601 or Unix seconds)")
    segments.add_argument("--end", help="only segments starting before this time")
    segments.add_argument("--json", action="store_true", help="one JSON object per line")
    motion = verbs.add_parser("motion", help="motion intervals of a camera in a range")
    _config_arg(motion)
    motion.add_argument("--camera", required=True)
    motion.add_argument("--start", required=True, help="ISO 8601 or Unix seconds")
    motion.add_argument("--end", required=True, help="ISO 8601 or Unix seconds")
    motion.add_argument("--region", help="x0,y0,x1,y1 in fractions of the picture: only motion touching it")
    motion.add_argument("--json", action="store_true")
    fsck = verbs.add_parser("fsck", help="check the index against the recordings (read-only)")
    _config_arg(fsck)
    common = argparse.ArgumentParser(add_help=False)
    _config_arg(common)
    add_admin_verbs(verbs, common)
    add_evidence_verbs(verbs, common)  # key show, verify (issue 7)
    add_provision_verb(verbs)  # the appliance's first-boot provisioning (design/appliance.md)
    add_update_verbs(verbs)  # A/B image updates through RAUC (design/appliance.md, "Updates")
    add_storage_verb(verbs, common)  # the storage report (issue 7)
    add_hold_verbs(verbs, common)  # hold (issue 7)
    add_incident_verbs(verbs, common)  # incident start|end|list|show (issue 16)
    add_reload_verb(verbs, common)  # reload: the running daemon re-reads the file (issue 15)
    add_camera_setup_verbs(verbs, common)  # cameras discover|scan|probe (issue 15)
    add_district_verbs(verbs, common)  # district enroll|status|leave (issue 17)
    add_hub_verb(verbs)  # the district hub: hub run|enroll|user|site|broker-config (issue 17)
    return parser


def _cmd_run(config: Config) -> int:
    from vigil.app import Daemon

    asyncio.run(Daemon(config).run())
    return 0


def _cmd_check(config: Config) -> int:
    """The file, then its storage budget against the disk the recordings are (or will be) on: a
    budget that can hold no footage is an error (exit 2), one smaller than each camera's newest
    minutes a warning."""
    from vigil.record.storage_usage import storage_budget_problems

    problems = storage_budget_problems(config)
    for problem in problems:
        print(f"{config.source}: {'error' if problem.impossible else 'warning'}: {problem.key}: {problem.message}"
              f" (measured on the disk of {config.storage.recordings_path})", file=sys.stderr)
    if any(p.impossible for p in problems):
        return 2
    print(f"{config.source}: ok ({len(config.buildings)} buildings, {len(config.cameras)} cameras)")
    return 0


def _time_arg(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_time_ns(text)
    except ValueError as error:
        raise VigilError(f"--{name}: {error}") from None


def _cmd_segments(config: Config, args: argparse.Namespace) -> int:
    from vigil.services.cameras import SegmentQuery, list_segments

    query = SegmentQuery(args.camera, _time_arg(args.start, "start"), _time_arg(args.end, "end"))
    now = time.time_ns()
    with service_env(config, now, readonly=True) as env:
        rows = asyncio.run(list_segments(env, cli_caller(now), query)).segments
    root = config.storage.recordings_path
    for seg in rows:
        assert seg.end_wall_ns is not None and seg.media_duration_90k is not None
        if args.json:
            out = asdict(seg) | {"path": str(root / seg.path), "start": wall_ns_to_iso(seg.start_wall_ns),
                                 "end": wall_ns_to_iso(seg.end_wall_ns)}
            print(json.dumps(out))
        else:
            print(f"{seg.camera_id:20} {wall_ns_to_iso(seg.start_wall_ns)} {wall_ns_to_iso(seg.end_wall_ns)}"
                  f" {ticks_to_ns(seg.media_duration_90k) / 1e9:7.2f}s {seg.size_bytes:>11} {seg.sha256}"
                  f" {root / seg.path}")
    return 0


def _cmd_motion(config: Config, args: argparse.Namespace) -> int:
    from vigil.core.motion_intervals import parse_region
    from vigil.services.cameras import MotionQuery, motion_json, search_motion

    if config.building_of(args.camera) is None:
        raise VigilError(f"no camera {args.camera!r} in {config.source}")
    start, end = _time_arg(args.start, "start"), _time_arg(args.end, "end")
    assert start is not None and end is not None
    if end <= start:
        raise VigilError("--end must be after --start")
    query = MotionQuery(args.camera, start, end, None if args.region is None else parse_region(args.region))
    now = time.time_ns()
    with service_env(config, now, readonly=True) as env:
        result = motion_json(asyncio.run(search_motion(env, cli_caller(now), query)))
    if args.json:
        print(json.dumps(result))
        return 0
    for interval in result["intervals"]:
        seconds = (interval["end_wall_ns"] - interval["start_wall_ns"]) / 1e9
        print(f"{interval['start']}  {interval['end']}  {seconds:6.1f}s  peak {interval['peak']:.2f}"
              f"  {len(interval['cells'])} cells")
    print(f"{len(result['intervals'])} motion intervals")
    return 0


def _cmd_fsck(config: Config) -> int:
    from vigil.record.fsck import fsck

    with service_env(config, time.time_ns(), readonly=True) as env:
        report = fsck(env.index)
    for problem in report.problems:
        print(f"problem: {problem}")
    for path in report.open_segments:
        print(f"open: {path} (being written, or recovered at the next start)")
    print(f"{report.checked} segments checked, {len(report.problems)} problems")
    return 0 if report.clean else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.verb == "demo":
            from vigil.demo import DemoDistrict, run_demo

            if args.enrol_code is not None and args.district_hub is None:
                raise VigilError("--enrol-code needs --district-hub")
            code = sys.stdin.readline().strip() if args.enrol_code == "-" else args.enrol_code
            district = None if args.district_hub is None else DemoDistrict(args.district_hub, code, args.site_id)
            setup_logging("info")
            return run_demo(args.data, args.duration, args.http_port, district=district,
                            building_name=args.building_name, door_period_s=args.door_period)
        if args.verb == "verify":  # offline: needs no configuration
            return run_verify(args)
        if args.verb == "hub":  # its own configuration file ([hub])
            return run_hub_cli(args)
        if args.verb == "provision":
            setup_logging("info")
            return run_provision(args)
        if args.verb == "update":  # the appliance's slots and RAUC: no configuration file
            return run_update(args)
        config = load_config(args.config)
        setup_logging(config.log.level, config.secrets)
        if args.verb == "run":
            return _cmd_run(config)
        if args.verb == "check":
            return _cmd_check(config)
        if args.verb == "reload":
            return run_reload(config)
        if args.verb == "segments":
            return _cmd_segments(config, args)
        if args.verb == "fsck":
            return _cmd_fsck(config)
        if args.verb == "motion":
            return _cmd_motion(config, args)
        if args.verb in ("user", "token", "link", "audit"):
            return run_admin(config, args)
        if args.verb == "storage":
            return run_storage(config, args)
        if args.verb == "hold":
            return run_holds(config, args)
        if args.verb == "incident":
            return run_incidents(config, args)
        if args.verb == "key":
            return run_key(config, args)
        if args.verb == "cameras":
            return run_camera_setup(config, args)
        if args.verb == "district":
            return run_district(config, args)
    except VigilError as error:
        print(f"vigil: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled verb {args.verb}")

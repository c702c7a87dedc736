"""The `patchwork` console: serve, demo, db upgrade, createadmin, bench."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from patchwork.settings import ConfigurationError, Settings, load_settings

if TYPE_CHECKING:
    # What add_subparsers returns; argparse does not make it subscriptable at run time.
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"patchwork: {error}", file=sys.stderr)
        return 2
    result: int = args.handler(settings, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patchwork", description="Patchwork: the network around a child.")
    commands = parser.add_subparsers(title="commands")
    _add_serve(commands)
    _add_demo(commands)
    _add_db(commands)
    _add_createadmin(commands)
    _add_keys(commands)
    _add_bench(commands)
    _add_audit(commands)
    return parser


def _add_serve(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)


def _add_demo(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="create demo organisations and accounts (idempotent)")
    demo.add_argument("--password", help="give every demo account this password and no second factor")
    demo.add_argument("--json", action="store_true", help="print the accounts as JSON")
    demo.set_defaults(handler=_demo)


def _add_db(commands: Commands) -> None:
    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(title="database commands")
    upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    upgrade.set_defaults(handler=_db_upgrade)


def _add_createadmin(commands: Commands) -> None:
    admin = commands.add_parser("createadmin", help="create a system admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="System admin")
    admin.set_defaults(handler=_createadmin)


def _add_keys(commands: Commands) -> None:
    keys = commands.add_parser("keys", help="data encryption keys")
    key_commands = keys.add_subparsers(title="key commands")
    generate = key_commands.add_parser("generate", help="print a new random data key")
    generate.set_defaults(handler=_keys_generate)
    rotate = key_commands.add_parser(
        "rotate", help="re-encrypt everything under PATCHWORK_DATA_KEY (old keys in PATCHWORK_DATA_KEYS_PREVIOUS)"
    )
    rotate.set_defaults(handler=_keys_rotate)
    status = key_commands.add_parser("status", help="how many sealed values each key holds")
    status.set_defaults(handler=_keys_status)


def _add_bench(commands: Commands) -> None:
    """`patchwork bench <name>`: the options are declared here, the benchmarks' code (top-level `bench/`) is
    imported only by the handler of the one that runs."""
    bench = commands.add_parser("bench", help="measure performance")
    bench_commands = bench.add_subparsers(title="benchmarks")
    feed = bench_commands.add_parser("feed", help="feed page, notes API and chronology latency with many notes")
    feed.add_argument("--notes", type=int, default=5000)
    feed.add_argument("--requests", type=int, default=200)
    feed.set_defaults(handler=_bench_feed)
    signin = bench_commands.add_parser("signin", help="sign-in throughput and event-loop responsiveness")
    signin.add_argument("--requests", type=int, default=200)
    signin.add_argument("--background", type=int, default=50, help="other requests kept in flight")
    signin.set_defaults(handler=_bench_signin)
    _add_bench_fanout(bench_commands)
    _add_bench_issue_17(bench_commands)
    bench_audit = bench_commands.add_parser("audit", help="audit-chain verification speed on a throwaway database")
    bench_audit.add_argument("--events", type=int, default=100_000)
    bench_audit.add_argument("--database-url", help="PostgreSQL admin URL (default: a temporary SQLite file)")
    bench_audit.set_defaults(handler=_bench_audit)
    bench_search = bench_commands.add_parser("search", help="child search and near-duplicate check latency")
    bench_search.add_argument("--children", type=int, default=100_000)
    bench_search.add_argument("--searches", type=int, default=1000)
    bench_search.add_argument("--database-url", help="PostgreSQL admin URL (default: a temporary SQLite file)")
    bench_search.set_defaults(handler=_bench_search)
    bench_dashboard = bench_commands.add_parser(
        "dashboard", help="a lead's dashboard with many networks and notes, and what alert evaluation adds to a post"
    )
    bench_dashboard.add_argument("--networks", type=int, default=40)
    bench_dashboard.add_argument("--notes", type=int, default=10_000)
    bench_dashboard.add_argument("--requests", type=int, default=200)
    bench_dashboard.add_argument("--database-url", help="PostgreSQL admin URL (default: a temporary SQLite file)")
    bench_dashboard.set_defaults(handler=_bench_dashboard)


def _add_bench_fanout(bench_commands: Commands) -> None:
    fanout = bench_commands.add_parser(
        "fanout", help="live delivery over /api/v1/stream: latency, losses, duplicates; or idle-connection memory"
    )
    fanout.add_argument("--clients", type=int, default=100, help="stream connections, the poster's included")
    fanout.add_argument("--notes", type=int, default=200, help="network notes posted one after another")
    fanout.add_argument("--idle", type=int, metavar="N", help="instead: hold N idle connections, report server memory")
    fanout.add_argument("--accounts", type=int, help="accounts whose tokens connections share (default: 1 per client)")
    fanout.add_argument("--interval", type=float, default=0.0, help="seconds between posts (default: back to back)")
    fanout.add_argument("--wait", type=float, default=30.0, help="seconds to wait for deliveries after the last post")
    fanout.add_argument("--no-compression", action="store_true", help="do not offer permessage-deflate")
    fanout.add_argument("--url", help="a running server to measure (default: start one on a fresh SQLite database)")
    fanout.add_argument("--admin-email", help="with --url: a system admin (password: PATCHWORK_ADMIN_PASSWORD)")
    fanout.add_argument("--admin-password", help="with --url, instead of PATCHWORK_ADMIN_PASSWORD")
    fanout.add_argument("--server-pid", type=int, help="with --url: the server's process id, to read its memory")
    fanout.add_argument("--database-url", help="database for the started server (default: temporary SQLite)")
    fanout.add_argument("--redis-url", help="Redis broker for the started server (default: in-process)")
    fanout.add_argument("--workers", type=int, default=1, help="workers of the started server (2 or more: --redis-url)")
    fanout.add_argument(
        "--lockstep", action="store_true", help="post each note once every client has the one before in hand"
    )
    fanout.add_argument(
        "--fetch", action="store_true", help="(lock step) a client GETs a note its event does not carry: note in hand"
    )
    fanout.add_argument("--no-pin", action="store_true", help="(lock step) do not pin server and clients to CPUs")
    fanout.set_defaults(handler=_bench_fanout)


def _add_bench_issue_17(bench_commands: Commands) -> None:
    env = os.environ.get
    limit = bench_commands.add_parser(
        "limit", help="lock-step delivery against Patchwork and a bare Starlette broadcast, side by side, with ratios"
    )
    limit.add_argument("--clients", type=int, default=100)
    limit.add_argument("--notes", type=int, default=200)
    limit.add_argument("--accounts", type=int, help="accounts whose tokens connections share (default: 1 per client)")
    limit.add_argument("--fetch", action="store_true", help="Patchwork's clients GET a note its event does not carry")
    limit.add_argument("--no-pin", action="store_true", help="do not pin server and clients to CPUs")
    limit.set_defaults(handler=_bench_limit)
    throughput = bench_commands.add_parser("throughput", help="notes a second from concurrent posters, back to back")
    throughput.add_argument("--posters", type=int, default=20, help="each its own account and token")
    throughput.add_argument("--seconds", type=float, default=10.0)
    throughput.add_argument("--notes", type=int, help="instead of --seconds: stop after this many notes")
    throughput.add_argument("--networks", type=int, default=1, help="spread the posters over this many networks")
    throughput.add_argument("--database-url", help="PostgreSQL admin URL: a throwaway database (default: SQLite)")
    throughput.add_argument("--redis-url", help="Redis broker (needed for --workers 2 or more)")
    throughput.add_argument("--workers", type=int, default=1)
    throughput.set_defaults(handler=_bench_throughput)
    suite = bench_commands.add_parser("suite", help="issue 17's figures and targets as one JSON document")
    suite.add_argument("--sizes", type=int, nargs="+", default=[100, 500], help="clients of the delivery rounds")
    suite.add_argument("--notes", type=int, default=200, help="notes of each delivery round")
    suite.add_argument("--accounts", type=int, default=100, help="accounts of the delivery rounds (tokens shared)")
    suite.add_argument("--in-hand-clients", type=int, default=100)
    suite.add_argument("--idle", type=int, default=10_000, help="idle connections (one worker, then two)")
    suite.add_argument("--posters", type=int, default=20)
    suite.add_argument("--throughput-seconds", type=float, default=10.0)
    suite.add_argument("--post-cost-notes", type=int, default=500)
    suite.add_argument(
        "--database-url",
        default=env("PATCHWORK_BENCH_DATABASE_URL"),
        help="PostgreSQL admin URL for throughput and two workers (default: PATCHWORK_BENCH_DATABASE_URL)",
    )
    suite.add_argument(
        "--redis-url", default=env("PATCHWORK_BENCH_REDIS_URL"), help="default: PATCHWORK_BENCH_REDIS_URL"
    )
    suite.add_argument(
        "--skip", nargs="+", default=[], choices=["delivery", "in_hand", "post_cost", "throughput", "idle"]
    )
    suite.add_argument("--quick", action="store_true", help="small sizes to check the harness (no target is judged)")
    suite.add_argument("--no-pin", action="store_true", help="do not pin server and clients to CPUs")
    suite.set_defaults(handler=_bench_suite)


def _add_audit(commands: Commands) -> None:
    audit = commands.add_parser("audit", help="audit trail commands")
    audit_commands = audit.add_subparsers(title="audit commands")
    audit_verify = audit_commands.add_parser("verify", help="check the audit chain; names the first bad event")
    audit_verify.add_argument("--checkpoint", metavar="FILE", help="a checkpoint saved by `patchwork audit checkpoint`")
    audit_verify.set_defaults(handler=_audit_verify)
    audit_checkpoint = audit_commands.add_parser("checkpoint", help="print the chain's head as JSON")
    audit_checkpoint.set_defaults(handler=_audit_checkpoint)


def _freeze_what_is_loaded() -> None:
    """Load the app's code, then take it out of the garbage collector's sight: full collections, which otherwise
    walk every module's objects and stop the server for 70-130 ms, then walk only what serving has made."""
    import gc

    import patchwork.app  # noqa: F401  (everything the server runs, imported once here)

    gc.collect()
    gc.freeze()


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from patchwork.bus import reaches_other_processes
    from patchwork.migrate import data_keys_of, upgrade

    if settings.is_sqlite:
        upgrade(settings.database_url, data_keys=data_keys_of(settings))
    if args.workers > 1 and not reaches_other_processes(settings.redis_url):
        print("patchwork: several workers need PATCHWORK_REDIS_URL for live updates; using 1 worker", file=sys.stderr)
        args.workers = 1
    # Workers read their settings again: give them the keys generated for local mode, the same for each.
    for name, value in (
        ("PATCHWORK_SECRET_KEY", settings.secret_key),
        ("PATCHWORK_DATA_KEY", settings.data_key),
        ("PATCHWORK_AUDIT_KEY", settings.audit_key),
    ):
        if value:
            os.environ.setdefault(name, value)
    _freeze_what_is_loaded()
    uvicorn.run(
        "patchwork.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        access_log=False,
        log_level=settings.log_level.lower(),
        # Live frames are a few hundred bytes: compressing each for each socket costs CPU and ~35 KiB per socket.
        ws_per_message_deflate=False,
    )
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.db import Database
    from patchwork.migrate import data_keys_of, upgrade
    from patchwork.runtime import keyring_for, passwords_for
    from patchwork.services.demo import create_demo

    if settings.is_sqlite:
        upgrade(settings.database_url, data_keys=data_keys_of(settings))
    if args.password is not None and len(args.password) < 12:
        print("patchwork: --password must be 12 characters or more", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        result = asyncio.run(
            create_demo(db=db, passwords=passwords_for(settings), keys=keyring_for(settings), password=args.password)
        )
    finally:
        db.dispose()
    if args.json:
        print(
            json.dumps(
                {
                    "accounts": [
                        {
                            "email": a.email,
                            "kind": a.kind,
                            "roles": a.roles,
                            "organisation": a.organisation,
                            "leads": list(a.leads),
                            "family_of": list(a.family_of),
                        }
                        for a in result.accounts
                    ],
                    "networks": [{"id": n.id, "child": n.child, "leads": list(n.leads)} for n in result.led],
                    "caseloads": [{"lead": lead, "networks": count} for lead, count in result.caseloads],
                }
            )
        )
        return 0
    print(f"Demo data ready ({result.created} records created, {len(result.networks)} networks). Accounts:")
    for account in result.accounts:
        secret = account.password or "(unchanged; run with --password to reset)"
        print(f"  {account.email:<60} {', '.join(account.roles):<26} {secret}")
        if account.leads:
            shown = ", ".join(account.leads[:3]) + (
                f" and {len(account.leads) - 3} more" if len(account.leads) > 3 else ""
            )
            print(f"  {'':<60} leads {len(account.leads)} network{'s' if len(account.leads) != 1 else ''}: {shown}")
        for place in account.family_of:
            print(f"  {'':<60} family member in {place}")
    print("Who leads which network:")
    for network in result.led:
        print(f"  {network.child:<40} {'; '.join(network.leads) or 'no lead yet'}")
    for lead, count in result.caseloads:
        print(f"  {f'{count} more networks (a caseload)':<40} {lead}")
    return 0


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.migrate import data_keys_of, upgrade

    upgrade(settings.database_url, data_keys=data_keys_of(settings))
    print("Database is up to date.")
    return 0


def _createadmin(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.db import Database
    from patchwork.errors import Invalid
    from patchwork.migrate import data_keys_of, upgrade
    from patchwork.runtime import passwords_for
    from patchwork.services.admins import create_system_admin

    password = os.environ.get("PATCHWORK_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("patchwork: set PATCHWORK_ADMIN_PASSWORD or run in a terminal", file=sys.stderr)
            return 2
        password = getpass.getpass("Password for the new admin: ")
        if getpass.getpass("Again: ") != password:
            print("patchwork: the passwords do not match", file=sys.stderr)
            return 2
    if settings.is_sqlite:
        upgrade(settings.database_url, data_keys=data_keys_of(settings))
    db = Database(settings.database_url)
    try:
        account = asyncio.run(
            create_system_admin(
                db=db, passwords=passwords_for(settings), email=args.email, name=args.name, password=password
            )
        )
    except Invalid as problem:
        for field, message in problem.fields.items():
            print(f"patchwork: {field}: {message}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(f"System admin {account.email} created.")
    return 0


def _keys_generate(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.settings import new_data_key

    print(new_data_key())
    return 0


def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.db import Database
    from patchwork.runtime import keyring_for
    from patchwork.services.keys import rotate

    db = Database(settings.database_url)
    try:
        report = rotate(db=db, keys=keyring_for(settings))
    finally:
        db.dispose()
    print(json.dumps({"current_key": report.current_key, "resealed": report.resealed, "total": report.total}))
    return 0


def _keys_status(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.crypto import key_id
    from patchwork.db import Database
    from patchwork.services.keys import key_usage
    from patchwork.settings import decode_data_key

    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            usage = key_usage(session=session)
    finally:
        db.dispose()
    current = key_id(decode_data_key(settings.data_key))
    print(json.dumps({"current_key": current, "values_by_key": usage}))
    return 0


def _bench_feed(settings: Settings, args: argparse.Namespace) -> int:
    from bench.feed import run

    print(json.dumps(asyncio.run(run(notes=args.notes, requests=args.requests)), indent=2))
    return 0


def _bench_signin(settings: Settings, args: argparse.Namespace) -> int:
    from bench.signin import run

    print(json.dumps(asyncio.run(run(settings, requests=args.requests, background=args.background)), indent=2))
    return 0


def _bench_fanout(settings: Settings, args: argparse.Namespace) -> int:
    from bench.fanout import BenchError, Remote, Spawn, exit_status, run_fanout, run_idle
    from bench.poster import run_fast

    server: Remote | Spawn
    if args.url:
        password = args.admin_password or os.environ.get("PATCHWORK_ADMIN_PASSWORD")
        if not args.admin_email or not password or args.database_url or args.redis_url:
            print(
                "patchwork: --url needs --admin-email and a password, and no --database-url or --redis-url",
                file=sys.stderr,
            )
            return 2
        server = Remote(args.url, args.admin_email, password, args.server_pid)
    else:
        server = Spawn(database_url=args.database_url, redis_url=args.redis_url, workers=args.workers)
    try:
        if args.lockstep or args.fetch:
            from bench.delivery import run_delivery

            result = run_fast(
                run_delivery(
                    settings,
                    clients=args.clients,
                    notes=args.notes,
                    server=server,
                    accounts=args.accounts,
                    fetch=args.fetch,
                    limit=False,
                    pin=not args.no_pin,
                    wait=args.wait,
                    compression=not args.no_compression,
                )
            )
            result = result["patchwork"] | {"pinning": result["pinning"]}
        elif args.idle is not None:
            result = asyncio.run(
                run_idle(
                    settings,
                    connections=args.idle,
                    server=server,
                    accounts=args.accounts,
                    compression=not args.no_compression,
                )
            )
        else:
            result = run_fast(
                run_fanout(
                    settings,
                    clients=args.clients,
                    notes=args.notes,
                    server=server,
                    accounts=args.accounts,
                    interval=args.interval,
                    wait=args.wait,
                    compression=not args.no_compression,
                )
            )
    except (BenchError, ValueError) as error:
        print(f"patchwork: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return exit_status(result)


def _bench_limit(settings: Settings, args: argparse.Namespace) -> int:
    from bench.delivery import run_delivery
    from bench.fanout import BenchError
    from bench.poster import run_fast

    try:
        result = run_fast(
            run_delivery(
                settings,
                clients=args.clients,
                notes=args.notes,
                accounts=args.accounts,
                fetch=args.fetch,
                pin=not args.no_pin,
            )
        )
    except (BenchError, ValueError) as error:
        print(f"patchwork: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    patchwork = result["patchwork"]
    return 1 if patchwork["losses"] or patchwork["duplicates"] else 0


def _bench_throughput(settings: Settings, args: argparse.Namespace) -> int:
    from bench.fanout import BenchError
    from bench.throughput import run_throughput

    try:
        result = asyncio.run(
            run_throughput(
                settings,
                posters=args.posters,
                seconds=args.seconds,
                notes=args.notes,
                networks=args.networks,
                database_url=args.database_url,
                redis_url=args.redis_url,
                workers=args.workers,
            )
        )
    except (BenchError, ValueError) as error:
        print(f"patchwork: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


def _bench_suite(settings: Settings, args: argparse.Namespace) -> int:
    from bench.poster import run_fast
    from bench.suite import QUICK, run_suite

    options = {
        "sizes": tuple(args.sizes),
        "notes": args.notes,
        "in_hand_clients": args.in_hand_clients,
        "idle": args.idle,
        "throughput_seconds": args.throughput_seconds,
        "post_cost_notes": args.post_cost_notes,
        **(QUICK if args.quick else {}),
    }
    try:
        result = run_fast(
            run_suite(
                settings,
                accounts=args.accounts,
                posters=args.posters,
                database_url=args.database_url,
                redis_url=args.redis_url,
                pin=not args.no_pin,
                skip=frozenset(args.skip),
                **options,
            )
        )
    except ValueError as error:
        print(f"patchwork: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    failed = [name for name, part in result.items() if isinstance(part, dict) and "error" in part]
    return 1 if failed else 0


def _bench_audit(settings: Settings, args: argparse.Namespace) -> int:
    from bench.audit import BenchError, run_verify_bench

    try:
        print(json.dumps(run_verify_bench(args.database_url, args.events), indent=2))
    except BenchError as error:
        print(f"patchwork: {error}", file=sys.stderr)
        return 1
    return 0


def _bench_search(settings: Settings, args: argparse.Namespace) -> int:
    from bench.search import BenchError, run_search_bench

    try:
        print(json.dumps(run_search_bench(args.database_url, args.children, args.searches), indent=2))
    except BenchError as error:
        print(f"patchwork: {error}", file=sys.stderr)
        return 1
    return 0


def _bench_dashboard(settings: Settings, args: argparse.Namespace) -> int:
    from bench.dashboard import run

    found = asyncio.run(
        run(admin_url=args.database_url, networks=args.networks, notes=args.notes, requests=args.requests)
    )
    print(json.dumps(found, indent=2))
    return 0


def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.audit_cli import verify_command

    return verify_command(settings, args.checkpoint)


def _audit_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    from patchwork.audit_cli import checkpoint_command

    return checkpoint_command(settings)


if __name__ == "__main__":
    sys.exit(main())

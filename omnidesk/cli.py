"""The command line. Each command is a thin call into ``omnidesk.services``.

Imports are lazy so ``omnidesk --version`` and the console start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from omnidesk import __version__

if TYPE_CHECKING:
    from omnidesk.model import ImportReport, IngestReport
    from omnidesk.services.context import Context

EXIT_OK = 0
RULES_DIR_HELP = "a folder with practice.toml / rules*.toml (default: $OMNIDESK_CONFIG or ~/.config/omnidesk)"
EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``omnidesk`` command."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # e.g. `omnidesk threads --json | head`: not an error.
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        return _report_failure(exc)


def _report_failure(exc: Exception) -> int:
    from omnidesk.services.errors import OmnideskError

    if isinstance(exc, OmnideskError):
        print(f"omnidesk: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return EXIT_ERROR
    if os.environ.get("OMNIDESK_DEBUG") == "1":
        raise exc
    # Exception text may carry patient data; name only the type.
    print(
        f"omnidesk: unexpected error ({type(exc).__name__}). Nothing was lost; "
        "rerun with OMNIDESK_DEBUG=1 to see the details on this terminal.",
        file=sys.stderr,
    )
    return EXIT_ERROR


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="omnidesk",
        description="One keyboard-driven inbox for every patient conversation.",
    )
    p.add_argument("--version", action="version", version=f"omnidesk {__version__}")
    _add_common(p)
    p.set_defaults(func=_cmd_console)
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    c = sub.add_parser("init", help="create or upgrade the database")
    _add_common(c)
    c.set_defaults(func=_cmd_init)

    c = sub.add_parser("demo", help="open the console on a seeded demo practice (SQLite, no credentials)")
    _add_common(c)
    c.add_argument("--fresh", action="store_true", help="delete the demo database and seed it again")
    c.add_argument("--no-live", action="store_true", help="do not simulate new incoming messages")
    c.add_argument("--seed-only", action="store_true", help="seed the demo database and exit")
    c.set_defaults(func=_cmd_demo)

    imp = sub.add_parser("import", help="load patients or appointments from CSV")
    imp_sub = imp.add_subparsers(title="what", metavar="WHAT", required=True)
    c = imp_sub.add_parser("patients", help="CSV: mrn,first_name,last_name,dob,mobile_phone,home_phone,email,...")
    _add_common(c)
    c.add_argument("file", type=Path)
    c.set_defaults(func=_cmd_import, what="patients")
    c = imp_sub.add_parser("appointments", help="CSV: mrn,start,duration_min,provider,location,status,visit_type")
    _add_common(c)
    c.add_argument("file", type=Path)
    c.set_defaults(func=_cmd_import, what="appointments")

    c = sub.add_parser("ingest", help="load normalized inbound messages from a JSON-lines file")
    _add_common(c)
    c.add_argument("file", type=Path)
    c.set_defaults(func=_cmd_ingest)

    c = sub.add_parser("threads", help="list threads")
    _add_common(c)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument("--queue", help="only this queue (e.g. nurse, billing, front_desk, unmatched, emergency)")
    c.add_argument("--status", help="only this status (open, pending, snoozed, closed)")
    c.set_defaults(func=_cmd_threads)

    c = sub.add_parser("thread", help="show one thread with its messages")
    _add_common(c)
    c.add_argument("id", type=int)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_cmd_thread)

    c = sub.add_parser("classify", help="classify JSON lines from stdin (id, channel, subject, body)")
    _add_common(c)
    c.add_argument("--rules-dir", type=Path, help=RULES_DIR_HELP)
    c.set_defaults(func=_cmd_classify)

    rules = sub.add_parser("rules", help="work with the triage rules")
    rules_sub = rules.add_subparsers(title="action", metavar="ACTION", required=True)
    c = rules_sub.add_parser("test", help="score the rules on a labeled JSON-lines file")
    _add_common(c)
    c.add_argument("file", type=Path)
    c.add_argument("--rules-dir", type=Path, help=RULES_DIR_HELP)
    c.set_defaults(func=_cmd_rules_test)

    c = sub.add_parser("match", help="give an Unmatched thread to a patient (links an unknown sender)")
    _add_common(c)
    c.add_argument("thread", type=int, help="thread id (see `omnidesk threads --queue unmatched`)")
    c.add_argument("mrn", help="the patient's MRN")
    c.set_defaults(func=_cmd_match)

    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    audit_sub = audit.add_subparsers(title="action", metavar="ACTION", required=True)
    c = audit_sub.add_parser("verify", help="check the audit hash chain")
    _add_common(c)
    c.set_defaults(func=_cmd_audit_verify)
    return p


def _add_common(p: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a value given before the subcommand from being reset by the subparser.
    p.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        help="database URL (default: $OMNIDESK_DB, else a SQLite file in your data directory)",
    )
    p.add_argument("--user", default=argparse.SUPPRESS, help="staff username to act as (default: $OMNIDESK_USER)")


def _context(args: argparse.Namespace) -> Context:
    from omnidesk.services.setup import open_context

    return open_context(getattr(args, "db", None), getattr(args, "user", None))


# --- commands -------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from omnidesk.services.setup import init_store

    url = init_store(getattr(args, "db", None))
    print(f"omnidesk: database ready at {_display_url(url)}")
    return EXIT_OK


def _cmd_console(args: argparse.Namespace) -> int:
    from omnidesk.model import INBOX_PAGE_SIZE
    from omnidesk.services.prefetch import start_first_page

    # Launch time: a second process reads the first page while this one imports the console.
    pending = start_first_page(getattr(args, "db", None), getattr(args, "user", None), limit=INBOX_PAGE_SIZE)
    from omnidesk.app import OmnideskApp

    rows = pending.result()
    if rows is None:  # no fork here, or it failed: the ordinary way (which reports any problem)
        ctx = _context(args)
        return _run_console(lambda: ctx, live=False)
    app = OmnideskApp(lambda: _context(args), live=False)
    app.preload_page(rows, pending.limit)
    app.run()
    return int(app.return_code or 0)


def _cmd_demo(args: argparse.Namespace) -> int:
    from omnidesk.services.demo import prepare_demo

    url = prepare_demo(fresh=args.fresh, progress=lambda msg: print(msg, file=sys.stderr))
    if args.seed_only:
        print(f"omnidesk: demo practice ready at {_display_url(url)}")
        return EXIT_OK
    from omnidesk.services.setup import open_context

    ctx = open_context(url, getattr(args, "user", None))

    from functools import cache

    @cache
    def sync_loop() -> Any:  # built on first use, in the console's worker thread
        from omnidesk.services.demo import demo_sync_loop

        return demo_sync_loop(ctx)

    return _run_console(lambda: ctx, live=not args.no_live, live_source=lambda c: sync_loop().run_once(c))


def _run_console(ctx_factory: Callable[[], Context], *, live: bool, live_source: Any = None) -> int:
    from omnidesk.app import OmnideskApp

    app = OmnideskApp(ctx_factory, live=live, live_source=live_source)
    app.preload()  # the first page is read before the first frame, so that frame has rows
    app.run()
    return int(app.return_code or 0)


def _cmd_import(args: argparse.Namespace) -> int:
    from omnidesk.services import importing

    ctx = _context(args)
    fn = importing.import_patients if args.what == "patients" else importing.import_appointments
    report = fn(ctx, args.file)
    _print_import_report(args.what, report)
    return EXIT_OK if not report.errors else EXIT_ERROR


def _print_import_report(what: str, report: ImportReport) -> None:
    print(f"{what}: {report.added} added, {report.updated} updated, {len(report.errors)} rejected")
    for line_no, reason in report.errors:
        print(f"  line {line_no}: {reason}", file=sys.stderr)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from omnidesk.services.ingest import ingest_jsonl

    ctx = _context(args)
    report = ingest_jsonl(ctx, args.file)
    _print_ingest_report(report)
    return EXIT_OK if not report.rejected else EXIT_ERROR


def _print_ingest_report(report: IngestReport) -> None:
    print(f"{report.new} new, {report.duplicate} duplicate, {len(report.rejected)} rejected")
    for line_no, reason in report.rejected:
        print(f"  line {line_no}: {reason}", file=sys.stderr)


def _cmd_threads(args: argparse.Namespace) -> int:
    from omnidesk.model import ThreadStatus
    from omnidesk.services.export import summary_to_json
    from omnidesk.services.inbox import iter_threads

    status = _parse_status(args.status)
    ctx = _context(args)
    rows = iter_threads(ctx, queue=args.queue, status=status)
    if args.json:
        _write_json_array(sys.stdout, (summary_to_json(t) for t in rows))
        return EXIT_OK
    for t in rows:
        who = t.patient_name or t.contact or "unknown sender"
        flag = "!" if t.pinned else " "
        st = t.status.value if isinstance(t.status, ThreadStatus) else t.status
        print(f"{flag}{t.id:>7}  {st:<7} {t.queue:<11} {t.urgency.value:<9} {t.message_count:>3}  {_plain(who)[:40]}")
    return EXIT_OK


def _parse_status(raw: str | None):
    from omnidesk.model import ThreadStatus
    from omnidesk.services.errors import OmnideskError

    if raw is None:
        return None
    try:
        return ThreadStatus(raw.lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ThreadStatus)
        raise OmnideskError(f"unknown status {raw!r}", hint=f"use one of: {allowed}") from None


def _cmd_thread(args: argparse.Namespace) -> int:
    from omnidesk.services.export import detail_to_json
    from omnidesk.services.inbox import open_thread

    ctx = _context(args)
    detail = open_thread(ctx, args.id)
    if args.json:
        json.dump(detail_to_json(detail), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    s = detail.summary
    print(f"thread {s.id}  {s.queue}  {s.urgency.value}  {', '.join(s.intents)}")
    for m in detail.messages:
        print(f"--- {m.at.isoformat()}  {m.channel.value} {m.direction.value}")
        if m.subject:
            print(f"Subject: {_plain(m.subject)}")
        print(_plain(m.body))
    return EXIT_OK


def _cmd_classify(args: argparse.Namespace) -> int:
    from omnidesk.services.classify import classify_stream
    from omnidesk.services.context import load_triage

    engine = load_triage(args.rules_dir)
    return int(classify_stream(engine, sys.stdin, sys.stdout) or EXIT_OK)


def _cmd_rules_test(args: argparse.Namespace) -> int:
    from omnidesk.services.classify import rules_test
    from omnidesk.services.context import load_triage

    engine = load_triage(args.rules_dir)
    text, code = rules_test(engine, args.file)
    print(text)
    return code


def _cmd_match(args: argparse.Namespace) -> int:
    from omnidesk.services.matching import match_thread

    result = match_thread(_context(args), args.thread, args.mrn)
    how = "sender linked to the patient" if result.linked_contact else "shared number left shared"
    ids = ", ".join(str(t) for t in result.thread_ids) or "none"
    print(f"matched: thread(s) {ids} now belong to patient {result.patient_id} ({how})")
    return EXIT_OK


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from omnidesk.services.audit import verify_chain

    ctx = _context(args)
    bad = verify_chain(ctx.engine)
    if bad is None:
        print("audit: chain intact")
        return EXIT_OK
    print(f"audit: chain broken at event {bad}", file=sys.stderr)
    return EXIT_ERROR


# --- helpers --------------------------------------------------------------------------


def _write_json_array(out: TextIO, items: Iterable[dict[str, Any]]) -> None:
    """Stream a JSON array, one element a line, without holding the whole list."""
    out.write("[")
    first = True
    for item in items:
        out.write("\n" if first else ",\n")
        out.write(json.dumps(item, ensure_ascii=False))
        first = False
    out.write("\n]\n" if not first else "]\n")


def _plain(text: str) -> str:
    """Patient text for a terminal: control characters and escape sequences removed."""
    from omnidesk.services.text import strip_controls

    return strip_controls(text)


def _display_url(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"

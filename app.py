"""Composition root: configuration, the `iamwhy` command line. Importing it does nothing."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diagnostics.investigate import Investigation

logger = logging.getLogger("iamwhy")

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the person at the terminal: reported in one line, exit code 2."""


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _configure_logging(level: str = "WARNING") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iamwhy", description="Explain AWS AccessDenied errors.")
    parser.add_argument("--log-level", default="WARNING", help="log level for JSON logs on stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_explain(subparsers)
    _add_simulate(subparsers)
    _add_demo(subparsers)
    return parser


def _add_explain(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = subparsers.add_parser(
        "explain",
        help="explain every AWS access denial in TEXT (or stdin)",
        description="Find every AWS access denial in TEXT (or standard input) and explain it.",
    )
    explain.add_argument("text", nargs="?", default="-", metavar="TEXT", help="the pasted error; '-' or nothing: stdin")
    explain.add_argument("--json", action="store_true", help="print the machine-readable result (DESIGN.md §3)")
    explain.add_argument("--offline", action="store_true", help="answer from the message alone; read nothing from AWS")
    explain.set_defaults(func=_explain)


def _explain(args: argparse.Namespace) -> int:
    import asyncio

    from diagnostics.inputs import InputError, argument_input, read_input
    from diagnostics.investigate import OfflineInvestigator
    from diagnostics.report import render_text, to_json

    try:
        text = read_input(sys.stdin.buffer) if args.text == "-" else argument_input(args.text)
    except InputError as exc:
        raise UsageError(str(exc)) from exc
    offline = OfflineInvestigator()
    investigation = asyncio.run(offline.investigate(text)) if args.offline else _investigate_live(text)
    if args.json:
        print(json.dumps(to_json(investigation.scan, investigation.diagnoses), indent=2))
    else:
        print(render_text(investigation.scan, investigation.diagnoses, color=sys.stdout.isatty()), end="")
    return EXIT_OK


def _investigate_live(text: str) -> Investigation:
    """The live investigation, reading AWS through the standard credential chain and IAMWHY_* configuration."""
    import asyncio
    import os

    from diagnostics.aws import AwsAdapter
    from diagnostics.investigate import LiveInvestigator
    from diagnostics.reader import AwsConfig, ConfigError

    try:
        config = AwsConfig.from_mapping(os.environ)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    adapter = AwsAdapter(config)
    try:
        return asyncio.run(LiveInvestigator(adapter).investigate(text))
    finally:
        adapter.close()


def _add_simulate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = subparsers.add_parser(
        "simulate",
        help="run the local policy evaluator on a case file (no AWS calls)",
        description="Evaluate the request(s) in CASE.json against their policies, locally.",
    )
    simulate.add_argument("case_file", metavar="CASE.json", help="one case object, or a JSON array of cases")
    simulate.add_argument("--json", action="store_true", help="print the machine-readable result")
    simulate.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    # Imported here so that the other commands do not pay for loading the IAM catalogue.
    from diagnostics.policy import CaseError, PolicyError, evaluate
    from diagnostics.policy.cases import load_case_file
    from diagnostics.policy.report import format_result, result_json

    try:
        cases, is_array = load_case_file(args.case_file)
        results = [(case, evaluate(case.request, case.policies)) for case in cases]
    except (CaseError, PolicyError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        documents = [result_json(result, case=case.id) for case, result in results]
        payload: object = documents if is_array else documents[0]
        print(json.dumps(payload, indent=2))
    else:
        print("\n\n".join(format_result(result, case.request, case=case.id or case.name) for case, result in results))
    return EXIT_OK


def _add_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="diagnose the classic AccessDenied causes live in an embedded AWS sandbox (no AWS account needed)",
        description=(
            "Start an AWS sandbox in this process (moto, on loopback), seed it with the classic AccessDenied "
            "causes and show the full live diagnosis of each pasted error. Needs the [demo] extra."
        ),
    )
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from diagnostics.aws import AwsAdapter
    from diagnostics.investigate import LiveInvestigator
    from diagnostics.sandbox import Sandbox, SandboxError, SandboxUnavailable
    from diagnostics.sandbox.demo import run_demo

    def write(text: str) -> None:
        print(text, end="", flush=True)

    try:
        with Sandbox() as box, box.activate():
            adapter = AwsAdapter(box.aws_config)
            try:
                asyncio.run(run_demo(box, LiveInvestigator(adapter), write=write, color=sys.stdout.isatty()))
            finally:
                adapter.close()
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from exc
    except SandboxError as exc:
        print(f"iamwhy: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.log_level)
    command: Command = args.func
    try:
        return command(args)
    except UsageError as exc:
        print(f"iamwhy: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`iamwhy explain ... | head`): not an error worth a traceback. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception:
        ref = uuid.uuid4().hex[:8]
        logger.exception("internal error ref=%s", ref)
        print(f"iamwhy: internal error (reference {ref}; details are in the log)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())

"""The ``fim-server`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import msgspec

from .config import ConfigError, Settings, load_settings
from .engine.dtypes import AUTO_DTYPE_HELP

log = logging.getLogger("fim_server")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    # Values are checked with the other settings, not by argparse, so that `lsp` can report a bad
    # one to the editor and start with the rest.
    parser.add_argument("--dtype", help=f"weights dtype: auto, bfloat16 or float32 (default auto; {AUTO_DTYPE_HELP})")
    parser.add_argument("--threads", help="torch CPU threads (0 lets torch decide)")
    parser.add_argument("--effort", help="instant, low, medium or high (default low)")
    parser.add_argument("--min-confidence", metavar="FLOOR",
                        help="0 to 1: return no completion when the best candidate's confidence is below this "
                             "(default 0, which shows every completion)")


def add_engine_location_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", dest="engine_location", metavar="{local,daemon}",
                        help="local: load the model in this process; daemon: send fills to the shared model daemon "
                             "(`fim-server serve`), started when none runs (default local)")
    parser.add_argument("--socket", dest="daemon_socket", metavar="PATH",
                        help="the daemon's Unix socket for --engine daemon (default: "
                             "$XDG_RUNTIME_DIR/fim-server/daemon.sock, else a private folder in the temp directory)")
    parser.add_argument("--idle-timeout", dest="daemon_idle_timeout", metavar="SECONDS",
                        help="with --engine daemon: seconds without requests before a daemon that this command "
                             "starts exits, or 0 to never exit (default: the idle_timeout setting, "
                             f"{Settings().idle_timeout} unless set)")


def setting_overrides(args) -> dict:
    """Settings given on the command line; None where an option was not given."""
    return {"model": args.model, "dtype": args.dtype, "threads": args.threads, "effort": args.effort,
            "min_confidence": getattr(args, "min_confidence", None),
            "engine": getattr(args, "engine_location", None), "socket": getattr(args, "daemon_socket", None),
            "idle_timeout": getattr(args, "daemon_idle_timeout", None)}


def settings_from(args) -> Settings:
    return load_settings(setting_overrides(args))


def build_pipeline(settings: Settings):
    """Build the pipeline over a local engine, or over the model daemon when ``settings.engine`` is "daemon".

    Raises DaemonError or LocationError when the daemon cannot be reached or started.
    """
    from .pipeline import CompletionPipeline

    if settings.engine == "daemon":
        from .daemon import RemoteEngine

        engine = RemoteEngine.from_settings(settings, socket_path=settings.socket or None)
        try:
            engine.connect(settings.model, dtype=settings.dtype, threads=settings.threads)
        except BaseException:
            engine.close()
            raise
    else:
        from .engine.loading import load_engine

        engine = load_engine(settings.model, dtype=settings.dtype, threads=settings.threads or None)
    return CompletionPipeline(engine, default_effort=settings.effort, max_lines=settings.max_lines,
                              min_confidence=settings.min_confidence)


def parse_location(location: str) -> tuple[Path, int, int]:
    """Split ``FILE:LINE:COL`` (1-based, as compilers print them)."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise ValueError(f"invalid location {location!r}: expected FILE:LINE:COL with 1-based numbers")
    line, column = int(parts[1]), int(parts[2])
    if line < 1 or column < 1:
        raise ValueError(f"invalid location {location!r}: LINE and COL start at 1")
    return Path(parts[0]), line, column


def show_in_place(text: str, line: int, column: int, completion: str, context_lines: int = 3) -> str:
    """Render the completion inside its surrounding lines, marked with ANSI-free brackets."""
    from .context.positions import LINE_TERMINATOR

    lines = LINE_TERMINATOR.split(text)
    current = lines[line]
    merged = current[:column] + "\u00ab" + completion + "\u00bb" + current[column:]
    out = []
    first = max(0, line - context_lines)
    for number in range(first, line):
        out.append(f"{number + 1:>5} | {lines[number]}")
    for offset, piece in enumerate(merged.split("\n")):
        label = f"{line + 1:>5}" if offset == 0 else "    +"
        out.append(f"{label} | {piece}")
    for number in range(line + 1, min(len(lines), line + 1 + context_lines)):
        out.append(f"{number + 1:>5} | {lines[number]}")
    return "\n".join(out)


def decode_source(path: Path, data: bytes) -> str:
    """Decode a source file as UTF-8 without its byte order mark, which editors do not count as a column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        print(f"warning: {path} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
              "invalid bytes are read as U+FFFD", file=sys.stderr)
        return data.decode("utf-8-sig", errors="replace")


def location_error(path: Path, text: str, line: int, column: int) -> str | None:
    """Describe why the 1-based LINE:COL lies outside ``text`` in the numbers the user typed, or return None."""
    from .context.positions import LINE_TERMINATOR

    lines = LINE_TERMINATOR.split(text)  # the line breaks of the LSP: \n, \r\n and a lone \r
    if line > len(lines):
        return f"invalid line {line}: {path} ends at line {len(lines)}"
    width = len(lines[line - 1])
    if column > width + 1:
        return (f"invalid column {column}: line {line} of {path} has {width} characters, "
                f"so the last column is {width + 1}")
    return None


def command_complete(args) -> int:
    from .daemon import DaemonError, LocationError
    from .pipeline import CompletionRequest, RequestError, resolve_cursor

    try:
        path, line, column = parse_location(args.location)
        data = path.read_bytes()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, IsADirectoryError):
            reason = "is a folder; give a file"
        elif isinstance(exc, FileNotFoundError):
            reason = "not found"
        else:
            reason = f"cannot be read: {exc.strerror or exc}"
        print(f"error: {exc.filename or args.location} {reason}", file=sys.stderr)
        return 2
    if b"\x00" in data[:8192]:
        print(f"error: {path} looks binary (contains NUL bytes)", file=sys.stderr)
        return 2
    text = decode_source(path, data)
    problem = location_error(path, text, line, column)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    request = CompletionRequest(text=text, line=line - 1, character=column - 1, path=str(path),
                                language=args.language, effort=args.effort, mode=args.mode)
    settings = settings_from(args)
    try:
        resolve_cursor(request)  # report a bad position before the model loads
        pipeline = build_pipeline(settings)
        try:
            result = pipeline.complete(request)
        finally:
            pipeline.close()
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DaemonError, LocationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
        return 0
    if result.rejected:
        print(f"no completion: {result.rejected}")
    else:
        print(show_in_place(text, line - 1, column - 1, result.text))
    timing = ", ".join(f"{name} {ms:.1f} ms" for name, ms in result.timings_ms.items() if "." not in name)
    print(f"\nmode {result.mode} ({result.mode_reason}), effort {result.effort}, {result.model_steps} model steps, "
          f"confidence {result.confidence:.2f}; {timing}", file=sys.stderr)
    return 0


def command_stdio(args) -> int:
    from .daemon import DaemonError, LocationError
    from .serving.stdio import serve

    try:
        pipeline = build_pipeline(settings_from(args))
    except (DaemonError, LocationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log.info("stdio mode ready: one JSON request per line")
    try:
        asyncio.run(serve(pipeline))
    finally:
        pipeline.close()
    return 0


def command_lsp(args) -> int:
    from .lsp import run

    return run(args)


def command_serve(args) -> int:
    from .daemon.service import run_service

    if args.socket is None:
        args.socket = settings_from(args).socket or None  # the same socket that clients configured
    return run_service(args, settings_from)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fim-server", description="Fill-in-the-middle code completion backend.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    complete = sub.add_parser("complete", help="complete at FILE:LINE:COL and print the result")
    complete.add_argument("location", help="FILE:LINE:COL, 1-based")
    complete.add_argument("--json", action="store_true", help="print the full result as JSON")
    complete.add_argument("--language", help="language id (default: from the file extension)")
    complete.add_argument("--mode", choices=["auto", "line", "block"], default="auto",
                          help="completion mode (default: decided from the code at the cursor)")
    add_engine_options(complete)
    add_engine_location_options(complete)
    complete.set_defaults(handler=command_complete)

    stdio = sub.add_parser("stdio", help="serve JSON-lines requests on stdin/stdout")
    add_engine_options(stdio)
    add_engine_location_options(stdio)
    stdio.set_defaults(handler=command_stdio)

    lsp = sub.add_parser("lsp", help="serve inline completions over the Language Server Protocol on stdio")
    lsp.add_argument("--tcp", action="store_true", help="listen on TCP at 127.0.0.1 instead of stdio (debugging)")
    lsp.add_argument("--port", type=int, default=2087, help="TCP port for --tcp (default 2087)")
    lsp.add_argument("--log-file", help="append logs to this file instead of stderr")
    add_engine_options(lsp)
    add_engine_location_options(lsp)
    lsp.set_defaults(handler=command_lsp)

    from .daemon.service import add_serve_options

    serve = sub.add_parser("serve", help="run the shared model daemon (Unix socket, optional HTTP API)")
    add_engine_options(serve)
    add_serve_options(serve)
    serve.set_defaults(handler=command_serve)

    for name, module, summary in (
        ("train", "fim_server.training.train", "train the diffusion model"),
        ("corpus", "fim_server.training.corpus", "build the training corpus"),
        ("eval", "fim_server.evaluation.cli", "evaluate completion systems offline (run, rejudge, holes)"),
    ):
        delegated = sub.add_parser(name, help=summary, add_help=False)
        delegated.set_defaults(module=module)

    args, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if hasattr(args, "module"):
        import importlib

        return importlib.import_module(args.module).main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from .engine.types import ModelLoadError

    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

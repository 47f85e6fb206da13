#!/usr/bin/env python3
"""Execute a Jupyter notebook through the Deno kernel and write the executed copy.

Usage:
    run_notebook.py INPUT.ipynb --output OUTPUT.ipynb [--allow-errors]
        [--timeout SECONDS] [--progress auto|plain|none] [--kernel deno]
        [--grace SECONDS] [--summary-json PATH]

Exit status: 0 when every cell ran (or --allow-errors was given), 1 when a cell
raised, timed out or the kernel died, 2 for usage errors, 3 when nbclient or the
kernel spec is missing.

The kernel starts in the directory of INPUT, so Deno finds the nearest deno.json
and its import map. The kernel gets NO_COLOR=1 so that values and errors arrive
without ANSI colour codes.

The Deno kernel (checked with deno 2.9.6) sometimes publishes a cell's
`status: idle` on IOPub before the cell's last stream, display_data or
execute_result messages. Plain nbclient stops reading at `idle` and drops them.
When the next execute_request is sent that early, the kernel can even attach
the previous cell's late output to the next cell. This runner therefore keeps
reading IOPub after `idle` until no message for the cell has arrived for
--grace seconds, and only then sends the next cell.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import sys
import tempfile
import time
from typing import Any, NoReturn, Optional

EXIT_OK = 0
EXIT_CELL_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3

INSTALL_HINT = (
    "Install the Jupyter client packages for this Python, then register the Deno kernel:\n"
    "  Debian/Ubuntu: sudo apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel\n"
    "  pip:           python3 -m pip install nbclient ipykernel\n"
    "  Deno kernel:   deno jupyter --install"
)

ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")

# IOPub message types that add to or change a cell's outputs.
OUTPUT_MESSAGE_TYPES = frozenset(
    {"stream", "display_data", "execute_result", "error", "update_display_data", "clear_output"}
)


def strip_ansi(text: str) -> str:
    """Remove ANSI colour and cursor escape sequences from text."""
    return ANSI_ESCAPE.sub("", text)


def fail(code: int, message: str) -> NoReturn:
    """Print an error message to stderr and exit with the given status."""
    print(f"run_notebook: {message}", file=sys.stderr)
    sys.exit(code)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """Parse the command line. argparse exits with status 2 on invalid usage."""
    parser = argparse.ArgumentParser(
        prog="run_notebook.py",
        description="Execute a notebook through a Jupyter kernel and write the executed copy.",
    )

    parser.add_argument("input", metavar="INPUT.ipynb", help="notebook to execute; never modified")
    parser.add_argument(
        "--output", required=True, metavar="OUTPUT.ipynb",
        help="path of the executed copy; must differ from INPUT",
    )
    parser.add_argument(
        "--allow-errors", action="store_true",
        help="record cell errors as outputs and keep executing (exit status 0)",
    )
    parser.add_argument(
        "--timeout", type=int, default=120, metavar="SECONDS",
        help="maximum run time of one cell in seconds; 0 disables the limit (default: 120)",
    )
    parser.add_argument(
        "--progress", choices=("auto", "plain", "none"), default="auto",
        help="progress on stderr: auto = one updating line on a terminal, plain lines otherwise",
    )
    parser.add_argument("--kernel", default="deno", help="kernel spec name (default: deno)")
    # NOTE: late messages arrived within 4 ms of `idle` in runs on an otherwise idle
    # 2-core machine. The 0.3 s default is a margin over that, not a measured bound.
    parser.add_argument(
        "--grace", type=float, default=0.3, metavar="SECONDS",
        help="quiet time to wait for late outputs after a cell reports idle (default: 0.3)",
    )
    parser.add_argument(
        "--summary-json", metavar="PATH",
        help="write a JSON summary: notebook, cells, executed, errors, seconds, recovered_outputs",
    )

    arguments = parser.parse_args(argv)
    if arguments.timeout < 0:
        parser.error(f"--timeout must be 0 or a positive number of seconds, received {arguments.timeout}")
    if arguments.grace < 0:
        parser.error(f"--grace must be 0 or a positive number of seconds, received {arguments.grace}")
    return arguments


def import_jupyter_packages() -> None:
    """Import nbclient, nbformat and jupyter_client, or exit with status 3 and install hints."""
    try:
        import jupyter_client  # noqa: F401
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as error:
        fail(
            EXIT_ENVIRONMENT,
            f"Python package '{error.name}' is missing for {sys.executable}.\n{INSTALL_HINT}",
        )


def check_kernel_spec(kernel_name: str) -> None:
    """Exit with status 3 unless jupyter_client finds the kernel spec."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        fail(
            EXIT_ENVIRONMENT,
            f"Jupyter kernel spec '{kernel_name}' was not found by {sys.executable}. "
            f"Register the Deno kernel with `deno jupyter --install`.\n{INSTALL_HINT}",
        )


class ProgressReporter:
    """Progress on stderr: one updating line on a terminal, or one plain line per cell."""

    def __init__(self, name: str, total: int, mode: str) -> None:
        if mode == "auto":
            mode = "line" if sys.stderr.isatty() else "plain"
        self.mode = mode
        self.name = name
        self.total = total
        self.current = 0
        self.started = time.monotonic()
        self.ticker: Optional[asyncio.Task] = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _draw_line(self) -> None:
        line = f"notebook {self.name}: cell {self.current}/{self.total}, {self.elapsed():.1f} s"
        sys.stderr.write(f"\r{line}\x1b[K")
        sys.stderr.flush()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self._draw_line()

    def cell_started(self, position: int) -> None:
        self.current = position
        if self.mode == "line":
            self._draw_line()
            if self.ticker is None:
                self.ticker = asyncio.ensure_future(self._tick())

    def cell_finished(self, position: int) -> None:
        if self.mode == "plain":
            print(f"{self.name}: cell {position}/{self.total} ({self.elapsed():.1f} s)", file=sys.stderr)
        elif self.mode == "line":
            self._draw_line()

    def finish(self) -> None:
        """End the updating line so that later messages start on a new line."""
        if self.ticker is not None:
            self.ticker.cancel()
            self.ticker = None
        if self.mode == "line":
            sys.stderr.write("\n")
            sys.stderr.flush()


def make_client_class() -> type:
    """Define the NotebookClient subclass once nbclient is known to be importable."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete
    from nbclient.util import ensure_async

    class LateOutputClient(NotebookClient):
        """NotebookClient that keeps reading a cell's IOPub messages after it reports idle."""

        def __init__(self, nb: Any, grace: float, progress: ProgressReporter, **kwargs: Any) -> None:
            super().__init__(nb, **kwargs)
            self.grace = grace
            self.progress = progress
            # msg_id of each execute_request -> (cell, cell index), for late messages
            # that arrive while a later cell is being read.
            self.cells_by_request: dict[str, tuple[Any, int]] = {}
            self.recovered_outputs = 0
            self.suspect_outputs = 0
            self.code_cell_positions = {
                index: position
                for position, index in enumerate(
                    (i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), start=1
                )
            }
            self.current_position = 0
            self.errors: list[dict[str, Any]] = []
            self.on_cell_executed = self._record_execute_reply

        def _record_execute_reply(self, cell: Any, cell_index: int, execute_reply: Any) -> None:
            if execute_reply is None:
                return
            content = execute_reply.get("content", {})
            if content.get("status") == "error":
                self.errors.append(
                    {
                        "cell": self.code_cell_positions[cell_index],
                        "cell_id": cell.get("id"),
                        "ename": strip_ansi(str(content.get("ename", "Error"))),
                        "evalue": strip_ansi(str(content.get("evalue", ""))),
                    }
                )

        async def async_execute_cell(
            self, cell: Any, cell_index: int, execution_count: Optional[int] = None,
            store_history: bool = True,
        ) -> Any:
            position = self.code_cell_positions.get(cell_index)
            if position is None:
                return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            self.current_position = position
            self.progress.cell_started(position)
            result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            self.progress.cell_finished(position)
            return result

        def _route_other_message(self, msg: dict) -> None:
            """Add an output message of an earlier cell, which arrived after its grace window, to that cell."""
            parent_id = msg["parent_header"].get("msg_id")
            target = self.cells_by_request.get(parent_id)
            if target is None or msg["msg_type"] not in OUTPUT_MESSAGE_TYPES:
                return
            cell, cell_index = target
            self.process_message(msg, cell, cell_index)
            self.recovered_outputs += 1

        async def _drain_late_outputs(self, parent_msg_id: str, cell: Any, cell_index: int) -> None:
            """Read IOPub until no message for this cell has arrived for `grace` seconds."""
            quiet_until = time.monotonic() + self.grace
            while True:
                remaining = quiet_until - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
                except queue.Empty:
                    return
                if msg["parent_header"].get("msg_id") != parent_msg_id:
                    self._route_other_message(msg)
                    continue
                quiet_until = time.monotonic() + self.grace
                if msg["msg_type"] in OUTPUT_MESSAGE_TYPES:
                    self.process_message(msg, cell, cell_index)
                    self.recovered_outputs += 1

        async def _async_poll_output_msg(self, parent_msg_id: str, cell: Any, cell_index: int) -> None:
            self.cells_by_request[parent_msg_id] = (cell, cell_index)
            seen_execute_input = False
            while True:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
                if msg["parent_header"].get("msg_id") != parent_msg_id:
                    self._route_other_message(msg)
                    continue
                if msg["msg_type"] == "execute_input":
                    seen_execute_input = True
                elif msg["msg_type"] in OUTPUT_MESSAGE_TYPES and not seen_execute_input:
                    # The kernel labels a message with the request it is handling when it
                    # sends it. Output before execute_input may belong to the previous cell.
                    self.suspect_outputs += 1
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    await self._drain_late_outputs(parent_msg_id, cell, cell_index)
                    return

    return LateOutputClient


def merge_adjacent_streams(nb: Any) -> None:
    """Join consecutive stream outputs of the same name in each cell.

    The Deno kernel sends one stream message per console.log call. Joining the
    messages keeps `outputs` independent of how text was split into messages,
    so repeated runs compare equal.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged: list[Any] = []
        for output in cell.outputs:
            previous = merged[-1] if merged else None
            if (
                output.output_type == "stream"
                and previous is not None
                and previous.output_type == "stream"
                and previous.name == output.name
            ):
                previous.text += output.text
            else:
                merged.append(output)
        cell.outputs = merged


def write_notebook_atomically(nb: Any, path: str) -> None:
    """Write the notebook to a temporary file beside `path`, then rename it over `path`."""
    import nbformat

    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".run_notebook-", suffix=".ipynb", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            nbformat.write(nb, stream)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_json_atomically(value: Any, path: str) -> None:
    """Write `value` as indented JSON through a temporary file and a rename."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".run_notebook-", suffix=".json", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(value, stream, indent=2)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def same_file(first: str, second: str) -> bool:
    """Return whether two paths name the same file, following symbolic and hard links."""
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def first_line(text: str) -> str:
    """Return the first non-blank line of text without ANSI escapes."""
    for line in strip_ansi(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


def validate_paths(arguments: argparse.Namespace) -> tuple[str, str]:
    """Return absolute INPUT and OUTPUT paths, or exit with status 2 when a write could hit INPUT."""
    input_path = os.path.abspath(arguments.input)
    output_path = os.path.abspath(arguments.output)
    if not os.path.isfile(input_path):
        fail(EXIT_USAGE, f"input notebook {arguments.input!r} was not found.")
    if same_file(input_path, output_path):
        fail(
            EXIT_USAGE,
            f"--output {arguments.output!r} is the input notebook, and this runner never "
            "overwrites its input. Pass a different --output path.",
        )
    if arguments.summary_json:
        summary_path = os.path.abspath(arguments.summary_json)
        if same_file(input_path, summary_path) or same_file(output_path, summary_path):
            fail(
                EXIT_USAGE,
                f"--summary-json {arguments.summary_json!r} is the input or output notebook. "
                "Pass a separate path for the summary.",
            )
    return input_path, output_path


def execute_notebook(client: Any, arguments: argparse.Namespace) -> Optional[str]:
    """Run every cell and return None on success or "ErrorName: message" for the failed cell.

    Exits with status 3 when the kernel fails before the first cell starts.
    """
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    kernel_environment = {**os.environ, "NO_COLOR": "1"}
    try:
        asyncio.run(client.async_execute(env=kernel_environment))
    except CellExecutionError as error:
        return f"{strip_ansi(error.ename)}: {first_line(error.evalue)}"
    except CellTimeoutError:
        return f"TimeoutError: the cell did not finish within {arguments.timeout} s (see --timeout)"
    except DeadKernelError as error:
        return f"DeadKernelError: the kernel died while running the cell ({error})"
    except (OSError, RuntimeError) as error:
        if client.current_position == 0:
            fail(
                EXIT_ENVIRONMENT,
                f"the '{arguments.kernel}' kernel failed to start: {error}\n{INSTALL_HINT}",
            )
        return f"{type(error).__name__}: {first_line(str(error))}"
    finally:
        client.progress.finish()
    return None


def run(arguments: argparse.Namespace) -> int:
    """Execute INPUT, write OUTPUT and the optional summary, and return the exit status."""
    input_path, output_path = validate_paths(arguments)
    import_jupyter_packages()
    check_kernel_spec(arguments.kernel)

    import nbformat

    try:
        nb = nbformat.read(input_path, as_version=4)
    except (OSError, ValueError) as error:
        fail(EXIT_USAGE, f"cannot read {arguments.input!r} as a notebook: {error}")

    name = os.path.basename(input_path)
    code_cell_count = sum(1 for cell in nb.cells if cell.cell_type == "code")
    client = make_client_class()(
        nb,
        grace=arguments.grace,
        progress=ProgressReporter(name, code_cell_count, arguments.progress),
        kernel_name=arguments.kernel,
        timeout=arguments.timeout or None,
        allow_errors=arguments.allow_errors,
        resources={"metadata": {"path": os.path.dirname(input_path)}},
    )

    started = time.monotonic()
    failure = execute_notebook(client, arguments)
    seconds = time.monotonic() - started

    merge_adjacent_streams(nb)
    write_notebook_atomically(nb, output_path)

    if client.suspect_outputs:
        print(
            f"run_notebook: warning: {name}: {client.suspect_outputs} output message(s) arrived "
            "before their cell's execute_input and may belong to the previous cell. Raise --grace.",
            file=sys.stderr,
        )
    if failure is not None:
        print(
            f"FAILED {name} cell {client.current_position}/{code_cell_count}: {failure}",
            file=sys.stderr,
        )
    elif client.progress.mode == "plain":
        print(
            f"{name}: {client.current_position} of {code_cell_count} code cells ran in "
            f"{seconds:.1f} s, {client.recovered_outputs} late output(s) recovered",
            file=sys.stderr,
        )

    if arguments.summary_json:
        errors = list(client.errors)
        if failure is not None and not errors:
            # Timeouts and kernel deaths produce no execute_reply with an error status.
            ename, _, evalue = failure.partition(": ")
            errors.append(
                {"cell": client.current_position, "cell_id": None, "ename": ename, "evalue": evalue}
            )
        summary = {
            "notebook": input_path,
            "output": output_path,
            "cells": code_cell_count,
            "executed": client.current_position,
            "errors": errors,
            "seconds": round(seconds, 3),
            "recovered_outputs": client.recovered_outputs,
            "suspect_outputs": client.suspect_outputs,
        }
        write_json_atomically(summary, os.path.abspath(arguments.summary_json))
    return EXIT_OK if failure is None else EXIT_CELL_FAILED


def main() -> None:
    sys.exit(run(parse_arguments(sys.argv[1:])))


if __name__ == "__main__":
    main()

"""The progress display apply shares between tasks, uploads and downloads: its counts survive a
narrow terminal, --quiet hides it, and transfers count files and bytes in human sizes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.progress import Progress

from batchspec.apply.console import Reporter, TransferProgress, progress_columns

DETAIL = "100 waiting, 200 running, 600 succeeded, 99 failed"


def rendered(width: int) -> str:
    """The progress line as a terminal `width` columns wide shows it."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None)
    progress = Progress(*progress_columns(width), console=console)
    progress.add_task("job topn-job-0123456789abcdef", total=1000, completed=999, detail=DETAIL)
    console.print(progress.make_tasks_table(progress.tasks))
    return buffer.getvalue()


@pytest.mark.parametrize("width", [30, 50])
def test_a_narrow_terminal_keeps_the_counts_on_one_line(width: int) -> None:
    lines = rendered(width).splitlines()
    assert len(lines) == 1, lines
    assert "999/1000" in lines[0]
    assert len(lines[0]) <= width
    assert "━" not in lines[0]  # the bar went first


def test_a_wide_terminal_has_the_bar_the_label_the_counts_and_the_detail() -> None:
    line = rendered(140)
    assert "job topn-job-0123456789abcdef" in line and "━" in line
    assert "999/1000" in line and DETAIL in line


def test_at_fifty_columns_the_label_stays_and_at_thirty_it_goes() -> None:
    assert "job topn" in rendered(50)
    assert "job topn" not in rendered(30)


def plain(verbosity: str = "normal") -> tuple[Reporter, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    return Reporter(console, verbosity=verbosity), buffer  # type: ignore[arg-type]


def test_quiet_keeps_errors_warnings_and_the_result_only() -> None:
    reporter, buffer = plain("quiet")
    reporter.step("container c: created")
    reporter.detail("  sent: a.txt")
    reporter.warn("slow")
    reporter.error("stopped")
    reporter.result("tasks: 1 succeeded, 0 failed")
    with reporter.progress(2, "job j") as shown:
        shown.update(2, "done")
    assert buffer.getvalue().splitlines() == [
        "warning: slow",
        "error: stopped",
        "tasks: 1 succeeded, 0 failed",
    ]


def test_verbose_adds_the_details_and_normal_leaves_them_out() -> None:
    for verbosity, shown in (("verbose", True), ("normal", False)):
        reporter, buffer = plain(verbosity)
        reporter.step("uploads: 1 file(s) sent")
        reporter.detail("  sent: a.txt")
        assert ("  sent: a.txt" in buffer.getvalue()) is shown
        assert "uploads: 1 file(s) sent" in buffer.getvalue()


def test_transfer_progress_counts_files_and_bytes_in_human_sizes() -> None:
    reporter, buffer = plain()
    shown = TransferProgress(reporter, "uploads")
    shown.start(3, 3 * 1536)
    for _ in range(3):
        shown.advance(1536)
    shown.stop()
    lines = buffer.getvalue().splitlines()
    # Plain output is throttled: the first and the last counts, not every file.
    assert lines == [
        "uploads: 0/3 files (0 bytes of 4.5 KiB)",
        "uploads: 3/3 files (4.5 KiB of 4.5 KiB)",
    ]


def test_transfer_progress_on_a_terminal_uses_the_live_display() -> None:
    buffer = io.StringIO()
    reporter = Reporter(Console(file=buffer, force_terminal=True, width=50))
    shown = TransferProgress(reporter, "downloads")
    shown.start(2, 2048)
    shown.advance(1024)
    shown.advance(1024)
    shown.stop()
    text = buffer.getvalue()
    assert "2/2" in text and "2.0 KiB of 2.0 KiB" in text
    assert "\x1b[" in text

import io

from rich.console import Console

from batchspec.apply.console import Reporter


def test_everything_printed_is_redacted_and_printed_literally() -> None:
    buffer = io.StringIO()
    reporter = Reporter(Console(file=buffer, force_terminal=False, width=40))
    url = "https://acct.blob.core.windows.net/c/b?se=2030&sp=r&sig=c2VjcmV0c2lnbmF0dXJl"
    reporter.step(f"fetching {url}")
    reporter.warn("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5;")
    reporter.error("task [bold]x[/bold] failed")
    reporter.block("line one\nsig=abcdef")
    text = buffer.getvalue()
    assert "c2VjcmV0" not in text and "abcdef" not in text
    assert "sig=REDACTED" in text and "AccountKey=REDACTED" in text
    assert "error: task [bold]x[/bold] failed" in text
    # Long lines are not wrapped, so a URL or a path stays on one line in CI logs.
    assert f"fetching {url.replace('c2VjcmV0c2lnbmF0dXJl', 'REDACTED')}" in text
    assert "    line one\n    sig=REDACTED\n" in text

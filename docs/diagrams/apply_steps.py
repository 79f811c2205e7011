"""Draws docs/apply-steps.svg, the steps of `batchspec apply` (`make diagrams`).

The picture is plain SVG written from the table below, so it needs no drawing tool and comes
out byte for byte the same on every machine (a test checks that the committed file is current).
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "apply-steps.svg"

STEPS = [
    ("spec.yaml → plan", "load, schema and reference checks, templates rendered; nothing sent yet"),
    ("containers and uploads", "create the blob containers; upload files, skip identical blobs"),
    ("SAS URLs", "least privilege: inputs read, outputs create + write; expire with the job"),
    ("pool", "create it, or reuse / resize a compatible one; wait for nodes and StartTasks"),
    ("job and tasks", "create the job; add the tasks in collections of 100, four at a time"),
    ("monitor", "task counts, one request per poll; failed tasks with exit code and stderr"),
    ("downloads", "outputs into the downloads: directories, never outside them"),
    ("clean-up", "delete or keep containers, job and pool, as cleanup: says (only what it made)"),
]
WIDTH, LEFT, BOX_W, BOX_H, GAP, TOP = 860, 30, 560, 58, 22, 76
RAIL_X = LEFT + BOX_W + 60
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


def _text(x: float, y: float, text: str, size: int, weight: str = "normal", **extra: str) -> str:
    attributes = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in extra.items())
    return (
        f'<text x="{x:g}" y="{y:g}" {FONT} font-size="{size}" font-weight="{weight}"'
        f"{attributes}>{escape(text)}</text>"
    )


def render() -> str:
    height = TOP + len(STEPS) * (BOX_H + GAP) - GAP + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="title desc">',
        '<title id="title">What batchspec apply does, step by step</title>',
        '<desc id="desc">'
        + escape("; ".join(f"{i}. {name}: {what}" for i, (name, what) in enumerate(STEPS, 1)))
        + "</desc>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>'
        "</defs>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(LEFT, 34, "batchspec apply SPEC", 20, "bold"),
        _text(LEFT, 56, "the same steps on the local target and on Azure Batch", 14, fill="#555"),
    ]  # fmt: skip
    for i, (name, what) in enumerate(STEPS):
        y = TOP + i * (BOX_H + GAP)
        fill = "#eef4fb" if i else "#f3f3f3"
        parts.append(
            f'<rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{fill}" stroke="#3b6ea8" stroke-width="1.5"/>'
        )
        parts.append(_text(LEFT + 16, y + 24, f"{i + 1}. {name}", 16, "bold"))
        parts.append(_text(LEFT + 16, y + 45, what, 12.5, fill="#333"))
        if i + 1 < len(STEPS):
            x = LEFT + BOX_W / 2
            parts.append(
                f'<line x1="{x:g}" y1="{y + BOX_H}" x2="{x:g}" y2="{y + BOX_H + GAP - 2}" '
                'stroke="#444" stroke-width="1.5" marker-end="url(#arrow)"/>'
            )
        if i:
            # Every step after the plan is recorded in the journal as it completes.
            mid = y + BOX_H / 2
            parts.append(
                f'<line x1="{LEFT + BOX_W}" y1="{mid:g}" x2="{RAIL_X}" y2="{mid:g}" '
                'stroke="#9a6b1f" stroke-width="1" stroke-dasharray="4 3"/>'
            )
    rail_top = TOP + BOX_H + GAP
    rail_bottom = TOP + len(STEPS) * (BOX_H + GAP) - GAP
    parts.append(
        f'<rect x="{RAIL_X}" y="{rail_top}" width="{WIDTH - RAIL_X - 20}" '
        f'height="{rail_bottom - rail_top}" rx="8" fill="#fdf6e9" stroke="#9a6b1f" '
        'stroke-width="1.5"/>'
    )
    notes = [
        ("journal", 16, "bold"),
        ("<data dir>/runs/", 12.5, "normal"),
        ("", 12.5, "normal"),
        ("each step is recorded", 12.5, "normal"),
        ("as it completes;", 12.5, "normal"),
        ("apply again after an", 12.5, "normal"),
        ("error or Ctrl-C goes on", 12.5, "normal"),
        ("where the run stopped:", 12.5, "normal"),
        ("no blob sent twice,", 12.5, "normal"),
        ("no task added twice", 12.5, "normal"),
    ]
    for j, (line, size, weight) in enumerate(notes):
        if line:
            parts.append(_text(RAIL_X + 14, rail_top + 28 + j * 19, line, int(size), weight))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.write_text(render(), encoding="utf-8")

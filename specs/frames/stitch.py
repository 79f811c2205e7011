"""Stitch the rendered frames (fetched under frames/) into movie.txt, in frame order."""

import os
import pathlib

count = int(os.environ["FRAME_COUNT"])
frames = sorted(pathlib.Path("frames").glob("frame-*.txt"))
if len(frames) != count:
    raise SystemExit(f"expected {count} frames, found {len(frames)}")
with open("movie.txt", "w", encoding="utf-8") as out:
    for path in frames:
        out.write(path.read_text(encoding="utf-8"))

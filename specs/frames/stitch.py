"""Stitch the rendered frames (fetched under frames/) into movie.txt, in frame order.

An empty frame (exit code 3) leaves no file; the movie notes it.
"""

import os
import pathlib

count = int(os.environ["FRAME_COUNT"])
rendered = {int(p.stem.split("-")[1]): p for p in pathlib.Path("frames").glob("frame-*.txt")}
with open("movie.txt", "w", encoding="utf-8") as out:
    for frame in range(1, count + 1):
        path = rendered.get(frame)
        out.write(path.read_text(encoding="utf-8") if path else f"frame {frame}: empty\n")

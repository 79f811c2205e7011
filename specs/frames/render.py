"""Render one frame: a text file naming the frame, the job's frame count and quality."""

import os
import sys

frame = int(sys.argv[1])
count = int(os.environ["FRAME_COUNT"])
quality = os.environ["QUALITY"]
with open(f"frame-{frame:04d}.txt", "w", encoding="utf-8") as out:
    out.write(f"frame {frame}/{count} ({quality})\n")

"""Render one frame: a text file naming the frame, the job's frame count and quality.

Exit code 3 means the frame is empty (nothing is written); EMPTY_FRAME and BROKEN_FRAME pick
a frame that is empty or that fails, to show the job's exit conditions.
"""

import os
import sys

frame = int(sys.argv[1])
count = int(os.environ["FRAME_COUNT"])
quality = os.environ["QUALITY"]
if frame == int(os.environ.get("BROKEN_FRAME", "0")):
    raise SystemExit(f"frame {frame}: the renderer crashed")
if frame == int(os.environ.get("EMPTY_FRAME", "0")):
    print(f"frame {frame}: nothing to draw")
    sys.exit(3)
with open(f"frame-{frame:04d}.txt", "w", encoding="utf-8") as out:
    out.write(f"frame {frame}/{count} ({quality})\n")

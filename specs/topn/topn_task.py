"""Write the N most common words of a text file to `<stem>_OUTPUT.txt` in the working directory.

The task script of the topn example spec (after the Azure Batch Python tutorial's task).
Standard library only: it runs on a bare Batch node with python3.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import re

WORD = re.compile(r"[a-z']+")


def top_words(text: str, count: int) -> list[tuple[str, int]]:
    """The `count` most common words, most common first; ties in alphabetical order."""
    words = (w.strip("'") for w in WORD.findall(text.lower()))
    counts = collections.Counter(w for w in words if w)
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--filepath", required=True, help="the text file to read")
    parser.add_argument("--numwords", type=int, required=True, help="how many words to keep")
    args = parser.parse_args()
    source = pathlib.Path(args.filepath)
    text = source.read_text(encoding="utf-8")
    output = pathlib.Path(f"{source.stem}_OUTPUT.txt")
    with output.open("w", encoding="utf-8") as out:
        for word, count in top_words(text, args.numwords):
            out.write(f"{word} {count}\n")
    print(f"wrote {output} with the top {args.numwords} words of {source.name}")


if __name__ == "__main__":
    main()

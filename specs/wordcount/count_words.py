"""Count the words of one text (words of at least --min-length letters); write them as JSON.

A task script of the wordcount example spec. Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import json
import re

WORD = re.compile(r"[a-z']+")


def count_words(text: str, min_length: int) -> dict[str, int]:
    """Word -> occurrences, for words of at least `min_length` letters."""
    words = (w.strip("'") for w in WORD.findall(text.lower()))
    return dict(collections.Counter(w for w in words if len(w) >= min_length))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--min-length", type=int, default=1)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    with open(args.input, encoding="utf-8") as source:
        counts = count_words(source.read(), args.min_length)
    with open(args.output, "w", encoding="utf-8") as out:
        json.dump({"label": args.label, "counts": counts}, out, sort_keys=True)
    print(f"{args.label}: {sum(counts.values())} words, {len(counts)} distinct")


if __name__ == "__main__":
    main()

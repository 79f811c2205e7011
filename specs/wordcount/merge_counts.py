"""Merge the JSON word counts of several texts and write the most common words overall.

The merge task script of the wordcount example spec. Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import json


def merge(paths: list[str]) -> tuple[list[str], collections.Counter[str]]:
    """The labels of the inputs and their summed counts."""
    labels = []
    total: collections.Counter[str] = collections.Counter()
    for path in sorted(paths):
        with open(path, encoding="utf-8") as source:
            data = json.load(source)
        labels.append(data["label"])
        total.update(data["counts"])
    return labels, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--output", required=True)
    parser.add_argument("counts", nargs="+", help="the counts-*.json files of the count tasks")
    args = parser.parse_args()
    labels, total = merge(args.counts)
    ranked = sorted(total.items(), key=lambda pair: (-pair[1], pair[0]))[: args.top]
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(f"# {len(labels)} texts: {'; '.join(labels)}\n")
        for word, count in ranked:
            out.write(f"{word} {count}\n")
    print(f"merged {len(labels)} count files")


if __name__ == "__main__":
    main()

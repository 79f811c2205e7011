"""Summarise one column of a CSV file: count, mean, minimum and maximum, written as JSON.

The task script of specs/score.yaml, the example of docs/guide.md. Batch (or the local target)
puts the CSV file in the task's working directory; PART and SOURCE come from the spec's
`environment:`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--column", required=True)
    parser.add_argument("--decimals", type=int, default=2)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    with open(args.input, newline="", encoding="utf-8") as handle:
        values = [float(row[args.column]) for row in csv.DictReader(handle)]
    summary = {
        "source": os.environ.get("SOURCE", args.input),
        "part": int(os.environ.get("PART", "0")),
        "column": args.column,
        "count": len(values),
        "mean": round(statistics.fmean(values), args.decimals),
        "min": min(values),
        "max": max(values),
    }
    with open(args.output, "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=2)
        out.write("\n")
    print(f"{args.input}: {len(values)} values of {args.column}, mean {summary['mean']}")


if __name__ == "__main__":
    main()

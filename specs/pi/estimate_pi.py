"""Estimate pi by sampling points in the unit square; write the estimate as JSON.

The task script of the pi example spec. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import random


def estimate(seed: int, samples: int) -> float:
    """Four times the share of random points of the unit square inside the quarter circle."""
    rng = random.Random(seed)
    inside = sum(1 for _ in range(samples) if rng.random() ** 2 + rng.random() ** 2 <= 1.0)
    return 4.0 * inside / samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--samples", type=int, required=True)
    parser.add_argument("--output", required=True, help="the JSON file to write")
    args = parser.parse_args()
    value = estimate(args.seed, args.samples)
    result = {
        "seed": args.seed,
        "samples": args.samples,
        "estimate": value,
        "error": abs(value - math.pi),
    }
    with open(args.output, "w", encoding="utf-8") as out:
        json.dump(result, out)
        out.write("\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

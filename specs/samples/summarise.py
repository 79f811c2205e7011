"""One small result file per task: `qc SAMPLE TISSUE READS`, `pair A B` or `chunk START SIZE`."""

import sys

kind, *args = sys.argv[1:]
if kind == "qc":
    sample, tissue, reads = args
    name, text = sample, f"{sample} {tissue} reads={int(reads)} ok={int(reads) >= 1000}"
elif kind == "pair":
    tumour, normal = args
    name, text = f"{tumour}-{normal}", f"compare {tumour} with {normal}"
else:
    start, size = (int(a) for a in args)
    name, text = f"chunk-{start}", f"records {start}..{start + size - 1}"
with open(f"{name}.out", "w", encoding="utf-8") as out:
    out.write(text + "\n")

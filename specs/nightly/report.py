"""The nightly report: one line per run of the schedule, naming the job that wrote it."""

import datetime
import os
import sys

job = os.environ["AZ_BATCH_JOB_ID"]
title = sys.argv[1] if len(sys.argv) > 1 else "report"
now = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
# One file per job (`nightly-report:job-3` -> nightly-report-job-3.report.txt): the output
# rule uploads it under that name, so each run keeps its own report.
with open(f"{job.replace(':', '-')}.report.txt", "w", encoding="utf-8") as out:
    out.write(f"{title}: {job} ran at {now} on {os.environ['AZ_BATCH_NODE_ID']}\n")

#!/usr/bin/env python3
"""Reads a run's TensorBoard events (RUN/tb/) back with tensorboard's own reader and checks them
against the run's CSVs: every TFRecord's masked CRC-32C, and every tag, step and value.
  steps.csv    -> step/{loss,accuracy,lr,gns}          metrics.csv -> eval/{train_loss,...}
  timing.csv   -> time/PHASE/rankR at each epoch's last step; imbalance.csv -> sum of time/allreduce_wait/rankR
                  over the epochs timing.csv lists (both are of the run's last launch)
Usage: tensorboard_check.py RUN [RUN ...]; --sweep SWEEP also checks that a multiplexer over the
sweep folder sees one TensorBoard run per run folder. Prints one line per run; exit 1 on a mismatch.
"""
import csv
import glob
import os
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator, event_multiplexer
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c


def fail(message):
    print("tensorboard check FAILED: " + message)
    sys.exit(1)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def tolerance(text):
    """Half a unit in the last printed decimal of a CSV cell, plus float32 rounding."""
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 7
    return 0.5 * 10 ** -decimals + 1e-6 * abs(float(text))


def records(path):
    """The payloads of a TFRecord file, each CRC checked independently of tensorboard's reader."""
    data = open(path, "rb").read()
    out, at = [], 0
    while at < len(data):
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        payload = data[at + 12:at + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        if masked_crc32c(header) != header_crc or masked_crc32c(payload) != payload_crc:
            fail(f"{path}: bad CRC in the record at byte {at}")
        out.append(payload)
        at += 16 + length
    return out


def compare(run, scalars, tag, expected):
    """expected: [(step, csv text)] in order; the event points must be the same steps and values."""
    if tag not in scalars:
        fail(f"{run}: tag {tag} missing (tags: {sorted(scalars)})")
    got = [(e.step, e.value) for e in scalars[tag]]
    if [s for s, _ in got] != [s for s, _ in expected]:
        fail(f"{run}: {tag} steps {[s for s, _ in got][:10]}... != CSV {[s for s, _ in expected][:10]}...")
    for (step, value), (_, text) in zip(got, expected):
        if abs(value - float(text)) > tolerance(text):
            fail(f"{run}: {tag} at step {step}: {value} != CSV {text}")
    return len(got)


def check(run):
    files = sorted(glob.glob(os.path.join(run, "tb", "events.out.tfevents.*")))
    if not files:
        fail(f"{run}: no event file in {run}/tb")
    count = sum(len(records(f)) for f in files)
    acc = event_accumulator.EventAccumulator(os.path.join(run, "tb"), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}
    points = 0
    steps = rows(os.path.join(run, "steps.csv"))
    for column in ["loss", "accuracy", "lr", "gns"]:
        expected = [(int(r["step"]), r[column]) for r in steps if r[column] != ""]
        if expected or f"step/{column}" in scalars:
            points += compare(run, scalars, f"step/{column}", expected)
    # A run that diverged before its first evaluation has no metrics.csv and no eval/ points.
    path = os.path.join(run, "metrics.csv")
    metrics = rows(path) if os.path.exists(path) else []
    for column in ["train_loss", "train_acc", "test_loss", "test_acc", "gap", "loss_gap", "samples_per_sec"]:
        if metrics or f"eval/{column}" in scalars:
            points += compare(run, scalars, f"eval/{column}", [(int(r["step"]), r[column]) for r in metrics])
    epoch_end = {}
    for r in steps:
        epoch_end[int(r["epoch"])] = max(epoch_end.get(int(r["epoch"]), 0), int(r["step"]))
    timing = rows(os.path.join(run, "timing.csv"))
    for r in timing:
        tag = f"time/{r['phase']}/rank{r['rank']}"
        match = [e for e in scalars.get(tag, []) if e.step == epoch_end[int(r["epoch"])]]
        if len(match) != 1 or abs(match[0].value - float(r["total_seconds"])) > tolerance(r["total_seconds"]):
            fail(f"{run}: {tag} at step {epoch_end[int(r['epoch'])]}: {[e.value for e in match]} != timing.csv {r['total_seconds']}")
        points += 1
    # timing.csv and imbalance.csv are of the run's last launch: the epochs timing.csv lists.
    launch_ends = {epoch_end[int(r["epoch"])] for r in timing}
    for r in rows(os.path.join(run, "imbalance.csv")):
        tag = f"time/allreduce_wait/rank{r['rank']}"
        waits = [e.value for e in scalars.get(tag, []) if e.step in launch_ends]
        if len(waits) != len(launch_ends) or abs(sum(waits) - float(r["wait_seconds"])) > 1e-5 * (1 + len(waits)):
            fail(f"{run}: {tag} sums to {sum(waits)} over {len(waits)} epochs, imbalance.csv says {r['wait_seconds']}")
        points += len(waits)
    print(f"tensorboard check OK: {run}: {len(files)} event file(s), {count} records, {len(scalars)} tags, {points} points match the CSVs")


def main(argv):
    if len(argv) >= 2 and argv[0] == "--sweep":
        sweep = argv[1]
        runs = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(sweep, "*", "summary.json")))
        multiplexer = event_multiplexer.EventMultiplexer()
        multiplexer.AddRunsFromDirectory(sweep)
        multiplexer.Reload()
        seen = sorted(multiplexer.Runs())
        wanted = sorted(os.path.relpath(os.path.join(r, "tb"), sweep) for r in runs)
        if seen != wanted:
            fail(f"tensorboard --logdir {sweep} would show runs {seen}, expected {wanted}")
        print(f"tensorboard check OK: --logdir {sweep} shows {len(seen)} runs: {', '.join(seen)}")
        argv = runs + argv[2:]
    for run in argv:
        check(run)


if __name__ == "__main__":
    main(sys.argv[1:])

"""PyTorch DDP (gloo) twin of `ddp bench`: same models, data, sharding and optimizers, step time per batch.

Spawns its own ranks with torch.multiprocessing (no torchrun); one thread per rank. Prints and
writes figures only: the ratio to swift-ddp means something only when both run under the same
conditions (see README.md beside this file).

    .venv/bin/python ddp_bench.py --ranks 2 --model mlp --batch-per-rank 32,128,512 --steps 200 --warmup 20
"""
import argparse
import datetime
import gzip
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


def fail(message):
    sys.exit(f"ddp_bench.py: {message}")


# ---- data ---------------------------------------------------------------------------------------

def read_idx(path, magic):
    """The array in one gzipped IDX file: images (N, H, W) uint8 for 2051, labels (N) for 2049."""
    if not path.is_file():
        fail(f"no file {path} (apt-get install dataset-fashion-mnist, or pass --data DIR)")
    raw = gzip.open(path, "rb").read()
    found, = np.frombuffer(raw, ">i4", 1)
    if found != magic:
        fail(f"{path}: IDX magic {found}, expected {magic}")
    rank = magic & 0xFF
    dims = [int(d) for d in np.frombuffer(raw, ">i4", rank, 4)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_train(folder):
    """Standardised training images (N, 1, 28, 28) float32 and labels (N) int64.

    As swift-ddp's PixelNormalizer: one mean and one (population) std over all training pixels
    scaled to [0, 1], in float64, applied through a 256-entry float32 table.
    """
    images = read_idx(folder / "train-images-idx3-ubyte.gz", 2051)
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz", 2049)
    if len(images) != len(labels):
        fail(f"{len(images)} images but {len(labels)} labels in {folder}")
    histogram = np.bincount(images.ravel(), minlength=256).astype(np.float64)
    values = np.arange(256) / 255
    mean = (histogram * values).sum() / images.size
    std = max(np.sqrt((histogram * values * values).sum() / images.size - mean * mean), 1e-3)
    table = ((values - mean) / std).astype(np.float32)
    x = torch.from_numpy(table[images][:, None, :, :])
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class ShardedBatches:
    """This rank's sample indices for each step, as swift-ddp's ShardedSampler (accumulation 1).

    Every epoch has one seeded permutation, the same on every rank; global batch G = ranks x
    batchPerRank consecutive permuted samples, of which rank r takes the r-th run of batchPerRank.
    Unlike swift-ddp the short last batch of an epoch is skipped, so every timed step has the
    same size, and the permutation is numpy's, not swift-ddp's SplitMix64 one.
    """

    def __init__(self, samples, seed, rank, ranks, batch_per_rank):
        self.samples, self.seed = samples, seed
        self.offset = rank * batch_per_rank
        self.batch_per_rank = batch_per_rank
        self.global_batch = ranks * batch_per_rank
        self.steps_per_epoch = samples // self.global_batch
        self.epoch, self.permutation = -1, None

    def start_step(self, step):
        """Shuffles when `step` opens an epoch; call it outside the timed region."""
        epoch = step // self.steps_per_epoch
        if epoch != self.epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self.permutation = torch.from_numpy(rng.permutation(self.samples))
            self.epoch = epoch

    def indices(self, step):
        start = (step % self.steps_per_epoch) * self.global_batch + self.offset
        return self.permutation[start:start + self.batch_per_rank]


# ---- models -------------------------------------------------------------------------------------

class Residual(nn.Module):
    """He et al.'s basic block as swift-ddp's `resF[sS]`: conv3x3 (stride) - bn - relu - conv3x3 - bn,
    plus the identity or a 1 x 1 conv (stride) - bn projection; relu after the sum. A stride-2 conv3x3
    pads as swift-ddp's `same` (TensorFlow's SAME): the one pixel of padding at the bottom and right,
    none at the top and left (PyTorch's padding=1 would put one on every side: another network)."""

    def __init__(self, channels, filters, stride):
        super().__init__()
        first = [nn.Conv2d(channels, filters, 3, stride, 1, bias=False)] if stride == 1 else \
            [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(channels, filters, 3, stride, 0, bias=False)]
        self.body = nn.Sequential(
            *first, nn.BatchNorm2d(filters), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, 1, 1, bias=False), nn.BatchNorm2d(filters))
        self.shortcut = None
        if stride != 1 or channels != filters:
            self.shortcut = nn.Sequential(nn.Conv2d(channels, filters, 1, stride, bias=False), nn.BatchNorm2d(filters))

    def forward(self, x):
        return torch.relu(self.body(x) + (x if self.shortcut is None else self.shortcut(x)))


def resnet(depth):
    """swift-ddp's `resnetD` (He et al. 2016, sec. 4.2) on 1 x 28 x 28: 28 -> 14 -> 7, then global average pool."""
    n = (depth - 2) // 6
    layers = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    channels = 16
    for stage, filters in enumerate([16, 32, 64]):
        for block in range(n):
            layers.append(Residual(channels, filters, 2 if stage > 0 and block == 0 else 1))
            channels = filters
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def keskar_c1():
    """swift-ddp's `keskar-c1` (Keskar et al. 2017, Table 1) on 1 x 28 x 28: 28 -> pool 13 -> pool 6."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, 1, 2, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 64, 5, 1, 2, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(64 * 6 * 6, 384, bias=False), nn.BatchNorm1d(384), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(384, 192, bias=False), nn.BatchNorm1d(192), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(192, 10))


MODELS = ["mlp", "cnn", "resnet8", "resnet20", "keskar-c1"]


def build(model_name):
    """The model and its optimizer, as swift-ddp's `--model NAME` with run.sh's optimizer:
    SGD momentum 0.9 (mlp, resnetD, keskar-c1) or Adam (cnn)."""
    sgd = lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)
    if model_name == "mlp":  # 784-128-10
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), sgd
    if model_name.startswith("resnet"):
        return resnet(int(model_name[6:])), sgd
    if model_name == "keskar-c1":
        return keskar_c1(), sgd
    # conv32k3-pool2-fc10: (N,1,28,28) -> conv (N,32,26,26) -> pool (N,32,13,13) -> (N,5408) -> (N,10)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5408, 10))
    return model, lambda params: torch.optim.Adam(params, lr=1e-3)


# ---- one rank -----------------------------------------------------------------------------------

def thread_summary():
    """torch's build and thread lines from parallel_info(), as this rank sees them."""
    lines = [line.strip() for line in torch.__config__.parallel_info().splitlines()]
    keep = [line for line in lines if "thread" in line.lower() or "backend" in line.lower()]
    return keep + [f"CPU capability: {torch.backends.cpu.get_cpu_capability()}"]


def time_batch(config, rank, ranks, images, labels, batch_per_rank):
    """Per-step seconds of `config.steps` steps after `config.warmup` untimed ones, on this rank."""
    torch.manual_seed(config.seed)
    model, make_optimizer = build(config.model)
    if ranks > 1:
        model = DistributedDataParallel(model)  # broadcasts rank 0's weights
    optimizer = make_optimizer(model.parameters())
    criterion = nn.CrossEntropyLoss()
    batches = ShardedBatches(len(labels), config.seed, rank, ranks, batch_per_rank)
    seconds = []
    if ranks > 1:
        dist.barrier()
    for step in range(config.warmup + config.steps):
        batches.start_step(step)
        start = time.perf_counter()
        index = batches.indices(step)
        x, y = images.index_select(0, index), labels.index_select(0, index)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()  # DDP's gloo allreduce runs and is waited for inside backward
        optimizer.step()
        elapsed = time.perf_counter() - start
        if step >= config.warmup:
            seconds.append(elapsed)
    if not np.isfinite(loss.item()):
        fail(f"rank {rank}: {config.model} at batch {batch_per_rank} per rank: loss {loss.item()}")
    return seconds


def run_rank(rank, ranks, port, config, images, labels):
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)  # only legal before any inter-op work; eager training does none
    if ranks > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=ranks)
    report = Report(config, ranks) if rank == 0 else None
    for batch_per_rank in config.batch_per_rank:
        seconds = time_batch(config, rank, ranks, images, labels, batch_per_rank)
        if ranks > 1:
            every_rank = [None] * ranks
            dist.all_gather_object(every_rank, seconds)
            # The job's step is as slow as its slowest rank.
            seconds = [max(step) for step in zip(*every_rank)]
        if report:
            report.add(batch_per_rank, seconds)
    if report:
        report.write()
    if ranks > 1:
        dist.destroy_process_group()


# ---- output -------------------------------------------------------------------------------------

class Report:
    """Rank 0's printed lines and the JSON file."""

    def __init__(self, config, ranks):
        self.config, self.ranks, self.rows = config, ranks, []
        self.threads = thread_summary()
        print(f"torch {torch.__version__}, {ranks} rank(s), "
              f"{'DDP gloo on 127.0.0.1' if ranks > 1 else 'no DDP (one process)'}, "
              f"{config.warmup} warmup + {config.steps} timed steps")
        for line in self.threads:
            print(f"  {line}")
        print(f"{'model':<10}{'ranks':>6}{'batch/rank':>11}{'median step s':>15}{'samples/s':>12}", flush=True)

    def add(self, batch_per_rank, seconds):
        median = statistics.median(seconds)
        deciles = statistics.quantiles(seconds, n=10)
        row = {
            "batch_per_rank": batch_per_rank,
            "global_batch": self.ranks * batch_per_rank,
            "median_step_seconds": median,
            "p10_step_seconds": deciles[0],
            "p90_step_seconds": deciles[-1],
            "samples_per_second": self.ranks * batch_per_rank / median,
        }
        self.rows.append(row)
        print(f"{self.config.model:<10}{self.ranks:>6}{batch_per_rank:>11}{median:>15.6f}"
              f"{row['samples_per_second']:>12,.0f}", flush=True)

    def write(self):
        result = {
            "tool": "bench/pytorch/ddp_bench.py",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__,
            "threads": self.threads,
            "backend": "gloo" if self.ranks > 1 else "none",
            "model": self.config.model,
            "ranks": self.ranks,
            "warmup": self.config.warmup,
            "steps": self.config.steps,
            "seed": self.config.seed,
            "data": str(self.config.data),
            "step_seconds": "max over ranks of each step, then median / deciles over the timed steps",
            "results": self.rows,
        }
        self.config.out.parent.mkdir(parents=True, exist_ok=True)
        self.config.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {self.config.out}")


# ---- command ------------------------------------------------------------------------------------

def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2, help="processes; 1 runs the bare model, no DDP")
    parser.add_argument("--model", choices=MODELS, default="mlp")
    parser.add_argument("--batch-per-rank", default="32,128,512", help="comma-separated list")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per batch size")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps before them")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the gzipped IDX files")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    config = parser.parse_args(argv)
    try:
        config.batch_per_rank = [int(b) for b in config.batch_per_rank.split(",")]
    except ValueError:
        parser.error(f"--batch-per-rank {config.batch_per_rank!r}: want integers joined by commas")
    if config.ranks < 1 or config.steps < 2 or config.warmup < 0 or min(config.batch_per_rank) < 1:
        parser.error("need --ranks >= 1, --steps >= 2, --warmup >= 0 and every batch >= 1")
    return config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv):
    config = parse(argv)
    images, labels = load_train(config.data)
    too_big = [b for b in config.batch_per_rank if config.ranks * b > len(labels)]
    if too_big:
        fail(f"batch per rank {too_big[0]} x {config.ranks} ranks exceeds the {len(labels)} samples")
    if config.ranks == 1:
        run_rank(0, 1, None, config, images, labels)
        return
    # Children inherit these: gloo on the loopback interface, one OpenMP/MKL thread per rank.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    images.share_memory_()  # one copy of the 188 MB set for all ranks
    labels.share_memory_()
    mp.spawn(run_rank, args=(config.ranks, free_port(), config, images, labels), nprocs=config.ranks)


if __name__ == "__main__":
    main(sys.argv[1:])

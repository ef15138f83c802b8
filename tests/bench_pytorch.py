#!/usr/bin/env python3
"""bench_pytorch.py -- the training-throughput part of `make bench` (section d), in PyTorch.

The same two reference models, the same batch sizes, the same step (forward, mean
cross-entropy, backward, plain SGD) on random data, the same thread count and the same
statistic (median of timed runs after a warm-up), so deepc's samples/s can be put beside
PyTorch's CPU numbers on one machine:
  MLP 784-256-256-10, batch 128;
  LeNet-5 (conv 6 5x5 pad 2, avgpool 2, conv 16 5x5, avgpool 2, 120, 84, 10; ReLU), batch 64.

  python3 tests/bench_pytorch.py [--threads N] [--quick] [--csv out/bench/bench.csv]

Without torch (Debian: apt-get install python3-torch) it says so and exits 0. When the CSV of
a `make bench` run exists, deepc's numbers from it are printed alongside. Never part of
`make test`.
"""
import argparse
import csv
import os
import re
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads (default 0: all cores, as ./build/bench)")
    p.add_argument("--quick", action="store_true", help="two short runs, for a smoke test")
    p.add_argument("--runs", type=int, default=7, help="timed runs per model (default 7)")
    p.add_argument("--csv", default="out/bench/bench.csv",
                   help="deepc's bench.csv to compare with, if present (default %(default)s)")
    return p.parse_args()


def models(torch):
    nn = torch.nn
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                        nn.ReLU(), nn.Linear(256, 10))
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),   # (6,14,14)
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),             # (16,5,5)
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))
    return [("MLP 784-256-256-10", mlp, 128, (1, 784)),
            ("LeNet-5", lenet, 64, (1, 1, 28, 28))]


def throughput(torch, model, batch, shape, runs, run_seconds):
    """median samples/s over `runs` runs of enough steps to last run_seconds"""
    x = torch.rand((batch,) + shape[1:])
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        loss_fn(model(x), y).backward()
        opt.step()

    t0 = time.perf_counter()
    step()  # warm-up
    first = max(time.perf_counter() - t0, 1e-9)
    if first < 0.2 and run_seconds > 0:
        step(), step()
    steps = max(1, int(run_seconds / first + 0.999)) if run_seconds > 0 else 1
    per_step = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        per_step.append((time.perf_counter() - t0) / steps)
    return batch / statistics.median(per_step)


def deepc_numbers(path):
    """{'MLP 784-256-256-10': samples/s, ...} from a bench.csv, blas rows of section train"""
    found = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["section"] == "train" and row["variant"] == "blas":
                    found[row["case"].rsplit(" batch ", 1)[0]] = float(row["value"])
    except (OSError, KeyError, ValueError):
        pass
    return found


def main():
    args = parse_args()
    threads = args.threads if args.threads > 0 else (os.cpu_count() or 1)
    # torch.set_num_threads sets only the intra-op (OpenMP) pool; a BLAS library behind torch
    # (Debian's links OpenBLAS) keeps its own, sized from the environment when it loads
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    try:
        import torch
    except ImportError:
        print("bench_pytorch: PyTorch is not installed (Debian: apt-get install python3-torch; "
              "or pip install torch); nothing to compare. deepc's own numbers: make bench")
        return 0
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    runs, run_seconds = (2, 0.0) if args.quick else (max(5, args.runs), 0.25)
    deepc = deepc_numbers(args.csv)
    info = torch.__config__.parallel_info().splitlines()
    backend = next((line.strip() for line in info if "parallel backend" in line), "")
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads "
          f"(OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}), median of {runs} runs; "
          f"{backend}, BLAS_INFO={blas.group(1) if blas else '?'}")
    print(f"   {'model':<22} {'batch':>6} {'torch':>12} {'deepc':>12} {'deepc/torch':>12}")
    print(f"   {'':<22} {'':>6} {'samples/s':>12} {'samples/s':>12}")
    for name, model, batch, shape in models(torch):
        s = throughput(torch, model, batch, shape, runs, run_seconds)
        d = deepc.get(name)
        extra = f" {d:12.0f} {d / s:11.2f}x" if d else f" {'-':>12} {'-':>12}"
        print(f"   {name:<22} {batch:>6} {s:12.0f}{extra}")
    if not deepc:
        print(f"(no deepc numbers: {args.csv} not found; run make bench first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench_pytorch.py -- the training-throughput part of `make bench` (section d), in PyTorch.

The same reference models, the same batch sizes, the same step (forward, mean
cross-entropy, backward, plain SGD) on random data, the same thread count and the same
statistic (median of timed runs after a warm-up), so deepc's samples/s can be put beside
PyTorch's CPU numbers on one machine:
  MLP 784-256-256-10, batch 128;
  LeNet-5 (conv 6 5x5 pad 2, avgpool 2, conv 16 5x5, avgpool 2, 120, 84, 10; ReLU), batch 64;
  LSTM, 32 input features, hidden 128, 50 steps, its last h -> Linear 10, batch 32;
  one pre-norm Transformer encoder block (d_model 64, 4 heads, feed-forward 256, GELU, no
  dropout) over 64 positions, Linear 10 at every position, batch 32.

  python3 tests/bench_pytorch.py [--threads N] [--quick] [--csv out/bench/bench.csv]
  python3 tests/bench_pytorch.py --threads 1 --rounds 5 [--models mlp,lstm] [--deepc build/bench]

Without torch (Debian: apt-get install python3-torch) it says so and exits 0. When the CSV of
a `make bench` run exists, deepc's numbers from it are printed alongside. With --rounds N the
two take turns instead, model by model, N times: `build/bench --only d --no-naive --models
KEY` (same thread count) and PyTorch, the order swapped every round; each ratio compares two
numbers taken seconds apart, and the summary is their median and range -- on a shared
machine, far steadier than comparing two runs made at different times. Never part of
`make test`.
"""
import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


KEYS = ["mlp", "lenet", "lstm", "transformer"]  # deepc's bench --models, in models()' order


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads (default 0: all cores, as ./build/bench)")
    p.add_argument("--quick", action="store_true", help="two short runs, for a smoke test")
    p.add_argument("--runs", type=int, default=7, help="timed runs per model (default 7)")
    p.add_argument("--csv", default="out/bench/bench.csv",
                   help="deepc's bench.csv to compare with, if present (default %(default)s)")
    p.add_argument("--rounds", type=int, default=0,
                   help="alternate deepc's bench and PyTorch this many times (default 0: no)")
    p.add_argument("--models", default=",".join(KEYS),
                   help="which of %(default)s to run (default: all)")
    p.add_argument("--deepc", default="build/bench",
                   help="the bench program --rounds runs (default %(default)s)")
    args = p.parse_args()
    args.models = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = [k for k in args.models if k not in KEYS]
    if unknown or not args.models:
        p.error(f"--models: expected some of {','.join(KEYS)}, got {','.join(unknown) or 'none'}")
    return args


def models(torch):
    """(name as in deepc's bench.csv, model, batch, input shape, labels per example)"""
    nn = torch.nn
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                        nn.ReLU(), nn.Linear(256, 10))
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),   # (6,14,14)
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),             # (16,5,5)
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))

    class LSTM(nn.Module):  # input (T,B,32), time-major like deepc's; the last h -> 10
        def __init__(self):
            super().__init__()
            self.lstm, self.head = nn.LSTM(32, 128), nn.Linear(128, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])

    class Block(nn.Module):  # input (B,T,64); logits (B*T,10), one label per position
        def __init__(self):
            super().__init__()
            self.block = nn.TransformerEncoderLayer(64, 4, dim_feedforward=256, dropout=0.0,
                                                    activation="gelu", batch_first=True,
                                                    norm_first=True)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            return self.head(self.block(x)).reshape(-1, 10)

    return [("MLP 784-256-256-10", mlp, 128, (128, 784), 1),
            ("LeNet-5", lenet, 64, (64, 1, 28, 28), 1),
            ("LSTM 32-128 seq 50", LSTM(), 32, (50, 32, 32), 1),
            ("Transformer d64 h4 ff256 seq 64", Block(), 32, (32, 64, 64), 64)]


def throughput(torch, model, batch, shape, labels, runs, run_seconds):
    """median samples/s over `runs` runs of enough steps to last run_seconds"""
    x = torch.rand(shape)
    y = torch.randint(0, 10, (batch * labels,))
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
    if args.rounds > 0:
        return interleaved(args, torch, threads, runs, run_seconds)
    print(f"   {'model':<34} {'batch':>6} {'torch':>12} {'deepc':>12} {'deepc/torch':>12}")
    print(f"   {'':<34} {'':>6} {'samples/s':>12} {'samples/s':>12}")
    for key, (name, model, batch, shape, labels) in zip(KEYS, models(torch)):
        if key not in args.models:
            continue
        s = throughput(torch, model, batch, shape, labels, runs, run_seconds)
        d = deepc.get(name)
        extra = f" {d:12.0f} {d / s:11.2f}x" if d else f" {'-':>12} {'-':>12}"
        print(f"   {name:<34} {batch:>6} {s:12.0f}{extra}", flush=True)
    if not deepc:
        print(f"(no deepc numbers: {args.csv} not found; run make bench first)")
    return 0


def interleaved(args, torch, threads, runs, run_seconds):
    """--rounds: per model, deepc's bench and PyTorch one after the other (the order swapped
    every round), so each ratio compares two numbers taken seconds apart"""
    out = tempfile.mkdtemp(prefix="bench_pytorch_")
    # full sizes on both sides (--quick only shortens PyTorch's runs)
    cmd = [args.deepc, "--only", "d", "--no-naive", "--threads", str(threads), "--out", out]
    table = models(torch)
    table = [(key, row) for key, row in zip(KEYS, table) if key in args.models]
    ratios = {name: [] for _, (name, *_) in table}
    print(f"each round, per model: {' '.join(cmd)} --models KEY and PyTorch, alternately; "
          f"samples/s deepc / torch = ratio")
    for r in range(args.rounds):
        line = []
        for key, (name, model, batch, shape, labels) in table:
            for turn in ((0, 1) if r % 2 == 0 else (1, 0)):
                if turn == 0:
                    done = subprocess.run(cmd + ["--models", key], stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True)
                    if done.returncode != 0:
                        print(done.stdout)
                        print(f"bench_pytorch: {args.deepc} failed (status {done.returncode})")
                        return 1
                    d = deepc_numbers(os.path.join(out, "bench.csv")).get(name, float("nan"))
                else:
                    s = throughput(torch, model, batch, shape, labels, runs, run_seconds)
            ratios[name].append(d / s)
            line.append(f"{name.split(' ')[0]} {d:.0f}/{s:.0f} = {d / s:.2f}x")
        print(f"   round {r + 1}: " + ", ".join(line), flush=True)
    shutil.rmtree(out, ignore_errors=True)
    print(f"deepc / torch at {threads} thread(s), {args.rounds} rounds: median [min, max]")
    for name, rs in ratios.items():
        print(f"   {name:<34} {statistics.median(rs):5.2f}x  [{min(rs):.2f}, {max(rs):.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

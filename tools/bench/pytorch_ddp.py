#!/usr/bin/env python3
"""The same net in PyTorch DistributedDataParallel over R CPU processes (gloo), one thread each, the global batch
split across them as scn splits it: training images/s for each R, the side-by-side of tools/bench/ranks_scaling.sh.

    .venv-bench/bin/python tools/bench/pytorch_ddp.py CONFIG [--batch B] [--ranks 1 2] [--warmup 3] [--steps 20]

The net is scn_torch's (tools/bench/pytorch_scn.py builds it: the same layers, parametrisation and projections);
the data are random images, as pytorch_scn.py's timing uses. Each process runs one OpenMP thread; the rate is
global batch × steps / the slowest rank's time.
"""
import argparse
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_scn as ps  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, world, config, args, batch, port, results):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    cfg = ps.load_config(config)
    torch.manual_seed(args.seed)
    net = ps.build_net(cfg, args)
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    lr, momentum, wd = ps.optimizer_settings(cfg)
    opt = torch.optim.SGD(net.param_groups(wd), lr=lr, momentum=momentum)
    share = batch // world + (1 if rank < batch % world else 0)
    g = torch.Generator().manual_seed(args.seed + rank)
    x = torch.randn((share,) + net.input_shape, generator=g)
    y = torch.randint(0, net.classes, (share,), generator=g)
    net.train()

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        net.project()

    for _ in range(args.warmup):
        step()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = torch.tensor([time.perf_counter() - start])
    dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
    if rank == 0:
        results.put(batch * args.steps / float(seconds))
    dist.destroy_process_group()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("--batch", type=int, help="global batch (default: the config's train.batch, else 128)")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="process counts to time (default 1 2)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dictionary-op", choices=sorted(ps.DICTIONARY_OPS), default="conv2d_input")
    args = ap.parse_args(argv)
    cfg = ps.load_config(args.config)
    batch = args.batch or int((cfg.get("train") or {}).get("batch", 128))
    ctx = mp.get_context("spawn")
    rates = {}
    for world in args.ranks:
        results = ctx.Queue()
        mp.start_processes(worker, args=(world, args.config, args, batch, free_port(), results), nprocs=world,
                           join=True, start_method="spawn")
        rates[world] = results.get()
    print(f"PyTorch {torch.__version__} DistributedDataParallel (gloo), {args.config}, global batch {batch}, "
          f"one thread per process, {args.warmup} warm-up + {args.steps} timed steps")
    for world, rate in rates.items():
        eff = f"   scaling efficiency {100 * rate / (world * rates[args.ranks[0]]):.0f} %" if world != args.ranks[0] else ""
        print(f"{world} process{'es' if world > 1 else '  '}: {rate:8.1f} images/s{eff}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``facecloak-ray``: protect and evaluate a dataset's manifest across a Ray cluster.

Every node needs the ``facecloak`` binary, the face models and the photos at the same paths,
and the output directory on a shared file system (NFS or similar), because each task reads and
writes files there. One task per shard, one CPU per task (``RAYON_NUM_THREADS`` set to match),
each running::

    facecloak protect --manifest M --shard K/N --resume -o OUT [your protect options]
    facecloak eval --pairs OUT/pairs.K-of-N.csv --gallery G -o OUT/eval/K-of-N

A task that dies (node lost, process killed) is retried by Ray and, thanks to ``--resume``,
goes on where it stopped; a shard whose photos partly failed (no face, unreadable) is finished,
its failures in its log. At the end the driver runs ``facecloak eval --merge`` over the shards:
``OUT/eval/merged`` holds the report one run over every photo would write.
"""

import argparse
import csv
import glob
import json
import os
import subprocess
import sys
import time

import ray

from .loopback import is_loopback, keep_loopback


def load(path):
    """A JSON file's value."""
    with open(path) as f:
        return json.load(f)


def photos_in(manifest):
    """How many photos the manifest lists (rows with a photo)."""
    with open(manifest, newline="") as f:
        return max(sum(1 for row in csv.reader(f) if row and row[0].strip()) - 1, 0)


def facecloak_command(binary, command, models):
    args = [binary, command]
    if models:
        args += ["--models", models]
    return args


def _die_with_parent():
    """In the child, before exec: SIGKILL when the Ray worker that started it dies (Linux's
    PR_SET_PDEATHSIG), so that a retried shard never runs beside an orphan of its last try."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the orphan finishes its photo; --resume and atomic writes keep it safe


def _facecloak(args, env):
    return subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          preexec_fn=_die_with_parent)


@ray.remote(num_cpus=1)
def run_shard(shard, shards, manifest, out, gallery, binary, models, protect_args, threads):
    """Protects and evaluates shard ``shard`` of ``shards``; returns where and what it did."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    suffix = f"{shard}-of-{shards}"
    protect = facecloak_command(binary, "protect", models) + [
        "--manifest", manifest, "--shard", f"{shard}/{shards}", "--resume", "-o", out, *protect_args,
    ]
    done = _facecloak(protect, env)
    log_path = os.path.join(out, f"protect-log.{suffix}.json")
    log = load(log_path) if os.path.exists(log_path) else None
    # Killed, or stopped before its log says anything: Ray retries it (and --resume goes on).
    if done.returncode != 0 and not (done.returncode > 0 and log and log["failed"]):
        raise RuntimeError(f"shard {shard}/{shards}: facecloak protect exited {done.returncode}: {done.stderr[-2000:]}")
    evaluated = None
    if log and (log["done"] or log["skipped"]):
        evaluated = os.path.join(out, "eval", suffix)
        score = facecloak_command(binary, "eval", models) + [
            "--pairs", os.path.join(out, f"pairs.{suffix}.csv"), "--gallery", gallery, "-o", evaluated,
        ]
        scored = _facecloak(score, env)
        if scored.returncode != 0:
            raise RuntimeError(f"shard {shard}/{shards}: facecloak eval exited {scored.returncode}: {scored.stderr[-2000:]}")
    return {
        "shard": suffix,
        "node": ray.get_runtime_context().get_node_id(),
        "done": log["done"] if log else [],
        "skipped": log["skipped"] if log else [],
        "failed": log["failed"] if log else [],
        "eval": evaluated,
    }


def progress(out):
    """Photos finished so far over every shard's log (done, skipped or failed)."""
    finished = 0
    for path in glob.glob(os.path.join(out, "protect-log.*-of-*.json")):
        try:
            log = load(path)
        except (OSError, ValueError):
            continue  # being replaced this instant
        finished += len(log["done"]) + len(log["skipped"]) + len(log["failed"])
    return finished


def run(manifest, out, *, shards=None, gallery=None, binary="facecloak", models=None, protect_args=(),
        retries=3, threads=1, show_progress=True):
    """Protects ``manifest``'s photos into ``out`` over the connected Ray cluster, evaluates each
    shard and merges the evaluations; returns the shards' results and the merged report's path."""
    manifest, out = os.path.abspath(manifest), os.path.abspath(out)
    gallery = os.path.abspath(gallery or manifest)
    os.makedirs(out, exist_ok=True)
    if shards is None:
        shards = max(int(ray.cluster_resources().get("CPU", 1)) // threads, 1)
    task = run_shard.options(num_cpus=threads, max_retries=retries, retry_exceptions=True)
    pending = [
        task.remote(k, shards, manifest, out, gallery, binary, models, list(protect_args), threads)
        for k in range(shards)
    ]
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=photos_in(manifest), unit="photo", desc=f"{shards} shards")
    results = []
    while pending:
        ready, pending = ray.wait(pending, timeout=1.0)
        results += ray.get(ready)
        if bar is not None:
            bar.n = progress(out)
            bar.refresh()
    if bar is not None:
        bar.close()
    results.sort(key=lambda r: r["shard"])
    evaluated = [r["eval"] for r in results if r["eval"]]
    merged = None
    if evaluated:
        merged = os.path.join(out, "eval", "merged")
        subprocess.run(
            [binary, "eval", "--merge", *evaluated, "-o", merged], check=True, stdout=subprocess.DEVNULL
        )
    return {"shards": results, "merged": merged}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="facecloak-ray",
        description="Protect and evaluate a dataset on a Ray cluster (one facecloak shard per CPU).",
        epilog="Options after -- go to facecloak protect as they are, e.g. -- --strength high --steps 60.",
    )
    parser.add_argument("--address", default="auto", help="the Ray cluster (default: auto; a local one if none)")
    parser.add_argument("--manifest", required=True, help="CSV of photos: file,identity[,target]")
    parser.add_argument("--out", required=True, help="output directory, on a file system every node shares")
    parser.add_argument("--gallery", help="labelled gallery to score against (default: the manifest)")
    parser.add_argument("--shards", type=int, help="how many shards (default: the cluster's CPUs ÷ --threads)")
    parser.add_argument("--threads", type=int, default=1, help="CPUs (and RAYON_NUM_THREADS) per task")
    parser.add_argument("--binary", default="facecloak", help="the facecloak binary on every node")
    parser.add_argument("--models", help="the face models' directory on every node")
    parser.add_argument("--retries", type=int, default=3, help="how often Ray retries a failed shard")
    args, protect_args = parser.parse_known_args(argv)
    protect_args = [a for a in protect_args if a != "--"]
    address = args.address
    if address != "auto" and is_loopback(address):
        keep_loopback()
        ray.init(address=address, _node_ip_address="127.0.0.1", logging_level="warning")
    else:
        ray.init(address=None if address == "auto" and not os.environ.get("RAY_ADDRESS") else address)
    started = time.time()
    result = run(args.manifest, args.out, shards=args.shards, gallery=args.gallery, binary=args.binary,
                 models=args.models, protect_args=protect_args, retries=args.retries, threads=args.threads)
    photos = sum(len(r["done"]) for r in result["shards"])
    minutes = (time.time() - started) / 60
    print(f"{photos} photos protected in {minutes:.1f} min ({photos / max(minutes, 1e-9):.1f} per minute) "
          f"over {len({r['node'] for r in result['shards']})} nodes; merged report: {result['merged']}")
    failed = [f for r in result["shards"] for f in r["failed"]]
    for f in failed:
        print(f"failed: {f['photo']}: {f['reason']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""facecloak on a real two-node Ray cluster on 127.0.0.1 (a head and one worker node, started
here and stopped at the end, every address loopback, no dashboard, no usage reporting):

- five photos of ``../shared/faces`` at two steps, protected in two shards on the two nodes and
  merged, give the report of one ``facecloak`` run over all five, bit for bit;
- the Ray worker running a shard killed (SIGKILL) in the middle of it, its ``facecloak
  protect`` going with it: Ray retries the shard, ``--resume`` finishes it, no photo is
  protected twice and no partial file is left.

Needs the ``facecloak`` binary (``FACECLOAK_BIN``, default the cargo target dir's debug build),
the face models (``FACECLOAK_HUMAN_MODELS``, default ``models/human-models``) and the shared
faces (``FACECLOAK_SHARED``, default ``../shared``); skips without them unless ``CI=true``.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BINARY = os.environ.get("FACECLOAK_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "facecloak"
)
MODELS = os.environ.get("FACECLOAK_HUMAN_MODELS") or os.path.join(ROOT, "models", "human-models")
SHARED = os.environ.get("FACECLOAK_SHARED") or os.path.join(ROOT, "..", "shared")
PHOTOS = [
    ("face_recognition/obama.jpg", "barack_obama"),
    ("face_recognition/obama2.jpg", "barack_obama"),
    ("face_recognition/biden.jpg", "joe_biden"),
    ("face_recognition/biden_biden2.jpg", "joe_biden"),
    ("skimage/astronaut.png", "eileen_collins"),
]
# Ray's processes inherit this: no usage reporting, nothing outside the machine.
ENV = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")


def missing():
    for what, path in [("the facecloak binary", BINARY), ("the face models", MODELS),
                       ("the shared faces", os.path.join(SHARED, "faces"))]:
        if not os.path.exists(path):
            return f"{what} ({path}) are missing"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node(*args):
    """facecloak-ray-node (Ray's CLI, loopback kept), bounded in time."""
    return subprocess.run([sys.executable, "-m", "facecloak_ray.node", *args], env=ENV, timeout=120,
                          capture_output=True, text=True)


def load(path):
    with open(path) as f:
        return json.load(f)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class TwoNodeCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = missing()
        if reason:
            if os.environ.get("CI") == "true":
                raise RuntimeError(f"CI=true but {reason}")
            raise unittest.SkipTest(reason)
        cls.scratch = tempfile.mkdtemp(prefix="facecloak-ray-")
        os.symlink(os.path.join(os.path.abspath(SHARED), "faces"), os.path.join(cls.scratch, "faces"))
        cls.manifest = os.path.join(cls.scratch, "manifest.csv")
        with open(cls.manifest, "w") as f:
            f.write("file,identity\n" + "".join(f"faces/{p},{who}\n" for p, who in PHOTOS))
        port = free_port()
        cls.address = f"127.0.0.1:{port}"
        head = node("start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "1",
                    "--include-dashboard=false", "--disable-usage-stats", "--temp-dir",
                    os.path.join(cls.scratch, "ray"))
        if head.returncode != 0:
            raise RuntimeError(f"the head did not start: {head.stderr[-3000:]}")
        worker = node("start", "--address", cls.address, "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
                      "--disable-usage-stats")
        if worker.returncode != 0:
            node("stop", "--force")
            raise RuntimeError(f"the worker node did not start: {worker.stderr[-3000:]}")
        import ray

        from facecloak_ray.loopback import keep_loopback

        keep_loopback()
        ray.init(address=cls.address, _node_ip_address="127.0.0.1", logging_level="warning")
        deadline = time.time() + 60
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            if time.time() > deadline:
                raise RuntimeError(f"only {ray.nodes()} came up")
            time.sleep(0.5)

    @classmethod
    def tearDownClass(cls):
        import ray

        if ray.is_initialized():
            ray.shutdown()
        node("stop", "--force")
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def facecloak(self, *args):
        done = subprocess.run([BINARY, args[0], "--models", MODELS, *args[1:]], capture_output=True, text=True,
                              timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])

    def test_every_address_is_loopback(self):
        import ray

        self.assertEqual({n["NodeManagerAddress"] for n in ray.nodes()}, {"127.0.0.1"})

    def test_two_shards_on_two_nodes_merge_into_the_single_run(self):
        from facecloak_ray import run

        single, single_eval = os.path.join(self.scratch, "single"), os.path.join(self.scratch, "single-eval")
        self.facecloak("protect", "--steps", "2", "--manifest", self.manifest, "-o", single)
        self.facecloak("eval", "--pairs", os.path.join(single, "pairs.csv"), "--gallery", self.manifest,
                       "-o", single_eval)
        out = os.path.join(self.scratch, "cluster")
        result = run(self.manifest, out, shards=2, binary=BINARY, models=MODELS, protect_args=["--steps", "2"],
                     show_progress=False)
        self.assertEqual(len({r["node"] for r in result["shards"]}), 2, "one shard on each node")
        self.assertEqual(sorted(p for r in result["shards"] for p in r["done"]),
                         sorted(f"faces/{p}" for p, _ in PHOTOS))
        for name in ["results.json", "results.csv", "scores.json", "report.html"]:
            self.assertEqual(read(os.path.join(result["merged"], name)), read(os.path.join(single_eval, name)),
                             f"{name}: the merged report is not the single run's")
        for p, _ in PHOTOS:
            self.assertEqual(read(os.path.join(out, "faces", p)), read(os.path.join(single, "faces", p)), p)

    def test_a_killed_shard_is_retried_and_resumed_without_repeating_a_photo(self):
        from facecloak_ray import run

        out = os.path.join(self.scratch, "killed")
        killed = []

        def kill_once_a_photo_is_done():
            deadline = time.time() + 300
            while time.time() < deadline and not killed:
                for name in os.listdir(out) if os.path.isdir(out) else []:
                    if name.startswith("protect-log.") and load(os.path.join(out, name))["done"]:
                        found = subprocess.run(["pgrep", "-f", f"protect .*--manifest {self.manifest}.* -o {out}"],
                                               capture_output=True, text=True).stdout.split()
                        # The Ray worker process that runs the task: facecloak's parent.
                        workers = {open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
                                   for pid in found if os.path.exists(f"/proc/{pid}/stat")}
                        for pid in workers:
                            subprocess.run(["kill", "-9", pid])
                        killed.extend(workers)
                        if workers:
                            deadline_gone = time.time() + 10
                            while any(os.path.exists(f"/proc/{p}") for p in found) and time.time() < deadline_gone:
                                time.sleep(0.05)
                            self.orphans = [p for p in found if os.path.exists(f"/proc/{p}")]
                        break
                time.sleep(0.05)

        watcher = threading.Thread(target=kill_once_a_photo_is_done)
        watcher.start()
        result = run(self.manifest, out, shards=2, binary=BINARY, models=MODELS, protect_args=["--steps", "6"],
                     show_progress=False)
        watcher.join()
        self.assertTrue(killed, "nothing was killed")
        self.assertEqual(getattr(self, "orphans", []), [], "facecloak outlived the Ray worker that ran it")
        done = [p for r in result["shards"] for p in r["done"]]
        skipped = [p for r in result["shards"] for p in r["skipped"]]
        self.assertTrue(skipped, "the retried shard skipped what it had finished before it was killed")
        self.assertFalse(set(done) & set(skipped), "nothing protected twice")
        self.assertEqual(sorted(done + skipped), sorted(f"faces/{p}" for p, _ in PHOTOS))
        for folder, _, files in os.walk(out):
            self.assertFalse([f for f in files if f.endswith(".partial")], f"a partial file in {folder}")
        summary = load(os.path.join(result["merged"], "results.json"))
        self.assertEqual(summary["photos"], len(PHOTOS))


if __name__ == "__main__":
    unittest.main()

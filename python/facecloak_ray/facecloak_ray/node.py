"""``facecloak-ray-node``: Ray's own ``ray`` command (``start``, ``stop``, ``status``) with
loopback addresses kept as given (see ``loopback``), for clusters on 127.0.0.1::

    facecloak-ray-node start --head --node-ip-address 127.0.0.1 --port 6390 \\
        --include-dashboard=false --disable-usage-stats
    facecloak-ray-node start --address 127.0.0.1:6390 --node-ip-address 127.0.0.1
"""

import sys

from .loopback import keep_loopback


def main():
    keep_loopback()
    from ray.scripts.scripts import main as ray_main

    return ray_main()


if __name__ == "__main__":
    sys.exit(main())

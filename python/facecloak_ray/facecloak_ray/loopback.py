"""Keeping a Ray cluster on the loopback interface.

Ray rewrites ``127.0.0.1`` and ``localhost`` (in ``--node-ip-address``, ``--address`` and
``ray.init(address=...)``) into the machine's outward-facing address, found by routing towards
8.8.8.8 (``ray._private.services.resolve_ip_for_localhost``, Ray 2.40). On a machine that may
talk to 127.0.0.0/8 alone, or for a cluster that must not listen on the network, that breaks the
cluster: the head announces an address its own nodes may not reach. ``keep_loopback()`` makes
the rewrite keep loopback addresses as they are; every other address is untouched.
"""

import ipaddress


def is_loopback(address):
    """Whether ``host[:port]`` names a loopback host."""
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def keep_loopback():
    """Patches Ray (this process) so that loopback addresses stay loopback."""
    import ray._private.services as services

    original = getattr(services, "_facecloak_original_resolve", services.resolve_ip_for_localhost)
    services._facecloak_original_resolve = original

    def resolve(address):
        return address if is_loopback(address) else original(address)

    services.resolve_ip_for_localhost = resolve

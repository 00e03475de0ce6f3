"""Run the emulator: `python -m armemulator [--port N] [--state FILE] [--seed demo] [--ready-file F]`."""

import argparse
import json
import os
import signal
import sys
import tempfile

from armemulator.arm.store import DEFAULT_SUBSCRIPTION, Store
from armemulator.certs import make_certificates
from armemulator.seed import seed_demo
from armemulator.server import EmulatorServer


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m armemulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--certs", help="folder for the throwaway CA and server certificate (default: a temp folder)")
    parser.add_argument("--state", help="JSON file that keeps the clusters across restarts (default: memory only)")
    parser.add_argument(
        "--operation-seconds", type=float, default=0.0, help="how long each long-running operation takes"
    )
    parser.add_argument("--seed", choices=("none", "demo"), default="none", help="clusters to start with")
    parser.add_argument("--subscriptions", type=int, default=1, help="how many subscriptions the identity sees")
    parser.add_argument("--ready-file", help="write {url, port, ca, pid} here as JSON once serving")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    certs = make_certificates(args.certs or tempfile.mkdtemp(prefix="armemulator-certs-"))
    fresh_state = not (args.state and os.path.exists(args.state))
    store = Store(operation_seconds=args.operation_seconds, state_file=args.state)
    for number in range(2, args.subscriptions + 1):
        store.add_subscription(f"00000000-0000-0000-0000-{number:012d}", f"Sandbox subscription {number}")
    if args.seed == "demo" and fresh_state:
        seed_demo(store, DEFAULT_SUBSCRIPTION)
    server = EmulatorServer(("127.0.0.1", args.port), store, certs, verbose=args.verbose)
    info = {
        "url": server.base_url,
        "port": server.server_address[1],
        "ca": certs["ca"],
        "pid": os.getpid(),
        "subscription": DEFAULT_SUBSCRIPTION,
    }
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(info, f)
        os.replace(tmp, args.ready_file)
    print(f"armemulator serving {server.base_url} (CA: {certs['ca']})", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

"""Run a simulator in its own process until stdin closes or SIGTERM.

    python -m greenpark.collect.sim modbus --units 4 --values 100 [--type uint32] [--rate 0.05] [--port 0]
    python -m greenpark.collect.sim dlt645 --meters 8 [--rate 0.05] [--port 0]

Modbus: unit ids 1..N, each with M energy values from register 0 (``--type``, big-endian), value i of
unit u starting at ``1000 * u + i`` and advancing by ``--rate`` per second. DL/T 645: meters with
addresses 000000000001..N (forward and reverse active energy). Prints ``listening HOST PORT``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from greenpark.collect.modbus import REGISTER_COUNTS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m greenpark.collect.sim")
    sub = ap.add_subparsers(dest="kind", required=True)
    mb = sub.add_parser("modbus")
    mb.add_argument("--units", type=int, default=1)
    mb.add_argument("--values", type=int, default=10)
    mb.add_argument("--type", default="uint32", choices=sorted(REGISTER_COUNTS))
    mb.add_argument("--rate", type=float, default=0.05)
    mb.add_argument("--port", type=int, default=0)
    dl = sub.add_parser("dlt645")
    dl.add_argument("--meters", type=int, default=1)
    dl.add_argument("--rate", type=float, default=0.05)
    dl.add_argument("--port", type=int, default=0)
    a = ap.parse_args(argv)
    if a.kind == "modbus":
        from greenpark.collect.sim.modbus import ModbusMeterSim, SimRegister

        n = REGISTER_COUNTS[a.type]
        sim = ModbusMeterSim({u: [SimRegister(n * i, a.type, start=1000 * u + i, rate=a.rate) for i in range(a.values)]
                              for u in range(1, a.units + 1)}, port=a.port)
    else:
        from greenpark.collect.sim.dlt645 import Dlt645LineSim, SimMeter

        sim = Dlt645LineSim([SimMeter(f"{k:012d}", {"forward_active_total": (1000.0 * k, a.rate),
                                                   "reverse_active_total": (10.0 * k, a.rate / 10)})
                             for k in range(1, a.meters + 1)], port=a.port)
    host, port, stop = sim.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print(f"listening {host} {port}", flush=True)
    done.wait()
    stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

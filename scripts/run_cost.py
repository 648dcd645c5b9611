"""Print what a finished study run directory cost and found, for a config's header.

    python scripts/run_cost.py runs/sslmem-dejavu

Reads ``meta.json`` (start, finish, timed sections, environment) and ``summary.json``
(headlines) only: the numbers in a config header come from here, never typed by hand.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    run_dir = parser.parse_args().run_dir
    meta = json.loads((run_dir / "meta.json").read_text())
    if "finished" not in meta:
        raise SystemExit(f"{run_dir} has not finished (no 'finished' in meta.json)")
    seconds = (datetime.fromisoformat(meta["finished"])
               - datetime.fromisoformat(meta["started"])).total_seconds()  # fmt: skip
    environment = meta.get("environment") or {}
    git = environment.get("git") or {}
    print(f"wall time {int(seconds // 60)} min {int(seconds % 60):02d} s "
          f"({meta['started']} to {meta['finished']})")  # fmt: skip
    print(f"commit {git.get('commit', '?')[:7]}{' (dirty)' if git.get('dirty') else ''}, "
          f"{(environment.get('cpu') or {}).get('model', '?')}, "
          f"{environment.get('torch_threads', '?')} torch threads, device "
          f"{environment.get('device', '?')}")  # fmt: skip
    for key, value in meta.items():
        if isinstance(value, dict) and "seconds" in value:
            print(f"  {key}: {value['seconds']:.0f} s")
    runs = sorted(path.name for path in (run_dir / "runs").glob("*") if path.is_dir())
    print(f"{len(runs)} trainings under runs/")
    summary_path = run_dir / "summary.json"
    if summary_path.exists():
        for line in json.loads(summary_path.read_text()).get("headlines", []):
            print(f"- {line}")


if __name__ == "__main__":
    main()

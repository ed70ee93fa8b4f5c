#!/usr/bin/env python3
"""Times Python feedparser on the feed files the `parsing` bench generates (issue #6, target 2).

Usage: python3 benches/feedparser_bench.py DIR [MIN_SECONDS]

For every file in DIR (sorted), parses it repeatedly for at least MIN_SECONDS (default 1.0,
and at least twice) and prints one tab-separated line: file name, items feedparser found,
mean wall seconds per parse, mean CPU seconds per parse. The `parsing` bench runs this in the
same session and quotes the ratio.
"""

import os
import sys
import time

import feedparser


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory = sys.argv[1]
    min_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    print(f"# feedparser {feedparser.__version__}", flush=True)
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        runs = 0
        items = 0
        wall_start = time.perf_counter()
        cpu_start = time.process_time()
        while True:
            parsed = feedparser.parse(data)
            items = len(parsed.entries)
            runs += 1
            if runs >= 2 and time.perf_counter() - wall_start >= min_seconds:
                break
        wall = (time.perf_counter() - wall_start) / runs
        cpu = (time.process_time() - cpu_start) / runs
        print(f"{name}\t{items}\t{wall:.6f}\t{cpu:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line of the course: ``python -m course_utils COMMAND``.

Commands
--------
fetch-data   download full MNIST into the cache (hash-checked; the only command that uses the network)
info         which data set the lessons will use, and where the cache is
"""

from __future__ import annotations

import argparse
import sys

from . import data


def fetch_data(args: argparse.Namespace) -> int:
    folder = data.fetch_mnist(args.data_dir, progressbar=not args.quiet)
    print(f"full MNIST is ready in {folder}")
    print(data.load_full(folder))
    return 0


def info(args: argparse.Namespace) -> int:
    folder = args.data_dir or data.data_dir()
    present = data.full_mnist_present(folder)
    print(f"cache folder: {folder} (set BATCH205_DATA to move it)")
    print(f"full MNIST cached: {'yes' if present else 'no (run: python -m course_utils fetch-data)'}")
    print(f"lessons will use: {data.load_mnist('auto', folder)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description="batch205 course tools")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-data", help="download full MNIST (about 11 MB) into the cache")
    fetch.add_argument(
        "--data-dir", help="folder to download into (default: $BATCH205_DATA or the user cache)"
    )
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(handler=fetch_data)
    show = commands.add_parser("info", help="which data the lessons will use")
    show.add_argument("--data-dir")
    show.set_defaults(handler=info)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (data.DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

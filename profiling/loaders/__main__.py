"""Load one dataset file and print its load report and corpus statistics.

    .venv/bin/python -m profiling.loaders amazon2023 All_Beauty.jsonl.gz --meta meta_All_Beauty.jsonl.gz
    .venv/bin/python -m profiling.loaders yelp review.json --skip --limit 100000
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from profiling.errors import ConvRecError
from profiling.loaders import (
    GenericConfig,
    LoadResult,
    load_amazon2018,
    load_amazon2023,
    load_generic,
    load_mobilerec,
    load_yelp,
)

_LOADERS = {"yelp": load_yelp, "amazon2018": load_amazon2018, "amazon2023": load_amazon2023,
            "mobilerec": load_mobilerec}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m profiling.loaders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=[*_LOADERS, "generic"],
                        help="which upstream format the file is in")
    parser.add_argument("reviews", help="the review file (plain or gzip, detected by content)")
    parser.add_argument("--meta", default=None,
                        help="the item metadata file (Yelp business, Amazon meta, MobileRec app_meta, or the "
                             "generic items file); default: none, items get bare records")
    parser.add_argument("--skip", action="store_true",
                        help="skip bad records and count them by kind "
                             "(default: stop at the first bad record)")
    parser.add_argument("--limit", type=int, default=None,
                        help="stop after this many reviews are kept (default: read the whole file)")
    parser.add_argument("--config", default=None,
                        help="generic only: a JSON file with the GenericConfig field mapping "
                             "(default: the GenericConfig defaults)")
    parser.add_argument("--no-progress", action="store_true",
                        help="hide the progress bar over bytes read (default: shown)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; 0 on success, 2 on bad input (printed as one line)."""
    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    on_error = "skip" if args.skip else "raise"
    try:
        if args.dataset == "generic":
            config = GenericConfig()
            if args.config is not None:
                with open(args.config, encoding="utf-8") as f:
                    config = GenericConfig.model_validate_json(f.read())
            result: LoadResult = load_generic(args.reviews, config, args.meta, on_error=on_error,
                                              progress=not args.no_progress, limit=args.limit)
        else:
            result = _LOADERS[args.dataset](args.reviews, args.meta, on_error=on_error,
                                            progress=not args.no_progress, limit=args.limit)
    except ConvRecError as e:
        console.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except (OSError, ValueError) as e:  # an unreadable --config, or a config that fails validation
        console.print(f"error: {e}".replace("\n", " "), markup=False, highlight=False, soft_wrap=True)
        return 2
    print(result.report.summary())
    print(result.corpus.stats().model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

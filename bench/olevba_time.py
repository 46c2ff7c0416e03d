"""Prints olevba's mean CPU seconds per file, in process, over the files named on the command line.

Used by `cargo bench -p fumidai-engine --bench scan` as the peer baseline measured in the same run.
Each file gets the full olevba analysis (VBA and XLM extraction, keyword scan), as `olevba -a` does.
"""
import sys
import time

from oletools.olevba import VBA_Parser  # noqa: E402  (fails clearly when oletools is missing)


def analyse(path):
    parser = VBA_Parser(path)
    try:
        if parser.detect_macros():  # VBA and XLM, as olevba's own process_file
            parser.analyze_macros()
    finally:
        parser.close()


def main(paths):
    for p in paths:  # warm imports and caches
        try:
            analyse(p)
        except Exception:
            pass
    rounds = 3
    start = time.process_time()
    for _ in range(rounds):
        for p in paths:
            try:
                analyse(p)
            except Exception:
                pass
    print((time.process_time() - start) / (rounds * len(paths)))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Load every TSV given (files, or directories searched recursively for *.tsv) the way a
user would, and check each against a plain reading of the file: the column names are
the first line's, the rows are the lines that are neither comments nor empty.

    usage: tsv_load.py [--require-pandas] PATH...

numpy: genfromtxt(f, names=True, delimiter='\\t', dtype=None, encoding='utf-8');
pandas (when installed, a test-only dependency): read_csv(f, sep='\\t', comment='#').
Exit 0 when every file loads, 1 when one does not, 77 (skip) without numpy.
Run by tests/tsv_load.sh and tests/repro_smoke.sh with /usr/bin/python3."""
import os
import sys
import warnings

try:
    import numpy as np
except ImportError:
    print("tsv_load: numpy is missing (apt-get install python3-numpy): skipped")
    sys.exit(77)
try:
    import pandas as pd
except ImportError:
    pd = None


def plain(path):
    """(names, rows) read by hand: the first line, and the lines after it that are
    neither '#' comments nor empty."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    names = lines[0].split("\t")
    rows = [l for l in lines[1:] if l and not l.startswith("#")]
    return names, rows


def check(path):
    """A list of problems with one file (empty when it loads everywhere)."""
    bad = []
    names, rows = plain(path)
    if names[0].startswith("#"):
        bad.append("the first line is a comment, not the column names")
    for i, r in enumerate(rows):
        if r.count("\t") != len(names) - 1:
            bad.append("row %d has %d fields, the header %d" % (i + 1, r.count("\t") + 1, len(names)))
            break
        if "#" in r or '"' in r:
            bad.append("row %d holds '#' or '\"': %r" % (i + 1, r[:80]))
            break
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an "empty input" warning is a failure too
        try:
            a = np.genfromtxt(path, names=True, delimiter="\t", dtype=None, encoding="utf-8")
            got = list(a.dtype.names or [])
            if got != names:
                bad.append("numpy names %s, the header %s" % (got[:6], names[:6]))
            if np.atleast_1d(a).shape[0] != len(rows):
                bad.append("numpy read %d rows, the file has %d" % (np.atleast_1d(a).shape[0], len(rows)))
        except Exception as e:  # noqa: BLE001 (any failure to load is the finding)
            bad.append("numpy: %s" % str(e).strip().split("\n")[0])
    if pd is not None:
        try:
            d = pd.read_csv(path, sep="\t", comment="#")
            if list(d.columns) != names:
                bad.append("pandas names %s, the header %s" % (list(d.columns)[:6], names[:6]))
            if len(d) != len(rows):
                bad.append("pandas read %d rows, the file has %d" % (len(d), len(rows)))
        except Exception as e:  # noqa: BLE001
            bad.append("pandas: %s" % str(e).strip().split("\n")[0])
    return bad


def main(argv):
    need_pandas = "--require-pandas" in argv
    paths = [a for a in argv if a != "--require-pandas"]
    if pd is None and need_pandas:
        print("tsv_load: pandas is missing (apt-get install python3-pandas): skipped")
        return 77
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith(".tsv")]
        else:
            files.append(p)
    if not files:
        print("tsv_load: no .tsv file under %s" % " ".join(paths))
        return 1
    nbad = 0
    for f in sorted(files):
        for problem in check(f):
            print("tsv_load: %s: %s" % (f, problem))
            nbad += 1
    loaders = "numpy %s%s" % (np.__version__, ", pandas %s" % pd.__version__ if pd is not None else " (pandas not installed)")
    print("tsv_load: %d files, %s: %s" % (len(files), loaders, "all load" if not nbad else "%d problems" % nbad))
    return 1 if nbad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

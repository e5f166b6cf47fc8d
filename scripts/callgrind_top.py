#!/usr/bin/env python3
"""Self instructions per function of a callgrind file, divided by N (scripts/callgrind-create). callgrind_annotate 3.19 shows little more than the thread entry points for these Rust binaries. Usage: callgrind_top.py FILE N [TOP]"""
import re, sys, collections
def parse(path):
    names = {}; selfc = collections.Counter(); incl = collections.Counter(); fn = None; after_calls = False; cfn = None
    total = 0
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("summary:"): total = int(line.split()[1])
        m = re.match(r"^(fn|cfn|cfi|cfl|fl|fi|fe|ob|cob)=(?:\((\d+)\))?\s*(.*)$", line)
        if m:
            kind, idx, name = m.groups()
            if kind in ("fn", "cfn"):
                if idx is not None:
                    if name: names[idx] = name
                    name = names.get(idx, idx)
                if kind == "fn": fn = name
                else: cfn = name
            continue
        if line.startswith("calls="):
            after_calls = True; continue
        if line and (line[0].isdigit() or line[0] in "+-*"):
            parts = line.split()
            if len(parts) >= 2:
                v = int(parts[1])
                if after_calls:
                    after_calls = False
                    if cfn != fn: incl[(fn, cfn)] += v
                else:
                    selfc[fn] += v
    return total, selfc, incl
if __name__ == "__main__":
    total, selfc, incl = parse(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    print(f"total {total:,}  per request {total/n:,.0f}")
    for name, v in selfc.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 50):
        print(f"{v/n:12,.0f} {100*v/total:5.1f}%  {name[:150]}")

#!/usr/bin/env python3
"""Print the import graph between lwc-host's top-level modules and any cycle.

Usage: scripts/layers.py [host/src]   (exit 1 when a cycle exists)

A module's edges are the `crate::<module>` paths used anywhere in its files
(`host/src/<m>.rs` or `host/src/<m>/**`). Submodules of one folder may refer
to each other; only cycles between top-level modules count. Test-only files
(`tests.rs`, `*_tests.rs`, `testing.rs`, `*_testing.rs`, anything under a
`tests/` folder) are left out: a test may build its subject with the layers
above it, as `run` does.
"""
import pathlib, re, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent / "host/src")
mods = {p.stem for p in root.glob("*.rs") if p.stem not in ("lib", "main")} | {p.name for p in root.iterdir() if p.is_dir()}
edges = {m: set() for m in mods}

def is_test_only(f):
    stem = f.stem
    return stem in ("tests", "testing") or stem.endswith(("_tests", "_testing")) or "tests" in f.relative_to(root).parts[:-1]

for m in mods:
    files = [root / f"{m}.rs"] if (root / f"{m}.rs").exists() else []
    files += list((root / m).rglob("*.rs")) if (root / m).is_dir() else []
    for f in files:
        if is_test_only(f):
            continue
        text = f.read_text()
        for used in re.findall(r"crate::([a-z_]+)", text):
            if used in mods and used != m:
                edges[m].add(used)
        # `use crate::{a, b::c}` lists
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            for used in re.findall(r"(?:^|,)\s*([a-z_]+)", group):
                if used in mods and used != m:
                    edges[m].add(used)

cycles, state, stack = [], {}, []
def visit(m):
    state[m] = "open"; stack.append(m)
    for n in sorted(edges[m]):
        if state.get(n) == "open":
            cycles.append(stack[stack.index(n):] + [n])
        elif n not in state:
            visit(n)
    stack.pop(); state[m] = "done"
for m in sorted(mods):
    if m not in state:
        visit(m)

for m in sorted(mods):
    print(f"{m:10} -> {', '.join(sorted(edges[m])) or '-'}")
if cycles:
    print(f"\n{len(cycles)} cycle(s):")
    for c in cycles:
        print("  " + " -> ".join(c))
    sys.exit(1)
print("\nno cycle")

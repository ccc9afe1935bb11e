#!/usr/bin/env python3
"""MSRV gate, with the one toolchain this CI machine has.

Only one Rust toolchain is installed and none can be downloaded, so we cannot
build with the declared `rust-version` itself. What this check proves instead:

1. Every crate compiled for this platform (normal, build and dev dependencies,
   exactly as `Cargo.lock` pins them, per `cargo tree`) declares a
   `rust-version` no newer than the workspace's. A dependency that needs a newer
   compiler is the usual way an MSRV silently breaks.
2. (In .ci/run) clippy's `incompatible_msrv` lint, denied, reads our
   `rust-version` and rejects any standard-library API stabilised after it.

What it does not prove: that no *language* feature newer than the MSRV is used
(the compiler, not clippy, gates syntax). Building with the MSRV toolchain
would; this machine has none.
"""
import json
import subprocess
import sys


def ver(s):
    return tuple(int(x) for x in s.split("."))[:3] + (0,) * (3 - len(s.split(".")))


meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"], text=True
    )
)
members = set(meta["workspace_members"])
declared = {p["rust_version"] for p in meta["packages"] if p["id"] in members}
declared.discard(None)
if len(declared) != 1:
    sys.exit(f"MSRV: workspace members declare {sorted(declared) or 'no'} rust-version; expected one")
msrv = declared.pop()

tree = subprocess.check_output(
    ["cargo", "tree", "--workspace", "--locked", "-e", "normal,build,dev",
     "--prefix", "none", "--format", "{p}"],
    text=True,
)
built = set()
for line in tree.splitlines():
    parts = line.split()
    if len(parts) >= 2:
        built.add((parts[0], parts[1].lstrip("v")))

too_new = []
for p in meta["packages"]:
    rv = p.get("rust_version")
    if (p["name"], p["version"]) in built and rv and ver(rv) > ver(msrv):
        too_new.append(f"{p['name']} {p['version']} needs Rust {rv}")
if too_new:
    sys.exit(
        f"MSRV: the workspace declares rust-version {msrv}, but:\n  "
        + "\n  ".join(sorted(too_new))
        + "\nRaise rust-version in Cargo.toml or pin older dependencies."
    )
print(f"MSRV: all {len(built)} crates built here declare rust-version <= {msrv}")

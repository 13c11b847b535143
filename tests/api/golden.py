#!/usr/bin/env python3
"""Golden API responses: normalise a JSON response (ids, times, the base URL,
request ids) so that it can be compared with a committed file.

    golden.py check|update GOLDEN_FILE BASE_URL < response.json

check exits 1 and prints a unified diff when the response differs from the
file; update rewrites the file. Object keys are sorted; list order is kept."""
import difflib
import json
import re
import sys

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
HEX56 = re.compile(r"\b[0-9a-f]{56}\b")  # Nova's hostId


def norm_str(s, base):
    s = s.replace(base, "<url>")
    s = UUID.sub("<uuid>", s)
    s = HEX56.sub("<hash>", s)
    s = HEX32.sub("<id>", s)
    return TIME.sub("<time>", s)


def norm(v, base):
    if isinstance(v, dict):
        return {norm_str(k, base): norm(x, base) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x, base) for x in v]
    if isinstance(v, str):
        return norm_str(v, base)
    return v


def main():
    mode, path, base = sys.argv[1], sys.argv[2], sys.argv[3]
    got = json.dumps(norm(json.load(sys.stdin), base), indent=2, sort_keys=True) + "\n"
    if mode == "update":
        with open(path, "w") as f:
            f.write(got)
        return 0
    try:
        with open(path) as f:
            want = f.read()
    except FileNotFoundError:
        print(f"{path}: no golden file (run with NUBE_GOLDEN_UPDATE=1 to write it)")
        return 1
    if got == want:
        return 0
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                               path, "response"))
    return 1


sys.exit(main())

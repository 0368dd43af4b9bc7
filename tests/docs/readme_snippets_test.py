#!/usr/bin/env python3
"""Every ```cpp block of README.md stands, line for line (indentation aside), in
examples/consumer/main.cc, which the install test compiles against the installed library
and runs: the README's code cannot drift from code that works. Usage: SOURCE_DIR."""
import re
import sys


def normalized(lines):
    return [line.strip() for line in lines]


def contains(haystack, needle):
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def main():
    root = sys.argv[1]
    readme = open(f"{root}/README.md", encoding="utf-8").read()
    example = normalized(open(f"{root}/examples/consumer/main.cc", encoding="utf-8").read().splitlines())
    blocks = re.findall(r"```cpp\n(.*?)```", readme, re.S)
    failed = [b for b in blocks if not contains(example, normalized(b.rstrip("\n").splitlines()))]
    for block in failed:
        print("README.md code block not found in examples/consumer/main.cc:\n" + block)
    if not blocks:
        print("README.md has no ```cpp block")
        failed = [""]
    print(f"{len(blocks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

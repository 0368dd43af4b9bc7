#!/usr/bin/env python3
"""The orthogonal initializer's object code has no fused multiply-add instruction
(src/init/orthogonal.h, "Determinism": its bits must not depend on the CPU, and an FMA rounds
once where a multiply and an add round twice). The sources are compiled with
-ffp-contract=off and the kernels use only multiply, add and subtract intrinsics; this checks
the result, the members orthogonal*.o of the static library, as objdump disassembles them.

usage: orthogonal_no_fma.py OBJDUMP LIBRARY   (exit 77, skipped, if LIBRARY is not an archive)"""
import re
import subprocess
import sys

# x86: vfmadd..., vfmsub..., vfnmadd..., vfnmsub..., vfmaddsub..., vfmsubadd... (FMA3, FMA4,
# AVX-512); aarch64: fmadd, fmsub, fnmadd, fnmsub (scalar), fmla, fmls (vector).
FMA = re.compile(r"^(v?fn?m(add|sub)|fml[as])")
# "orthogonal.cc.o:     file format elf64-x86-64" (GNU objdump on an archive) or
# "librnnkit.a(orthogonal.cc.o):	file format elf64-x86-64" (llvm-objdump)
MEMBER = re.compile(r"^(?:.*\()?([^()\s]+)\)?:\s+file format")
INSTRUCTION = re.compile(r"^\s*[0-9a-f]+:\s+(\S+)")


def main():
    objdump, library = sys.argv[1], sys.argv[2]
    if not library.endswith(".a"):
        print(f"{library} is not a static library: its members cannot be told apart; skipped")
        return 77
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", library], check=True, capture_output=True,
                          text=True).stdout
    member, checked, found = None, {}, []
    for line in text.splitlines():
        header = MEMBER.match(line)
        if header:
            member = header.group(1) if header.group(1).startswith("orthogonal") else None
            if member:
                checked[member] = 0
            continue
        if member is None:
            continue
        instruction = INSTRUCTION.match(line)
        if instruction:
            checked[member] += 1
            if FMA.match(instruction.group(1)):
                found.append(f"{member}: {line.strip()}")
    expected = {"orthogonal.cc.o", "orthogonal_blocked.cc.o", "orthogonal_kernels.cc.o"}
    if set(checked) != expected or min(checked.values()) == 0:
        print(f"expected the members {sorted(expected)} with code in {library}, found {checked}")
        return 1
    for line in found[:20]:
        print(line)
    if found:
        print(f"{len(found)} FMA instructions in the orthogonal initializer's code")
        return 1
    print(f"no FMA instruction in {sum(checked.values())} instructions of {', '.join(sorted(checked))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

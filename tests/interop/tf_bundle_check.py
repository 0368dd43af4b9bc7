#!/usr/bin/python3
"""Checks a TensorFlow V2 tensor bundle that rnnkit wrote (`rnnkit export --to tf -o PREFIX`)
with readers that are not rnnkit's:
  1. DUMP_TOOL, a small C++ program linked against Debian's libleveldb, reads PREFIX.index as
     LevelDB reads a table (footer, block CRCs, prefix-compressed entries) and prints one line
     per entry, in order: `<hex key> <hex value>` (an empty key is an empty field, so the
     header's line starts with the space); it exits non-zero if LevelDB rejects the table;
  2. every value is parsed by python3-protobuf (messages generated from
     tests/fixtures/tf_checkpoint.proto, TensorFlow's field numbers): the "" value as
     BundleHeaderProto (num_shards, version producer 1, little-endian), the others as
     BundleEntryProto; each must re-serialize to the same bytes (TensorFlow's writer, like
     protobuf's, writes fields in number order and leaves proto3 defaults out);
  3. each tensor is read from its data shard: masked CRC32C, dtype, shape, size, bounds, no
     overlaps; and compared bit for bit to the same-named tensor in EXPECTED.safetensors (F32 <->
     DT_FLOAT, F64 <-> DT_DOUBLE), with the same set of names;
  4. the same .index is read by tests/fixtures/tf_checkpoint_io.py's table reader, which must
     give the same entries, and its bundle reader must give the same values.

Usage: tf_bundle_check.py (DUMP_TOOL | --no-leveldb) PREFIX EXPECTED.safetensors
(--no-leveldb skips step 1 and runs the rest on tf_checkpoint_io's table reader alone.)
Prints a summary; exits 0 when everything holds, 1 otherwise.
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import tf_checkpoint_io as tfio  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402

pb = tfio.pb
SAFETENSORS_DTYPE = {np.dtype("float32"): pb.DT_FLOAT, np.dtype("float64"): pb.DT_DOUBLE}


def leveldb_entries(tool, index_path):
    """[(key, value)] as the LevelDB dump tool prints them; raises on failure or bad output."""
    run = subprocess.run([tool, index_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if run.returncode != 0:
        raise RuntimeError("LevelDB rejected %s (exit %d): %s" % (index_path, run.returncode,
                                                                   run.stderr.decode(errors="replace").strip()))
    entries = []
    for number, line in enumerate(run.stdout.decode("ascii").splitlines(), 1):
        key_hex, space, value_hex = line.partition(" ")
        if not space or " " in value_hex:
            raise RuntimeError("dump tool line %d is not '<hex key> <hex value>': %r" % (number, line))
        entries.append((bytes.fromhex(key_hex), bytes.fromhex(value_hex)))
    return entries


def check(prefix, expected_path, entries, failures):
    """Steps 2 and 3 on [(key, value)] of the .index table; appends failures; returns a summary."""
    expected, _ = read_safetensors(expected_path)

    def fail(what):
        failures.append(what)

    if not entries or entries[0][0] != b"":
        fail('the first entry is not the header (key "")')
        return "no header"
    header = pb.BundleHeaderProto.FromString(entries[0][1])
    if header.SerializeToString() != entries[0][1]:
        fail("the header does not re-serialize to the same bytes")
    if header.num_shards < 1:
        fail("num_shards %d" % header.num_shards)
        return "bad header"
    if header.version.producer != 1 or header.version.min_consumer > 1 or 1 in header.version.bad_consumers:
        fail("version %s" % str(header.version).replace("\n", " "))
    if header.endianness != pb.BundleHeaderProto.LITTLE:
        fail("endianness is not LITTLE")
    keys = [k for k, _ in entries]
    if keys != sorted(set(keys)):
        fail("keys are not strictly increasing")
    shards, used = {}, {}
    for shard in range(header.num_shards):
        path = tfio.data_file_name(prefix, shard, header.num_shards)
        if not os.path.exists(path):
            fail("missing data file " + path)
            return "missing data"
        with open(path, "rb") as f:
            shards[shard] = f.read()
        used[shard] = []
    names = set()
    for key, value in entries[1:]:
        name = key.decode("utf-8", "replace")
        names.add(name)
        entry = pb.BundleEntryProto.FromString(value)
        if entry.SerializeToString() != value:
            fail(name + ": the entry does not re-serialize to the same bytes")
        if entry.slices:
            fail(name + ": a partitioned entry")
            continue
        if not 0 <= entry.shard_id < header.num_shards:
            fail(name + ": shard_id %d" % entry.shard_id)
            continue
        data = shards[entry.shard_id]
        if entry.offset < 0 or entry.size < 0 or entry.offset + entry.size > len(data):
            fail(name + ": data outside its shard")
            continue
        raw = data[entry.offset : entry.offset + entry.size]
        used[entry.shard_id].append((entry.offset, entry.offset + entry.size, name))
        if tfio.unmask(entry.crc32c) != tfio.crc32c(raw):
            fail(name + ": CRC mismatch")
        want = expected.get(name)
        if want is None:
            fail(name + ": not in " + expected_path)
            continue
        if SAFETENSORS_DTYPE.get(want.dtype) != entry.dtype:
            fail(name + ": dtype %s, expected %s" % (pb.DataType.Name(entry.dtype), want.dtype))
        shape = tuple(d.size for d in entry.shape.dim)
        if entry.shape.unknown_rank or shape != want.shape:
            fail(name + ": shape %s, expected %s" % (shape, want.shape))
        if raw != np.asarray(want, order="C").astype(want.dtype.newbyteorder("<")).tobytes():
            fail(name + ": bytes differ from the expected tensor")
    for name in sorted(set(expected) - names):
        fail(name + ": in the expected file but not in the bundle")
    for shard, spans in used.items():
        spans.sort()
        for (_, end, a), (begin, _, b) in zip(spans, spans[1:]):
            if begin < end:
                fail("shard %d: %s and %s overlap" % (shard, a, b))
    return "%d shard(s), %d tensors" % (header.num_shards, len(entries) - 1)


def main():
    args = sys.argv[1:]
    if len(args) != 3:
        print(__doc__)
        return 2
    tool, prefix, expected = args
    failures = []
    try:
        ours = tfio.read_table_file(prefix + ".index")
        if tool == "--no-leveldb":
            entries, reader = ours.entries, "tf_checkpoint_io's table reader (LevelDB skipped)"
        else:
            entries, reader = leveldb_entries(tool, prefix + ".index"), "LevelDB"
            if entries != ours.entries:
                failures.append("LevelDB and tf_checkpoint_io read different entries")
    except (OSError, RuntimeError, tfio.CheckpointError, ValueError) as error:
        print("FAIL", error)
        print("%s: FAILED" % prefix)
        return 1
    summary = check(prefix, expected, entries, failures)
    try:
        values = tfio.read_bundle(prefix)
        want, _ = read_safetensors(expected)
        for name, array in want.items():
            got = values.get(name)
            if got is None or got.dtype != array.dtype or got.shape != array.shape or got.tobytes() != array.tobytes():
                failures.append(name + ": tf_checkpoint_io.read_bundle gives a different tensor")
    except tfio.CheckpointError as error:
        failures.append("tf_checkpoint_io.read_bundle: %s" % error)
    for failure in failures:
        print("FAIL", failure)
    print("%s: %s, %d table data block(s), read with %s and protobuf: %s" % (
        prefix, summary, len(ours.data_blocks), reader, "FAILED (%d)" % len(failures) if failures else "OK"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env node
// ONNX models rnnkit exports run in another runtime with the same numbers: for each cell and
// variant (peepholes P, clip, HardSigmoid gates with their alpha and beta, Relu cells, no B),
// `rnnkit init` a 2-layer bidirectional model, `rnnkit export --to onnx`, run it in ONNX
// Runtime (npm's onnxruntime-node) and compare output, h_n and c_n with `rnnkit forward`; then
// `rnnkit import --from onnx` the export and check that it computes the same again.
// Usage: onnxruntime_test.js RNNKIT_BINARY WORK_DIR NODE_MODULES_DIR. Exits 77 (skipped)
// when onnxruntime-node is not installed there (scripts/test.sh installs it).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const [rnnkit, work, modules] = process.argv.slice(2);
let ort;
try {
  ort = require(path.join(modules, 'onnxruntime-node'));
} catch (e) {
  console.log('onnxruntime-node is not installed: skipped');
  process.exit(77);
}

// safetensors by hand: 8-byte header length, JSON header, little-endian data.
function writeSafetensors(file, name, shape, data) {
  const header = Buffer.from(JSON.stringify({ [name]: { dtype: 'F32', shape, data_offsets: [0, data.length * 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(file, Buffer.concat([len, header, Buffer.from(data.buffer)]));
}
function readSafetensors(file) {
  const raw = fs.readFileSync(file);
  const n = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + n).toString());
  const out = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = info.data_offsets;
    const bytes = raw.subarray(8 + n + b, 8 + n + e);
    out[name] = { shape: info.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
  }
  return out;
}

(async () => {
  fs.mkdirSync(work, { recursive: true });
  const T = 7, B = 3, I = 4, H = 6;
  const x = new Float32Array(T * B * I).map((_, i) => Math.sin(0.37 * i + 0.1));
  const input = path.join(work, 'input.safetensors');
  writeSafetensors(input, 'input', [T, B, I], x);
  let failures = 0;
  const variants = [
    ['lstm', []], ['gru', []], ['gru', ['--gru-reset', 'before']], ['rnn_tanh', []], ['rnn_relu', []],
    ['lstm', ['--peepholes', '--gate-clip', '0.5', '--recurrent-activation', 'hard_sigmoid(alpha=0.25, beta=0.45)']],
    ['lstm', ['--no-bias', '--activation', 'relu', '--peepholes']],
    ['gru', ['--recurrent-activation', 'hard_sigmoid(alpha=0.16666666666666666, beta=0.5)', '--gate-clip', '0.5', '--no-bias']],
    ['gru', ['--gru-reset', 'before', '--activation', 'relu', '--gate-clip', '0.5']],
    ['rnn_tanh', ['--gate-clip', '0.3', '--no-bias']],
  ];
  for (const [index, [cell, extra]] of variants.entries()) {
    const label = [cell, ...extra].join(' ');
    const base = path.join(work, `${index}_${cell}`);
    execFileSync(rnnkit, ['init', '--cell', cell, '--input-size', `${I}`, '--hidden-size', `${H}`, '--layers', '2',
                          '--bidirectional', '--preset', 'pytorch', '--seed', '5', '-o', base + '.safetensors', ...extra]);
    execFileSync(rnnkit, ['export', '--to', 'onnx', base + '.safetensors', '-o', base + '.onnx']);
    execFileSync(rnnkit, ['forward', base + '.safetensors', input, '-o', base + '.out.safetensors']);
    execFileSync(rnnkit, ['import', '--from', 'onnx', base + '.onnx', '-o', base + '.back.safetensors']);
    execFileSync(rnnkit, ['forward', base + '.back.safetensors', input, '-o', base + '.back.out.safetensors']);
    const expected = readSafetensors(base + '.out.safetensors');
    const reimported = readSafetensors(base + '.back.out.safetensors');
    const session = await ort.InferenceSession.create(base + '.onnx');
    const got = await session.run({ input: new ort.Tensor('float32', x, [T, B, I]) });
    let worst = 0, back = 0;
    for (const name of Object.keys(expected)) {
      const a = got[name].data, b = expected[name].data, c = reimported[name].data;
      if (a.length !== b.length) throw new Error(`${label}: ${name} has ${a.length} values in ONNX Runtime, ${b.length} in rnnkit`);
      for (let i = 0; i < a.length; ++i) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));  // Math.max keeps a NaN
        back = Math.max(back, Math.abs(c[i] - b[i]));
      }
    }
    console.log(`${label}: outputs ${Object.keys(expected).join(', ')}; max |onnxruntime - rnnkit| = ` +
                `${worst.toExponential(2)}, re-imported: ${back.toExponential(2)}`);
    if (!(worst <= 1e-5) || !(back === 0)) failures += 1;
  }
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});

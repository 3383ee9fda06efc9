// tsx src/doctor.ts — what WebGPU adapter this machine has, and what matters about it.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { requestAdapter, summarize, NoAdapterError } from './gpu/device.ts';

const argv = yargs(hideBin(process.argv))
  .scriptName('doctor')
  .usage('$0 [--json]\n\nReport the WebGPU adapter, its features and limits that this engine uses.')
  .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
  .strict().help().parseSync();

try {
  const adapter = await requestAdapter();
  const info = summarize(adapter);
  const features = ['shader-f16', 'subgroups', 'timestamp-query'].map((f) => [f, adapter.features.has(f as GPUFeatureName)] as const);
  const L = adapter.limits;
  const limits = {
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxBufferSize: L.maxBufferSize,
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    maxTextureDimension2D: L.maxTextureDimension2D,
  };
  if (argv.json) {
    console.log(JSON.stringify({ adapter: info, features: Object.fromEntries(features), limits }, null, 2));
  } else {
    console.log(`adapter      ${info.vendor} / ${info.architecture} / ${info.device}`);
    console.log(`description  ${info.description}`);
    console.log(`kind         ${info.isSoftware ? 'software (CPU) — texture-operand matmul variants are preferred' : 'hardware GPU'}`);
    for (const [f, ok] of features) console.log(`feature      ${f.padEnd(16)} ${ok ? 'yes' : 'no'}`);
    for (const [k, v] of Object.entries(limits)) console.log(`limit        ${k.padEnd(36)} ${v.toLocaleString('en-US')}`);
  }
  process.exit(0);
} catch (e) {
  if (e instanceof NoAdapterError) { console.error(e.message); process.exit(2); }
  throw e;
}

// tsx src/doctor.ts — what WebGPU adapter this machine has, and what matters about it:
// the driver (Mesa/LLVM version for lavapipe) and whether apt offers a newer lavapipe.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { requestAdapter, summarize, NoAdapterError } from './gpu/device.ts';
import { EXIT_FAILED, EXIT_USAGE } from './exit.ts';
import { parseDriver, describeDriver, parseAptPolicy, lavapipeAdvice, vulkanIcds } from './gpu/driver.ts';

/** lavapipe package advice from `apt-cache policy`, or [] where there is no apt or no Mesa driver. */
function aptAdvice(isMesa: boolean): string[] {
  if (!isMesa) return [];
  const r = spawnSync('apt-cache', ['policy', 'mesa-vulkan-drivers'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.trim()) return [];
  let codename: string | undefined;
  try {
    codename = /^VERSION_CODENAME="?([^"\n]*)/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    /* none */
  }
  return lavapipeAdvice(parseAptPolicy(r.stdout), codename);
}

const argv = yargs(hideBin(process.argv))
  .scriptName('doctor')
  .usage('$0 [--json]\n\nReport the WebGPU adapter, its features and limits that this engine uses.')
  .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
  .strict()
  .help()
  .fail((msg, err) => {
    console.error(`doctor: ${err?.message ?? msg}`);
    process.exit(EXIT_USAGE);
  })
  .parseSync();

try {
  const adapter = await requestAdapter();
  const info = summarize(adapter);
  const features = ['shader-f16', 'subgroups', 'timestamp-query'].map(
    (f) => [f, adapter.features.has(f as GPUFeatureName)] as const,
  );
  const driver = parseDriver(info);
  const lavapipe = aptAdvice(!!driver.mesa);
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
    console.log(
      JSON.stringify({ adapter: info, driver, lavapipe, features: Object.fromEntries(features), limits }, null, 2),
    );
  } else {
    console.log(`adapter      ${info.vendor} / ${info.architecture} / ${info.device}`);
    console.log(`description  ${info.description}`);
    if (describeDriver(driver)) console.log(`driver       ${describeDriver(driver)}`);
    for (const line of lavapipe) console.log(`lavapipe     ${line}`);
    console.log(
      `kind         ${info.isSoftware ? 'software (CPU) — texture-operand matmul variants are preferred' : 'hardware GPU'}`,
    );
    for (const [f, ok] of features) console.log(`feature      ${f.padEnd(16)} ${ok ? 'yes' : 'no'}`);
    for (const [k, v] of Object.entries(limits))
      console.log(`limit        ${k.padEnd(36)} ${v.toLocaleString('en-US')}`);
  }
  process.exit(0);
} catch (e) {
  if (e instanceof NoAdapterError) {
    console.error(e.message);
    // what the Vulkan loader tried: a stale manifest (its library gone) is a common cause
    const icds = vulkanIcds();
    if (!icds.length) console.error('Vulkan ICD manifests: none found (no Vulkan driver installed)');
    for (const i of icds)
      console.error(`Vulkan ICD ${i.file}: ${i.found ? `library ${i.library} present` : i.problem}`);
    process.exit(EXIT_FAILED);
  }
  throw e;
}

// Exit 0 and print the adapter's description when Dawn finds a WebGPU adapter; else exit 1.
import { create } from 'webgpu';
const gpu = create([]);
const adapter = await gpu.requestAdapter().catch(() => null);
if (!adapter) process.exit(1);
const i = adapter.info;
console.log([i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / '));
process.exit(0);

/** `fedman doctor`: the ONNX Runtime backends, GPU drivers and WebGPU adapter this machine offers fedman. */
import type { Command } from 'commander';
import { diagnoseDevices } from '../../runtime/doctor.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .alias('devices')
    .description('list the ONNX Runtime backends and GPU adapters found (what --device webgpu needs)')
    .option('--json', 'print the report as JSON')
    .action(async (o) => {
      const r = await diagnoseDevices();
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      console.log(`node ${r.node} on ${r.platform}; onnxruntime-node ${r.onnxruntime.version}`);
      console.log(`backends: ${r.onnxruntime.backends.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', ') || 'none listed'}`);
      if (r.vulkan) {
        console.log(`Vulkan drivers: ${r.vulkan.icdFilenames ? `VK_ICD_FILENAMES=${r.vulkan.icdFilenames}` : r.vulkan.drivers.join(', ') || 'none found'}`);
      }
      console.log(`webgpu: ${r.webgpu.available ? 'yes' : 'no'}: ${r.webgpu.detail}${r.webgpu.milliseconds !== undefined ? ` (${r.webgpu.milliseconds.toFixed(0)} ms)` : ''}`);
      console.log(r.webgpu.available ? 'devices: cpu, webgpu' : 'devices: cpu');
    });
}

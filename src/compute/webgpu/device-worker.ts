/**
 * The webgpu backend's device thread: opens a Dawn adapter and device, compiles the kernels, and runs the main
 * thread's kernel requests (./protocol.ts), signalling each result through the shared status slot. Every failure,
 * including GPU validation errors, is reported to the main thread instead of being thrown here.
 *
 * The `webgpu` package is optional and untyped here on purpose (its types come with it): the few WebGPU objects
 * used are described by the small interfaces below.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CELL_BACKWARD_WGSL, CELL_FORWARD_WGSL, GEMM_WGSL, PARAM_WORDS } from './kernels.js';
import {
  type AdapterReport,
  CONTROL_SLOTS,
  DONE,
  FAILED,
  type InitData,
  type KernelName,
  type KernelRequest,
  STATUS,
  TEXT_BYTES,
  TEXT_LENGTH,
} from './protocol.js';

// WebGPU's numeric constants (GPUBufferUsage, GPUMapMode), fixed by the specification.
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const UNIFORM = 0x40;
const STORAGE = 0x80;
const MAP_MODE_READ = 0x1;

interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GpuPipeline {
  getBindGroupLayout(index: number): unknown;
}
interface GpuPass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
  end(): void;
}
interface GpuEncoder {
  beginComputePass(): GpuPass;
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  finish(): unknown;
}
interface GpuDevice {
  readonly queue: {
    writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView, dataOffset?: number, size?: number): void;
    submit(commands: unknown[]): void;
  };
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): GpuPipeline;
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: GpuBuffer } }[] }): unknown;
  createCommandEncoder(): GpuEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  readonly lost: Promise<{ message: string }>;
}
interface GpuAdapter {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean; type?: string };
  readonly limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  requestDevice(d: { requiredLimits: Record<string, number> }): Promise<GpuDevice | null>;
}
interface WebGpuModule {
  create(flags: string[]): { requestAdapter(o: { powerPreference: 'high-performance' }): Promise<GpuAdapter | null> };
  globals: Record<string, unknown>;
}

const init = workerData as InitData;
const control = new Int32Array(init.control, 0, CONTROL_SLOTS);
const text = new Uint8Array(init.text, 0, TEXT_BYTES);

/** Writes the message and the status, then wakes the main thread. */
function signal(status: number, message = ''): void {
  const bytes = new TextEncoder().encode(message).subarray(0, TEXT_BYTES);
  text.set(bytes);
  Atomics.store(control, TEXT_LENGTH, bytes.length);
  Atomics.store(control, STATUS, status);
  Atomics.notify(control, STATUS);
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Software adapters (Mesa's lavapipe/llvmpipe, SwiftShader, WARP) compute on the CPU. */
function isSoftware(info: GpuAdapter['info']): boolean {
  if (info.isFallbackAdapter || info.type === 'cpu' || info.architecture === 'software') return true;
  return /llvmpipe|lavapipe|swiftshader|microsoft basic render|warp/i.test(`${info.device} ${info.description}`);
}

class Device {
  private work: GpuBuffer | null = null;
  private readback: GpuBuffer | null = null;
  private readonly uniform: GpuBuffer;
  private readonly pipelines: Record<KernelName, GpuPipeline>;
  private data: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private lost: string | null = null;

  constructor(
    private readonly device: GpuDevice,
    private readonly maxBinding: number,
  ) {
    this.uniform = device.createBuffer({ size: PARAM_WORDS * 4, usage: UNIFORM | COPY_DST });
    const pipeline = (code: string) =>
      device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    this.pipelines = { gemm: pipeline(GEMM_WGSL), cellForward: pipeline(CELL_FORWARD_WGSL), cellBackward: pipeline(CELL_BACKWARD_WGSL) };
    void device.lost.then((info) => {
      this.lost = info.message || 'device lost';
    });
  }

  /** A buffer of at least `bytes` (grown by doubling), replacing `current` when too small. */
  private grow(current: GpuBuffer | null, bytes: number, usage: number): GpuBuffer {
    if (current && current.size >= bytes) return current;
    current?.destroy();
    let size = Math.max(current ? current.size * 2 : 1 << 16, bytes);
    size = Math.ceil(size / 16) * 16;
    return this.device.createBuffer({ size, usage });
  }

  async run(req: KernelRequest): Promise<void> {
    if (this.lost) throw new Error(`the GPU device was lost: ${this.lost}`);
    if (req.data) this.data = new Float32Array(req.data);
    const bytes = req.upload * 4;
    if (bytes > this.maxBinding) {
      throw new Error(`a kernel's operands take ${bytes} bytes, more than this adapter binds at once (${this.maxBinding})`);
    }
    const work = (this.work = this.grow(this.work, Math.max(bytes, 16), STORAGE | COPY_SRC | COPY_DST));
    const readback = (this.readback = this.grow(this.readback, Math.max(req.readLength * 4, 16), MAP_READ | COPY_DST));
    const device = this.device;
    device.pushErrorScope('validation');
    // Dawn copies from the view at once; a plain copy keeps SharedArrayBuffer views out of the bindings.
    device.queue.writeBuffer(work, 0, this.data.slice(0, req.upload));
    device.queue.writeBuffer(this.uniform, 0, req.params);
    const pipeline = this.pipelines[req.kernel];
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.uniform } },
        { binding: 1, resource: { buffer: work } },
      ],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(...req.grid);
    pass.end();
    if (req.readLength > 0) encoder.copyBufferToBuffer(work, req.readFrom * 4, readback, 0, req.readLength * 4);
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`GPU validation error in ${req.kernel}: ${error.message}`);
    if (req.readLength > 0) {
      await readback.mapAsync(MAP_MODE_READ, 0, req.readLength * 4);
      this.data.set(new Float32Array(readback.getMappedRange(0, req.readLength * 4)), req.readFrom);
      readback.unmap();
    }
  }
}

/**
 * Dawn's instance and adapter, held for the thread's life: Dawn keeps processing the device's events through its
 * instance, and collecting the instance while the device is in use crashes the process.
 */
const held: unknown[] = [];

async function open(): Promise<Device> {
  const { create, globals } = (await import(init.webgpuUrl)) as WebGpuModule;
  Object.assign(globalThis, globals);
  const gpu = create([]);
  held.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  held.push(adapter);
  if (!adapter) throw new Error('Dawn found no GPU adapter (no Vulkan, Metal or D3D12 device; on Linux a Vulkan driver is needed, e.g. Mesa lavapipe for a CPU-only test)');
  const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
  if (!device) throw new Error('the GPU adapter gave no device');
  const info = adapter.info;
  const report: AdapterReport = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: isSoftware(info),
    maxStorageBufferBindingSize,
  };
  device.pushErrorScope('validation');
  const opened = new Device(device, Math.min(maxStorageBufferBindingSize, maxBufferSize));
  const error = await device.popErrorScope();
  if (error) throw new Error(`the kernels do not compile on this adapter: ${error.message}`);
  signal(DONE, JSON.stringify(report));
  return opened;
}

const ready = open();
ready.catch((e: unknown) => signal(FAILED, errorText(e)));

// Requests run one at a time: the main thread sleeps until each is signalled.
parentPort!.on('message', (req: KernelRequest) => {
  ready
    .then((device) => device.run(req))
    .then(
      () => signal(DONE),
      (e: unknown) => signal(FAILED, errorText(e)),
    );
});

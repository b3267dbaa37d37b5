/**
 * The webgpu backend's device thread: opens a Dawn adapter and device, compiles the kernels, and runs the main
 * thread's kernel requests (./protocol.ts), signalling each result through the shared status slot. Every failure,
 * including GPU validation errors, is reported to the main thread instead of being thrown here.
 *
 * The `webgpu` package is optional and untyped here on purpose (its types come with it): the few WebGPU objects
 * used are described by the small interfaces below.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  ADAM_WGSL,
  CELL_BACKWARD_WGSL,
  CELL_FORWARD_WGSL,
  GATHER_WGSL,
  GEMM_WGSL,
  LINEAR_BACKWARD_WGSL,
  LINEAR_FORWARD_WGSL,
  LOSS_WGSL,
  PARAM_WORDS,
  REDUCE_WGSL,
  STEP_BACKWARD_WGSL,
  STEP_FORWARD_WGSL,
  VECTOR_WGSL,
} from './kernels.js';
import {
  type AdapterReport,
  CONTROL_SLOTS,
  DONE,
  FAILED,
  type DeviceMessage,
  type InitData,
  type KernelName,
  STATUS,
  SUBMITS,
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
const SHADER_STAGE_COMPUTE = 0x4;

/** Dispatches recorded into one command buffer at most (each has a 256-byte parameter slot). */
const SLOTS = 4096;
/** Bytes between parameter slots (WebGPU's minUniformBufferOffsetAlignment default). */
const SLOT_BYTES = 256;
/** Bytes of uploads one command buffer can carry between its dispatches (larger ones end it: a batch's row numbers fit). */
const STAGING_BYTES = 4 << 20;

interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
type GpuPipeline = object;
interface GpuPass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(index: number, group: unknown, dynamicOffsets?: number[]): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
  end(): void;
}
interface GpuEncoder {
  beginComputePass(): GpuPass;
  clearBuffer(buffer: GpuBuffer, offset: number, size: number): void;
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
  createComputePipeline(d: { layout: unknown; compute: { module: unknown; entryPoint: string } }): GpuPipeline;
  createBindGroupLayout(d: {
    entries: { binding: number; visibility: number; buffer: { type: 'uniform' | 'storage'; hasDynamicOffset?: boolean } }[];
  }): unknown;
  createPipelineLayout(d: { bindGroupLayouts: unknown[] }): unknown;
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: GpuBuffer; size?: number } }[] }): unknown;
  createCommandEncoder(): GpuEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  readonly lost: Promise<{ message: string }>;
  onuncapturederror: ((event: { error: { message: string } }) => void) | null;
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
  /** Every buffer the backend allocated, at the offsets its main thread assigned, plus a scratch area above them. */
  private arena: GpuBuffer;
  private readback: GpuBuffer | null = null;
  /** The parameter slots of the dispatches being recorded, staged on the host and written once per submission. */
  private readonly uniform: GpuBuffer;
  private readonly staged = new Uint32Array((SLOTS * SLOT_BYTES) / 4);
  private readonly layout: unknown;
  private readonly pipelines: Record<KernelName, GpuPipeline>;
  private group: unknown = null;
  /** Uploads recorded into the command buffer being recorded (recordWrite), and the bytes of it they use. */
  private staging: GpuBuffer | null = null;
  private stagingUsed = 0;
  /** The command buffer being recorded: dispatches go into one compute pass until work that must follow it. */
  private recording: { encoder: GpuEncoder; pass: GpuPass; used: number } | null = null;
  private data: Float32Array<ArrayBufferLike> = new Float32Array(0);
  /** The first failure of asynchronous work, reported at the next read. */
  private failure: string | null = null;

  constructor(
    private readonly device: GpuDevice,
    private readonly maxBinding: number,
  ) {
    this.uniform = device.createBuffer({ size: SLOTS * SLOT_BYTES, usage: UNIFORM | COPY_DST });
    this.arena = device.createBuffer({ size: 1 << 16, usage: STORAGE | COPY_SRC | COPY_DST });
    this.layout = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
        { binding: 1, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'storage' } },
      ],
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
    const pipeline = (code: string) =>
      device.createComputePipeline({ layout: pipelineLayout, compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    this.pipelines = {
      gemm: pipeline(GEMM_WGSL),
      cellForward: pipeline(CELL_FORWARD_WGSL),
      cellBackward: pipeline(CELL_BACKWARD_WGSL),
      vector: pipeline(VECTOR_WGSL),
      stepForward: pipeline(STEP_FORWARD_WGSL),
      stepBackward: pipeline(STEP_BACKWARD_WGSL),
      loss: pipeline(LOSS_WGSL),
      reduce: pipeline(REDUCE_WGSL),
      adam: pipeline(ADAM_WGSL),
      linearForward: pipeline(LINEAR_FORWARD_WGSL),
      linearBackward: pipeline(LINEAR_BACKWARD_WGSL),
      gather: pipeline(GATHER_WGSL),
    };
    device.onuncapturederror = (event) => {
      this.failure ??= `GPU error: ${event.error.message}`;
    };
    void device.lost.then((info) => {
      this.failure ??= `the GPU device was lost: ${info.message || 'no reason given'}`;
    });
  }

  /** Runs one message; failures of the asynchronous ones are kept for the next read. */
  handle(message: DeviceMessage): void {
    if (message.type === 'read') {
      this.read(message).then(
        () => signal(DONE),
        (e: unknown) => signal(FAILED, this.failure ?? errorText(e)),
      );
      return;
    }
    if (this.failure) return;
    try {
      if (message.type === 'kernel') return this.dispatch(message.kernel, message.params, message.grid);
      if (message.type === 'write' && this.recordWrite(message.at, message.data)) return;
      // Queue writes and copies happen in queue order: the recorded dispatches must be submitted before them.
      this.submit();
      if (message.type === 'reserve') this.reserve(message.elements);
      else this.device.queue.writeBuffer(this.arena, message.at * 4, message.data);
    } catch (e) {
      this.failure = errorText(e);
    }
  }

  private reserve(elements: number): void {
    const bytes = Math.ceil((elements * 4) / 256) * 256;
    if (bytes <= this.arena.size) return;
    if (bytes > this.maxBinding) {
      throw new Error(`the model needs ${(bytes / 2 ** 20).toFixed(0)} MiB of GPU buffers, more than this adapter binds at once (${(this.maxBinding / 2 ** 20).toFixed(0)} MiB)`);
    }
    const size = Math.min(this.maxBinding, Math.max(bytes, this.arena.size * 2));
    const grown = this.device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.arena, 0, grown, 0, this.arena.size);
    this.device.queue.submit([encoder.finish()]);
    this.arena.destroy();
    this.arena = grown;
    this.group = null;
  }

  /** Records a dispatch (with its parameters in the next slot) into the command buffer being recorded. */
  private dispatch(kernel: KernelName, params: Uint32Array, grid: [number, number, number]): void {
    const device = this.device;
    this.group ??= device.createBindGroup({
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: this.uniform, size: PARAM_WORDS * 4 } },
        { binding: 1, resource: { buffer: this.arena } },
      ],
    });
    if (!this.recording) {
      const encoder = device.createCommandEncoder();
      this.recording = { encoder, pass: encoder.beginComputePass(), used: 0 };
    }
    const r = this.recording;
    this.staged.set(params, (r.used * SLOT_BYTES) / 4);
    r.pass.setPipeline(this.pipelines[kernel]);
    r.pass.setBindGroup(0, this.group, [r.used * SLOT_BYTES]);
    r.pass.dispatchWorkgroups(...grid);
    r.used++;
    if (r.used === SLOTS) this.submit();
  }

  /**
   * An upload between recorded dispatches, recorded in their command buffer instead of ending it: the data goes to
   * the staging buffer now (a queue write, so before the command buffer runs) and a copy from there into the arena
   * is recorded between two compute passes, so it lands after the dispatches before it and before those after it.
   * False when nothing is being recorded or the staging buffer is full (the caller then submits and writes).
   */
  private recordWrite(at: number, data: Float32Array): boolean {
    const r = this.recording;
    const bytes = data.byteLength;
    if (!r || bytes === 0 || this.stagingUsed + bytes > STAGING_BYTES) return false;
    this.staging ??= this.device.createBuffer({ size: STAGING_BYTES, usage: COPY_SRC | COPY_DST });
    this.device.queue.writeBuffer(this.staging, this.stagingUsed, data);
    r.pass.end();
    r.encoder.copyBufferToBuffer(this.staging, this.stagingUsed, this.arena, at * 4, bytes);
    r.pass = r.encoder.beginComputePass();
    this.stagingUsed += bytes;
    return true;
  }

  /** Submits the recorded dispatches, after writing their parameter slots (the queue orders the write first). */
  private submit(): void {
    const r = this.recording;
    if (!r) return;
    this.recording = null;
    this.stagingUsed = 0;
    r.pass.end();
    this.device.queue.writeBuffer(this.uniform, 0, this.staged.subarray(0, (r.used * SLOT_BYTES) / 4));
    this.device.queue.submit([r.encoder.finish()]);
    Atomics.add(control, SUBMITS, 1);
  }

  private async read(message: Extract<DeviceMessage, { type: 'read' }>): Promise<void> {
    if (message.data) this.data = new Float32Array(message.data);
    this.submit();
    if (this.failure) throw new Error(this.failure);
    const bytes = message.length * 4;
    if (bytes === 0) return;
    if (!this.readback || this.readback.size < bytes) {
      this.readback?.destroy();
      this.readback = this.device.createBuffer({ size: Math.ceil(Math.max(bytes, this.readback ? this.readback.size * 2 : 1 << 16) / 256) * 256, usage: MAP_READ | COPY_DST });
    }
    const readback = this.readback;
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.arena, message.from * 4, readback, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await readback.mapAsync(MAP_MODE_READ, 0, bytes);
    this.data.set(new Float32Array(readback.getMappedRange(0, bytes)));
    readback.unmap();
    if (this.failure) throw new Error(this.failure);
  }
}

/**
 * Dawn's instance and adapter, held for the thread's life: Dawn keeps processing the device's events through its
 * instance, and collecting the instance while the device is in use crashes the process.
 */
const held: unknown[] = [];

async function open(): Promise<void> {
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
    maxBindingBytes: Math.min(maxStorageBufferBindingSize, maxBufferSize),
  };
  device.pushErrorScope('validation');
  current = new Device(device, report.maxBindingBytes);
  const error = await device.popErrorScope();
  if (error) throw new Error(`the kernels do not compile on this adapter: ${error.message}`);
  signal(DONE, JSON.stringify(report));
}

/** The open device; the main thread posts work only after open() has signalled. */
let current: Device | null = null;
open().catch((e: unknown) => signal(FAILED, errorText(e)));

// Messages are handled in the order they were posted; only `read` waits for the GPU (the main thread waits for it).
parentPort!.on('message', (message: DeviceMessage) => current!.handle(message));

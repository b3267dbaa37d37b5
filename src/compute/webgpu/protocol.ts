/**
 * How the webgpu backend's main thread and its device thread (./device-worker.ts) talk. WebGPU only answers
 * asynchronously (mapAsync, requestAdapter), while ComputeBackend is synchronous. The main thread posts its work as
 * messages, in order, without waiting (the device thread encodes and submits each one as it arrives); it waits only
 * to read results back (`read`): it then sleeps in Atomics.wait on the status slot until the device thread, which
 * runs its own event loop, has copied them into the shared data buffer. A failure of earlier work is reported at
 * that point (the first one is kept).
 */

/** Slots of the shared Int32Array `control`. */
export const STATUS = 0;
/** Bytes of the UTF-8 message (adapter info as JSON after init, or an error) in the shared `text` buffer. */
export const TEXT_LENGTH = 1;
/** Command buffers of kernels the device thread has submitted so far (read it after a read: counted as it goes). */
export const SUBMITS = 2;
export const CONTROL_SLOTS = 3;
export const TEXT_BYTES = 8192;

/** Values of control[STATUS]. */
export const PENDING = 0;
export const DONE = 1;
export const FAILED = 2;

export type KernelName = 'gemm' | 'cellForward' | 'cellBackward' | 'vector' | 'stepForward' | 'stepBackward' | 'loss' | 'reduce' | 'adam' | 'linearForward' | 'linearBackward' | 'gather';

export interface InitData {
  control: SharedArrayBuffer;
  text: SharedArrayBuffer;
  /** file: URL of the `webgpu` package's entry module. */
  webgpuUrl: string;
}

/** Work for the device thread. Offsets and lengths count float32 elements of the device arena. */
export type DeviceMessage =
  /** Grow the arena to hold at least `elements` (keeping its contents). */
  | { type: 'reserve'; elements: number }
  /** Copy host data into the arena at `at`. */
  | { type: 'write'; at: number; data: Float32Array }
  /** Run a kernel over `grid` workgroups. */
  | { type: 'kernel'; kernel: KernelName; params: Uint32Array; grid: [number, number, number] }
  /** Copy arena[from, from + length) into the shared data buffer and signal (the one message waited for). */
  | { type: 'read'; from: number; length: number; data?: SharedArrayBuffer };

/** What the device thread reports after init (text buffer, JSON). */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software rasteriser/compute adapter (lavapipe/llvmpipe, SwiftShader, WARP): 'auto' never picks one. */
  software: boolean;
  /** The largest arena one binding can hold, in bytes. */
  maxBindingBytes: number;
}

import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './files.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export function writeSafetensors(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return decodeSafetensors(readFileSync(file), file);
}

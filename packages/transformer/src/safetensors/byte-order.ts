/** Host byte order. Safetensors data is little-endian; typed arrays use the host's order. */

/** True on little-endian hosts (every common CPU), where file bytes can be viewed as typed arrays directly. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of every `size`-byte item of `bytes` in place (little- to big-endian and back). */
export function swapByteOrder(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let item = 0; item + size <= bytes.length; item += size) {
    for (let i = 0, j = item + size - 1, k = item; i < size / 2; i++, j--, k++) {
      const t = bytes[k]!;
      bytes[k] = bytes[j]!;
      bytes[j] = t;
    }
  }
}

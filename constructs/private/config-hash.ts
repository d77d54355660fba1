/**
 * A short, stable digest of a text (two 32-bit FNV-1a hashes with different offsets, as 16 hex digits) for a pod
 * template annotation that changes whenever a mounted config does, so the Deployment rolls. Not cryptographic.
 */
export function configHash(text: string): string {
  const fnv = (offset: number) => {
    let hash = offset;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash.toString(16).padStart(8, '0');
  };
  return fnv(0x811c9dc5) + fnv(0x050c5d1f);
}

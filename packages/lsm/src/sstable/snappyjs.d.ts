/** The part of the `snappyjs` package (CommonJS, no bundled types) that the SSTable uses. */
declare module "snappyjs" {
  const snappy: {
    /** Snappy raw block format: varint uncompressed length, then elements. A new array. */
    compress(input: Uint8Array): Uint8Array;
    /** Throws when the declared length exceeds `maxLength` or the stream is malformed. */
    uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
  };
  export default snappy;
}

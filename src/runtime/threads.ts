/**
 * The thread count a caller asks for, checked once where it enters: an integer from 1 to the machine's cores.
 * NOTE: onnxruntime starts every thread it is given, and more threads than cores only wait on each other: 200 on
 * 2 cores took 8 s for one small image, 1,000 never finished, and a huge count allocated gigabytes.
 */
export function checkThreads(threads: unknown, cores: number, what = "threads"): number | undefined {
  if (threads === undefined) return undefined;
  if (typeof threads !== "number" || !Number.isInteger(threads) || threads < 1 || threads > cores) {
    const got =
      typeof threads === "number" || typeof threads === "string" ? JSON.stringify(threads) : typeof threads;
    throw new Error(`${what} must be an integer from 1 to ${cores} (this machine's cores), got ${got}`);
  }
  return threads;
}
